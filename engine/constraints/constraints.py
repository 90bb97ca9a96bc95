"""Weight constraints: projections applied to a weight after each optimizer update.

A constraint maps the weight's array to its projected array in NumPy; it is
not part of the gradient tape. The formulas, including where the fuzz factor
`epsilon()` goes, are Keras 3's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.config import epsilon, floatx
from engine.backend.tensor import unwrap

Axis = int | Sequence[int]


def _weights(w: Any) -> np.ndarray:
    arr = np.asarray(unwrap(w))
    return arr if arr.dtype.kind == "f" else arr.astype(floatx())


def _axis(axis: Axis) -> int | tuple[int, ...]:
    return axis if isinstance(axis, int) else tuple(axis)


def _norms(w: np.ndarray, axis: Axis) -> np.ndarray:
    return np.sqrt(np.sum(np.square(w), axis=_axis(axis), keepdims=True))


class Constraint:
    """Base class of weight constraints: `constraint(w)` returns the projected array.

    The base class leaves weights unchanged. Subclasses override `__call__`.

    Example:
        >>> class Clip(Constraint):
        ...     def __call__(self, w):
        ...         return np.clip(w, -1.0, 1.0)
        >>> Clip()(np.array([-3.0, 0.5])).tolist()
        [-1.0, 0.5]
    """

    def __call__(self, w: Any) -> np.ndarray:
        """Return the projection of weight array `w` (unchanged for the base class)."""
        return _weights(w)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-able dict."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        """Rebuild a constraint from `get_config()` output."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Rescale each weight vector whose L2 norm exceeds `max_value` down to it.

    Computes `w * clip(norm, 0, max_value) / (epsilon + norm)`.

    Args:
        max_value: the largest norm allowed.
        axis: the axis (or axes) spanning each vector: 0 for a Dense kernel's
            incoming weights, `[0, 1, 2]` for a Conv2D filter.

    Example:
        >>> MaxNorm(1.0)(np.array([[3.0], [4.0]])).round(4).tolist()
        [[0.6], [0.8]]
    """

    def __init__(self, max_value: float = 2, axis: Axis = 0) -> None:
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w: Any) -> np.ndarray:
        w = _weights(w)
        norms = _norms(w, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return w * (desired / (epsilon() + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Replace negative weights with zero.

    Example:
        >>> NonNeg()(np.array([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    def __call__(self, w: Any) -> np.ndarray:
        return np.maximum(_weights(w), 0)


class UnitNorm(Constraint):
    """Scale each weight vector to unit L2 norm: `w / (epsilon + norm)`.

    Args:
        axis: the axis (or axes) spanning each vector.

    Example:
        >>> UnitNorm()(np.array([[3.0], [4.0]])).round(4).tolist()
        [[0.6], [0.8]]
    """

    def __init__(self, axis: Axis = 0) -> None:
        self.axis = axis

    def __call__(self, w: Any) -> np.ndarray:
        w = _weights(w)
        return w / (epsilon() + _norms(w, self.axis))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move each weight vector's L2 norm into `[min_value, max_value]`.

    The new norm is `rate * clip(norm, min_value, max_value) + (1 - rate) * norm`:
    `rate=1` enforces the bounds at once, smaller rates move toward them.

    Args:
        min_value: the smallest norm.
        max_value: the largest norm.
        rate: how far to move toward the bounds on each application.
        axis: the axis (or axes) spanning each vector.

    Example:
        >>> MinMaxNorm(1.0, 2.0)(np.array([[0.3], [0.4]])).round(4).tolist()
        [[0.6], [0.8]]
    """

    def __init__(
        self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: Axis = 0
    ) -> None:
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w: Any) -> np.ndarray:
        w = _weights(w)
        norms = _norms(w, self.axis)
        desired = (
            self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        )
        return w * (desired / (epsilon() + norms))

    def get_config(self) -> dict[str, Any]:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm
