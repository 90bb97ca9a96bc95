"""Metrics that reduce values over batches: `Sum`, `Mean` and `MeanMetricWrapper`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine.metrics.metric import (
    Metric,
    as_array,
    divide_no_nan,
    get_mask,
    squeeze_or_expand_to_same_rank,
    to_result,
)
from engine.saving.serialization import serialize_keras_object


def apply_mask(
    sample_weight: np.ndarray | None, mask: np.ndarray | None, dtype: str
) -> np.ndarray | None:
    """Fold a Keras mask into the sample weights (masked entries get weight 0)."""
    if mask is None:
        return sample_weight
    mask = np.asarray(mask, dtype=dtype)
    if sample_weight is None:
        return mask
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, np.asarray(sample_weight, dtype))
    return sample_weight * mask


def reduce_to_samplewise_values(
    values: Any,
    sample_weight: Any,
    reduce_fn: Callable[..., np.ndarray],
    dtype: str,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Weight `values` and reduce them to one value per sample, as Keras's reduction metrics do.

    Args:
        values: the values of one batch, any shape; a `_keras_mask` on them
            masks entries, but only when `sample_weight` is given (as in Keras).
        sample_weight: None, a scalar, or an array broadcastable to `values`
            after matching ranks.
        reduce_fn: `np.sum` or `np.mean`, applied over the non-batch axes.
        dtype: the dtype to compute in.

    Returns:
        The per-sample values (rank 0 or 1) and the per-sample weights (or None).
    """
    mask = get_mask(values)
    values = np.asarray(as_array(values), dtype=dtype)
    if sample_weight is not None:
        sample_weight = np.asarray(as_array(sample_weight), dtype=dtype)
        sample_weight = apply_mask(sample_weight, mask, dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim = sample_weight.ndim
        if values.ndim > weight_ndim:
            values = reduce_fn(values, axis=tuple(range(weight_ndim, values.ndim)))
        # Broadcasting the weights too makes the later weight reduction count every entry.
        sample_weight = np.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, weight_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of the given values.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = Sum()
        >>> m.update_state([1, 3, 5, 7])
        >>> m.result()
        16.0
        >>> m.reset_state()
        >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
        >>> m.result()
        4.0
    """

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), name="total")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Add the (weighted) values of one batch to the total."""
        values, _ = reduce_to_samplewise_values(values, sample_weight, np.sum, self.dtype)
        self.total.assign_add(np.sum(values))

    def result(self) -> float:
        return to_result(self.total.value, self.dtype)


class Mean(Metric):
    """The (weighted) mean of the given values.

    The state is `total` (the weighted sum) and `count` (the sum of weights).

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = Mean()
        >>> m.update_state([1, 3, 5, 7])
        >>> m.result()
        4.0
        >>> m.reset_state()
        >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
        >>> m.result()
        2.0
    """

    def __init__(self, name: str | None = "mean", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), name="total")
        self.count = self.add_variable(shape=(), name="count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Add one batch of values; sample weights weight them per sample."""
        values, sample_weight = reduce_to_samplewise_values(
            values, sample_weight, np.mean, self.dtype
        )
        self.total.assign_add(np.sum(values))
        if sample_weight is not None:
            count = np.sum(sample_weight)
        else:
            count = values.shape[0] if values.ndim >= 1 else 1
        self.count.assign_add(count)

    def result(self) -> float:
        return to_result(divide_no_nan(self.total.value, self.count.value), self.dtype)


class MeanMetricWrapper(Mean):
    """Average a per-sample function `fn(y_true, y_pred, **kwargs)` over everything seen.

    `fn` receives NumPy arrays and returns one value per sample (or any array
    whose non-batch axes are then averaged). A `_keras_mask` on `y_pred` acts
    as a sample weight.

    Args:
        fn: the function to average.
        name: the metric's name.
        dtype: the dtype of the state and the result.
        **kwargs: passed on to `fn` at every call.

    Example:
        >>> def squared_error(y_true, y_pred):
        ...     return np.mean((y_true - y_pred) ** 2, axis=-1)
        >>> m = MeanMetricWrapper(squared_error, name="se")
        >>> m.update_state([[0.0, 1.0]], [[1.0, 1.0]])
        >>> m.result()
        0.5
    """

    def __init__(
        self, fn: Callable[..., Any], name: str | None = None, dtype: Any = None, **kwargs: Any
    ) -> None:
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper needs a function fn(y_true, y_pred), got {fn!r}.")
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        # A wrapped loss is to be minimized; EarlyStopping's "auto" mode reads this.
        module = getattr(fn, "__module__", None) or type(fn).__module__
        if module.startswith("engine.losses"):
            self._direction = "down"

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Evaluate `fn` on one batch and add its per-sample values to the mean."""
        mask = get_mask(y_pred)
        values = self._fn(as_array(y_true), as_array(y_pred), **self._fn_kwargs)
        if sample_weight is not None:
            sample_weight = as_array(sample_weight)
        super().update_state(values, sample_weight=apply_mask(sample_weight, mask, self.dtype))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["fn"] = serialize_keras_object(self._fn)
        config.update(serialize_keras_object(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MeanMetricWrapper:
        config = dict(config)
        if "fn" in config:
            # Imported here: the package's registry of metric functions imports this module.
            from engine.metrics import deserialize

            config["fn"] = deserialize(config["fn"])
        return cls(**config)
