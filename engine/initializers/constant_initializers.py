"""Deterministic initializers: zeros, ones, a constant, the identity matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.config import standardize_dtype
from engine.initializers.initializer import Initializer, standardize_shape


class Zeros(Initializer):
    """Fill with zeros.

    Example:
        >>> Zeros()((2,)).tolist()
        [0.0, 0.0]
    """

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        return np.zeros(standardize_shape(shape), dtype=standardize_dtype(dtype))


class Ones(Initializer):
    """Fill with ones.

    Example:
        >>> Ones()((2,)).tolist()
        [1.0, 1.0]
    """

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        return np.ones(standardize_shape(shape), dtype=standardize_dtype(dtype))


class Constant(Initializer):
    """Fill with `value` (a scalar, or an array broadcastable to the shape).

    Args:
        value: the fill value.

    Example:
        >>> Constant(3.0)((2,)).tolist()
        [3.0, 3.0]
    """

    def __init__(self, value: Any = 0.0) -> None:
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"Constant needs a numeric value, got {value!r}.")
        self.value = arr.item() if arr.ndim == 0 else arr.tolist()

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        dims = standardize_shape(shape)
        try:
            return np.full(dims, self.value, dtype=standardize_dtype(dtype))
        except ValueError as err:
            raise ValueError(
                f"Constant value of shape {np.shape(self.value)} cannot fill shape {dims}."
            ) from err

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value}


class Identity(Initializer):
    """`gain` times the identity matrix (2-D shapes only; rectangular is allowed).

    Args:
        gain: the factor on the diagonal.

    Example:
        >>> Identity(gain=2.0)((2, 2)).tolist()
        [[2.0, 0.0], [0.0, 2.0]]
    """

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        dims = standardize_shape(shape)
        if len(dims) != 2:
            raise ValueError(
                f"Identity initializer fills 2-D matrices only, got shape {dims}; "
                "use a (rows, cols) shape."
            )
        dt = standardize_dtype(dtype)
        return (self.gain * np.eye(*dims, dtype=dt)).astype(dt, copy=False)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


IdentityInitializer = Identity
