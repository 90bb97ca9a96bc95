"""Global numeric configuration: the float type and the fuzz factor."""

from __future__ import annotations

import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7
_VALID_FLOATX = ("float16", "float32", "float64")


def floatx() -> str:
    """Return the default float type as a string, `"float32"` unless changed.

    Example:
        >>> engine.backend.floatx()
        'float32'
    """
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default float type (`"float16"`, `"float32"` or `"float64"`).

    The gradient checks run in `"float64"`; everything else runs in `"float32"`.
    """
    global _FLOATX
    if value not in _VALID_FLOATX:
        raise ValueError(f"Unknown floatx {value!r}; use one of {', '.join(_VALID_FLOATX)}.")
    _FLOATX = value


def epsilon() -> float:
    """Return the fuzz factor used in numeric expressions (1e-7 as in Keras)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Set the fuzz factor used in numeric expressions."""
    global _EPSILON
    _EPSILON = float(value)


def standardize_dtype(dtype: object = None) -> np.dtype:
    """Return a NumPy dtype, `floatx()` when `dtype` is None."""
    if dtype is None:
        return np.dtype(_FLOATX)
    return np.dtype(dtype)
