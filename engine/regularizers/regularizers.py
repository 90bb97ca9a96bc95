"""Weight penalties: L1, L2, L1L2 and the orthogonality penalty.

A regularizer maps a weight (a `Variable` or any tensor) to a scalar tensor
built from engine ops, so the penalty's gradient flows through the tape into
the weight when it is added to the loss.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.backend.tensor import Tensor
from engine.ops import nn
from engine.ops import numpy as onp
from engine.ops.core import as_array


def _factor(value: Any, name: str) -> float:
    """Check that a penalty factor is a finite, non-negative number."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(
            f"Regularizer argument {name} must be a non-negative number, got {value!r}."
        )
    return float(value)


def _float_dtype(x: Any) -> np.dtype:
    dt = as_array(x).dtype
    return dt if dt.kind == "f" else np.dtype("float32")


class Regularizer:
    """Base class of weight penalties: `regularizer(weight)` returns a scalar tensor.

    The base class itself adds no penalty. Subclasses override `__call__` and,
    when they take arguments, `get_config`.

    Example:
        >>> class Sum(Regularizer):
        ...     def __call__(self, x):
        ...         return ops.sum(x)
        >>> float(Sum()(np.ones((2, 2), "float32")))
        4.0
    """

    def __call__(self, x: Any) -> Tensor:
        """The penalty for weight `x` (zero for the base class)."""
        return Tensor(np.zeros((), dtype=_float_dtype(x)))

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-able dict."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        """Rebuild a regularizer from `get_config()` output."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _scaled(factor: float, penalty: Tensor, dtype: np.dtype) -> Tensor:
    return onp.multiply(np.asarray(factor, dtype=dtype), penalty)


class L1(Regularizer):
    """`l1 * sum(abs(x))`.

    Args:
        l1: the penalty factor.

    Example:
        >>> float(L1(0.5)(np.array([1.0, -2.0], "float32")))
        1.5
    """

    def __init__(self, l1: float | None = 0.01) -> None:
        self.l1 = _factor(0.01 if l1 is None else l1, "l1")

    def __call__(self, x: Any) -> Tensor:
        return _scaled(self.l1, onp.sum(onp.abs(x)), _float_dtype(x))

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    """`l2 * sum(square(x))`.

    Args:
        l2: the penalty factor.

    Example:
        >>> float(L2(2.0)(np.ones((5, 5), "float32")))
        50.0
    """

    def __init__(self, l2: float | None = 0.01) -> None:
        self.l2 = _factor(0.01 if l2 is None else l2, "l2")

    def __call__(self, x: Any) -> Tensor:
        return _scaled(self.l2, onp.sum(onp.square(x)), _float_dtype(x))

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class L1L2(Regularizer):
    """`l1 * sum(abs(x)) + l2 * sum(square(x))`.

    The string `"l1_l2"` gives `L1L2(l1=0.01, l2=0.01)`, as Keras documents.

    Args:
        l1: the L1 factor.
        l2: the L2 factor.

    Example:
        >>> float(L1L2(l1=1.0, l2=1.0)(np.array([-2.0], "float32")))
        6.0
    """

    def __init__(self, l1: float | None = 0.0, l2: float | None = 0.0) -> None:
        self.l1 = _factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2")

    def __call__(self, x: Any) -> Tensor:
        dtype = _float_dtype(x)
        penalty = Tensor(np.zeros((), dtype=dtype))
        if self.l1:
            penalty = onp.add(penalty, _scaled(self.l1, onp.sum(onp.abs(x)), dtype))
        if self.l2:
            penalty = onp.add(penalty, _scaled(self.l2, onp.sum(onp.square(x)), dtype))
        return penalty

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


_ORTHOGONAL_MODES = ("rows", "columns")


class OrthogonalRegularizer(Regularizer):
    """Penalise non-orthogonal rows (or columns) of a 2-D weight.

    The penalty is `factor * 0.5 * sum(|P - diag(P)|) / (n * (n - 1) / 2)` where
    `P` holds the dot products of the L2-normalised rows (or columns) and `n`
    is their number: `factor` times the mean absolute cosine between pairs.

    Args:
        factor: the penalty factor.
        mode: `"rows"` or `"columns"`.

    Example:
        >>> float(OrthogonalRegularizer(factor=1.0)(np.eye(3, dtype="float32")))
        0.0
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows") -> None:
        self.factor = _factor(factor, "factor")
        if mode not in _ORTHOGONAL_MODES:
            raise ValueError(
                f"OrthogonalRegularizer mode must be 'rows' or 'columns', got {mode!r}."
            )
        self.mode = mode

    def __call__(self, x: Any) -> Tensor:
        shape = np.shape(as_array(x))
        if len(shape) != 2:
            raise ValueError(f"OrthogonalRegularizer needs a 2-D weight, got shape {shape}.")
        dtype = _float_dtype(x)
        if self.mode == "rows":
            unit = nn.normalize(x, axis=1)
            product = onp.matmul(unit, onp.transpose(unit))
            size = shape[0]
        else:
            unit = nn.normalize(x, axis=0)
            product = onp.matmul(onp.transpose(unit), unit)
            size = shape[1]
        off_diagonal = onp.multiply(product, (1 - np.eye(size)).astype(dtype))
        # A single vector has no pairs; its penalty is zero rather than 0 / 0.
        pairs = max(size * (size - 1) / 2.0, 1.0)
        return _scaled(self.factor * 0.5 / pairs, onp.sum(onp.abs(off_diagonal)), dtype)

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer
