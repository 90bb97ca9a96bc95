"""The `Metric` base class and the input handling every metric shares.

Metrics are stateful and computed in NumPy, off the gradient tape: the training
loop calls `update_state` once per batch and reads `result()` for its logs. The
state lives in non-trainable `Variable`s so that it can be listed, saved and
reset like Keras's.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.config import floatx, standardize_dtype
from engine.backend.naming import to_snake_case, unique_name
from engine.backend.tensor import Variable, unwrap
from engine.ops.core import as_array


def get_mask(x: Any) -> np.ndarray | None:
    """The Keras mask carried by a tensor (`_keras_mask`), as an array, or None."""
    mask = getattr(x, "_keras_mask", None)
    return None if mask is None else np.asarray(unwrap(mask))


def squeeze_or_expand_to_same_rank(
    x1: np.ndarray, x2: np.ndarray, expand_rank_1: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Make ranks that differ by one match, on a trailing axis of size 1 (Keras's rule).

    The array with the extra trailing 1 is squeezed, except that a rank-1
    partner is expanded instead when `expand_rank_1` is true.
    """
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def float_inputs(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """`y_true` and `y_pred` as float arrays of `y_pred`'s float dtype and of matching rank."""
    y_pred = as_array(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = y_pred.astype(floatx())
    y_true = as_array(y_true).astype(y_pred.dtype, copy=False)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def divide_no_nan(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """`x / y`, with 0 wherever `y` is 0 (Keras's `divide_no_nan`)."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return np.divide(x, y, out=np.zeros(x.shape), where=y != 0)


def to_result(x: Any, dtype: str) -> float | np.ndarray:
    """A metric result as Keras users read it: a Python float, or an array per class."""
    arr = np.asarray(unwrap(x), dtype=dtype)
    return float(arr) if arr.ndim == 0 else arr


def _initial_value(initializer: Any, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    if initializer is None or (isinstance(initializer, str) and initializer == "zeros"):
        return np.zeros(shape, dtype)
    if isinstance(initializer, str) and initializer == "ones":
        return np.ones(shape, dtype)
    if isinstance(initializer, str):
        # Imported here: only custom metrics naming another initializer need the package.
        from engine import initializers

        initializer = initializers.get(initializer)
    if callable(initializer):
        return np.asarray(unwrap(initializer(shape, dtype=dtype)), dtype)
    return np.broadcast_to(np.asarray(unwrap(initializer), dtype), shape).copy()


class Metric(abc.ABC):
    """Encapsulates a metric's logic and state.

    Subclasses create their state in `__init__` with `add_variable`, accumulate
    it in `update_state` and compute the value from it in `result`. Variables
    and sub-metrics assigned as attributes are tracked, so `variables` and
    `reset_state` see all of them.

    Args:
        dtype: the dtype of the state and the result; `floatx()` by default.
        name: the metric's name, used as its key in training logs; the
            snake-cased class name by default.

    Example:
        >>> class BinaryTruePositives(Metric):
        ...     def __init__(self, name="binary_true_positives", **kwargs):
        ...         super().__init__(name=name, **kwargs)
        ...         self.true_positives = self.add_variable(shape=(), name="true_positives")
        ...
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         hits = np.logical_and(np.asarray(y_true, bool), np.asarray(y_pred, bool))
        ...         self.true_positives.assign_add(hits.sum())
        ...
        ...     def result(self):
        ...         return float(self.true_positives.value)
        >>> m = BinaryTruePositives()
        >>> m([0, 1, 1], [1, 1, 1])
        2.0
    """

    def __init__(self, dtype: Any = None, name: str | None = None) -> None:
        object.__setattr__(self, "_variables", [])
        object.__setattr__(self, "_metrics", [])
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._dtype = standardize_dtype(dtype).name

    def __setattr__(self, key: str, value: Any) -> None:
        tracked = self.__dict__.get("_variables")
        if tracked is not None:
            if isinstance(value, Variable) and all(v is not value for v in tracked):
                tracked.append(value)
            elif isinstance(value, Metric) and all(m is not value for m in self._metrics):
                self._metrics.append(value)
        object.__setattr__(self, key, value)

    @property
    def dtype(self) -> str:
        """The dtype of the state and of the result, as a string."""
        return self._dtype

    @property
    def variables(self) -> list[Variable]:
        """The state: this metric's variables, then those of its sub-metrics."""
        variables = list(self._variables)
        for metric in self._metrics:
            variables.extend(metric.variables)
        return variables

    def add_variable(
        self,
        shape: Sequence[int] = (),
        initializer: Any = "zeros",
        dtype: Any = None,
        aggregation: str = "sum",
        name: str | None = None,
    ) -> Variable:
        """Create and track a non-trainable state variable.

        Args:
            shape: the variable's shape.
            initializer: `"zeros"`, `"ones"`, another initializer name, a
                callable `(shape, dtype) -> array`, or an array.
            dtype: defaults to the metric's dtype.
            aggregation: how replicas would combine the variable; accepted for
                Keras compatibility, single-process training has nothing to combine.
            name: the variable's short name, e.g. `"total"`.
        """
        if "_variables" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before "
                "add_variable()."
            )
        del aggregation
        shape = tuple(int(d) for d in shape)
        dtype = standardize_dtype(dtype or self._dtype)
        name = name or "variable"
        variable = Variable(
            _initial_value(initializer, shape, dtype), dtype=dtype, trainable=False, name=name
        )
        variable.path = f"{self.name}/{name}"
        self._variables.append(variable)
        return variable

    def add_weight(
        self,
        shape: Sequence[int] = (),
        initializer: Any = None,
        dtype: Any = None,
        name: str | None = None,
    ) -> Variable:
        """Alias of `add_variable`, kept as Keras keeps it for older custom metrics."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    def reset_state(self) -> None:
        """Zero every state variable; the training loop calls this at each epoch start."""
        for v in self.variables:
            v.value[...] = 0

    @abc.abstractmethod
    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Accumulate statistics from one batch."""

    @abc.abstractmethod
    def result(self) -> Any:
        """The metric's value from the state accumulated so far."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Update the state with one batch and return the new result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-able."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        """Rebuild a metric from `get_config()` output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


__all__ = [
    "Metric",
    "as_array",
    "divide_no_nan",
    "float_inputs",
    "get_mask",
    "squeeze_or_expand_to_same_rank",
    "to_result",
]
