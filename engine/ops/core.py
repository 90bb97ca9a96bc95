"""Helpers shared by the op modules: unwrapping inputs and reducing broadcast gradients."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from engine.backend.config import floatx
from engine.backend.tensor import Tensor, record, unwrap

__all__ = ["as_array", "record", "relu_into", "unbroadcast", "unwrap"]


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


# The row length `relu_into` views flat arrays in: long enough that the rows'
# loop overhead vanishes, short enough that the zeros stay in cache (32 KB of
# float32, an L1 data cache's worth on the benchmark machine).
_ZERO_BLOCK = 8192


@functools.lru_cache(maxsize=8)
def _zero_block(dtype: str) -> np.ndarray:
    zeros = np.zeros(_ZERO_BLOCK, dtype)
    zeros.flags.writeable = False
    return zeros


def relu_into(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """`np.maximum(x, 0, out=out)`, about three times faster on float arrays.

    NumPy's `maximum` against a scalar runs a slow loop; against an array it
    takes its SIMD one (a (3200, 128) float32 block: 157 us against 53 us
    here). So C-contiguous float arrays are viewed as rows of a cached block
    of zeros' length and compared with it; other arrays go the plain way.
    NaN propagates as in `np.maximum`.

    Example:
        >>> relu_into(np.array([-1.0, 2.0]), np.empty(2))
        array([0., 2.])
    """
    if (
        x.dtype.kind != "f"
        or x.dtype != out.dtype
        or x.shape != out.shape
        or not (x.flags.c_contiguous and out.flags.c_contiguous)
    ):
        return np.maximum(x, 0, out=out)
    src, dst = x.reshape(-1), out.reshape(-1)
    zeros = _zero_block(x.dtype.str)
    body = src.size - src.size % _ZERO_BLOCK
    if body:
        shape = (-1, _ZERO_BLOCK)
        np.maximum(src[:body].reshape(shape), zeros, out=dst[:body].reshape(shape))
    if body < src.size:
        np.maximum(src[body:], zeros[: src.size - body], out=dst[body:])
    return out
