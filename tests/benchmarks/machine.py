"""What a benchmark ran on: its header names it, so that ratios from two machines can be told apart.

The same code gives different engine/PyTorch ratios on different CPUs: NumPy's
element-wise kernels and OpenBLAS pick their code by instruction set, and some
(float32 `exp`, for one) are several times slower on one than on another,
where PyTorch brings its own. A report that names the CPU, NumPy's SIMD level,
the BLAS and the allocator can be compared with another one.

Example:
    >>> describe(tuned=True)  # doctest: +SKIP
    'AMD EPYC, 2 CPUs; NumPy 2.4.6 (SIMD X86_V3); OpenBLAS 0.3.31 (Haswell); malloc ...'
"""

from __future__ import annotations

import os
import platform

import numpy as np


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), or what `platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def numpy_simd() -> str:
    """The highest SIMD target NumPy dispatches to on this CPU, e.g. X86_V3 or AVX512_ICL."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # a NumPy that moved its private module
        return "unknown"
    features = getattr(umath, "__cpu_features__", {})
    found = [t for t in getattr(umath, "__cpu_dispatch__", []) if features.get(t)]
    return found[-1] if found else "baseline"


def blas() -> str:
    """The BLAS NumPy calls and the kernels it chose, e.g. OpenBLAS 0.3.31 (Haswell)."""
    from threadpoolctl import threadpool_info

    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            api = pool["internal_api"]
            name = {"openblas": "OpenBLAS", "mkl": "MKL"}.get(api, api)
            arch = pool.get("architecture")
            return f"{name} {pool.get('version')}" + (f" ({arch})" if arch else "")
    return "unknown BLAS"


def describe(tuned: bool) -> str:
    """One line: CPU, CPU count, NumPy and its SIMD level, BLAS, and the allocator setting.

    Args:
        tuned: whether the engine fixed glibc malloc's thresholds (`tune_allocator()`).
    """
    return (
        f"{cpu_name()}, {os.cpu_count()} CPUs; NumPy {np.__version__} (SIMD {numpy_simd()}); "
        f"{blas()}; malloc thresholds {'fixed by the engine' if tuned else 'glibc defaults'}"
    )
