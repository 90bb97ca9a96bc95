"""What a run executed on: Python, platform, NumPy and its BLAS, package versions."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

import numpy as np

# Packages whose versions change results or speed; absent ones are left out.
_PACKAGES = (
    "kerastui",
    "numpy",
    "sqlalchemy",
    "alembic",
    "pydantic",
    "threadpoolctl",
    "rich",
    "typer",
    "textual",
    "psycopg",
    "torch",
)


def capture_environment() -> dict[str, Any]:
    """A JSON-ready description of this process's environment.

    Keys: `python`, `implementation`, `platform`, `machine`, `cpu_count`,
    `numpy`, `blas` (the BLAS NumPy was built with, e.g. "scipy-openblas
    0.3.27"), `blas_build` (NumPy's build info for BLAS), `threadpools`
    (threadpoolctl's view of loaded BLAS/OpenMP pools, when installed),
    `engine` (engine.__version__) and `packages` (installed versions).

    Example:
        >>> sorted(capture_environment())[:3]
        ['blas', 'blas_build', 'cpu_count']
    """
    import engine

    blas_build = _blas_build_info()
    blas = None
    if blas_build:
        blas = " ".join(str(blas_build[k]) for k in ("name", "version") if blas_build.get(k))
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "blas": blas,
        "blas_build": blas_build,
        "threadpools": _threadpools(),
        "engine": engine.__version__,
        "packages": _package_versions(),
    }


def _blas_build_info() -> dict[str, Any]:
    try:
        config = np.show_config(mode="dicts")
    except TypeError:  # NumPy < 2 prints only and has no mode argument.
        return {}
    blas = (config or {}).get("Build Dependencies", {}).get("blas", {})
    return {str(k): str(v) for k, v in blas.items()}


def _threadpools() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {k: info.get(k) for k in ("user_api", "internal_api", "version", "num_threads")}
        for info in threadpool_info()
    ]


def _package_versions() -> dict[str, str]:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
