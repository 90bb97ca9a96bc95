"""The benchmarks' header line: the machine facts that make two reports comparable."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

_PATH = Path(__file__).parent / "benchmarks" / "machine.py"
_spec = importlib.util.spec_from_file_location("bench_machine", _PATH)
machine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(machine)


def test_describe_names_cpu_numpy_simd_blas_and_allocator():
    line = machine.describe(tuned=True)
    assert line.startswith(f"{machine.cpu_name()}, {os.cpu_count()} CPUs; ")
    assert f"NumPy {np.__version__} (SIMD {machine.numpy_simd()})" in line
    assert machine.blas() in line
    assert line.endswith("malloc thresholds fixed by the engine")
    assert machine.describe(tuned=False).endswith("malloc thresholds glibc defaults")


def test_numpy_simd_is_a_target_this_cpu_runs():
    from numpy._core import _multiarray_umath as umath

    simd = machine.numpy_simd()
    assert simd == "baseline" or umath.__cpu_features__[simd]
    assert simd == "baseline" or simd in umath.__cpu_dispatch__


def test_blas_names_numpys_blas_library():
    from threadpoolctl import threadpool_info

    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    if blas:
        assert str(blas[0]["version"]) in machine.blas()
    else:
        assert machine.blas() == "unknown BLAS"
