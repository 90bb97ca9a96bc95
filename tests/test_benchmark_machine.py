"""The benchmarks' header line: the machine facts that make two reports comparable."""

from __future__ import annotations

import importlib.util
import os
import types
from pathlib import Path

import numpy as np
import pytest

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


def test_cpu_name_reads_cpuinfo_and_falls_back_to_platform(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Example CPU @ 3.00GHz\nflags\t: fpu\n")
    assert machine.cpu_name(str(cpuinfo)) == "Example CPU @ 3.00GHz"
    monkeypatch.setattr(machine.platform, "processor", lambda: "")
    monkeypatch.setattr(machine.platform, "machine", lambda: "riscv64")
    assert machine.cpu_name(str(tmp_path / "missing")) == "riscv64"


def test_numpy_simd_is_the_highest_target_this_cpu_runs():
    fake = types.SimpleNamespace(
        __cpu_dispatch__=["X86_V3", "X86_V4", "AVX512_ICL"],
        __cpu_features__={"X86_V3": True, "X86_V4": True, "AVX512_ICL": False},
    )
    assert machine.numpy_simd(fake) == "X86_V4"
    fake.__cpu_features__ = {"X86_V3": False}
    assert machine.numpy_simd(fake) == "baseline"
    assert machine.numpy_simd(types.SimpleNamespace()) == "unknown"
    umath = pytest.importorskip("numpy._core._multiarray_umath")
    real = machine.numpy_simd()
    assert real == machine.numpy_simd(umath)
    if any(umath.__cpu_features__.get(t) for t in umath.__cpu_dispatch__):
        assert umath.__cpu_features__[real]


def test_blas_prefers_numpys_own_library_and_names_its_kernels():
    numpy_lib = os.path.join(os.path.dirname(np.__file__) + ".libs", "libscipy_openblas.so")
    other = {
        "user_api": "blas",
        "internal_api": "mkl",
        "version": "2024.1",
        "filepath": "/x/mkl.so",
    }
    ours = {
        "user_api": "blas",
        "internal_api": "openblas",
        "version": "0.3.31",
        "architecture": "Haswell",
        "filepath": numpy_lib,
    }
    openmp = {
        "user_api": "openmp",
        "internal_api": "openmp",
        "version": None,
        "filepath": "/x/gomp",
    }
    assert machine.blas([openmp, other, ours]) == "OpenBLAS 0.3.31 (Haswell)"
    assert machine.blas([openmp, other]) == "MKL 2024.1"
    assert machine.blas([openmp]) == "unknown BLAS"


def test_describe_reports_the_engines_allocator_setting_by_default():
    from engine._allocator import tune_allocator

    setting = "fixed by the engine" if tune_allocator() else "glibc defaults"
    assert machine.describe().endswith(f"malloc thresholds {setting}")
