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

import importlib
import os
import platform
from typing import Any

import numpy as np


def cpu_name(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), or what `platform` knows."""
    try:
        with open(cpuinfo, encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _umath() -> Any:
    """NumPy's private ufunc module, where its CPU dispatch tables are, or None."""
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def numpy_simd(umath: Any = None) -> str:
    """The highest SIMD target NumPy dispatches to on this CPU, e.g. X86_V3 or AVX512_ICL.

    "baseline" when the CPU runs none of NumPy's optional targets; "unknown"
    when this NumPy does not say.
    """
    umath = _umath() if umath is None else umath
    features = getattr(umath, "__cpu_features__", None)
    targets = getattr(umath, "__cpu_dispatch__", None)
    if features is None or targets is None:
        return "unknown"
    found = [t for t in targets if features.get(t)]
    return found[-1] if found else "baseline"


def blas(pools: list[dict[str, Any]] | None = None) -> str:
    """The BLAS NumPy calls and the kernels it chose, e.g. OpenBLAS 0.3.31 (Haswell).

    Of the BLAS libraries loaded (PyTorch may bring its own), the one shipped
    with NumPy is named first; `pools` is `threadpoolctl.threadpool_info()`.
    """
    if pools is None:
        from threadpoolctl import threadpool_info

        pools = threadpool_info()
    found = [p for p in pools if p.get("user_api") == "blas"]
    if not found:
        return "unknown BLAS"
    numpy_prefix = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy")
    # The first of NumPy's own (numpy/ or numpy.libs/), else the first loaded.
    pool = min(found, key=lambda p: not str(p.get("filepath", "")).startswith(numpy_prefix))
    api = pool.get("internal_api", "BLAS")
    name = {"openblas": "OpenBLAS", "mkl": "MKL"}.get(api, api)
    arch = pool.get("architecture")
    return f"{name} {pool.get('version')}" + (f" ({arch})" if arch else "")


def describe(tuned: bool | None = None) -> str:
    """One line: CPU, CPU count, NumPy and its SIMD level, BLAS, and the allocator setting.

    Args:
        tuned: whether the engine fixed glibc malloc's thresholds; by default
            what `engine._allocator.tune_allocator()` says (the engine's backend
            has called it, and the PyTorch twin runs with its setting too).
    """
    if tuned is None:
        from engine._allocator import tune_allocator

        tuned = tune_allocator()
    return (
        f"{cpu_name()}, {os.cpu_count()} CPUs; NumPy {np.__version__} (SIMD {numpy_simd()}); "
        f"{blas()}; malloc thresholds {'fixed by the engine' if tuned else 'glibc defaults'}"
    )
