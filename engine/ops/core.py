"""Helpers shared by the op modules: unwrapping inputs and reducing broadcast gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.config import floatx
from engine.backend.tensor import Tensor, record, unwrap

__all__ = ["as_array", "record", "unbroadcast", "unwrap"]


def as_array(x: Any) -> Any:
    """Return `x` as an ndarray; Python scalars pass through unchanged.

    NumPy treats Python numbers as weak scalars (`float32_array * 2` stays
    float32), so keeping them as they are avoids silent float64 promotion.
    Float lists and float64 NumPy scalars become `floatx()`.
    """
    if isinstance(x, Tensor):
        return x.value
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        arr = arr.astype(floatx())
    return arr


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `g` down to `shape`, undoing NumPy broadcasting."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)
