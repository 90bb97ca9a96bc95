"""Regression metrics: mean errors between targets and predictions, and R2."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from engine.backend.config import epsilon
from engine.metrics.metric import (
    Metric,
    as_array,
    divide_no_nan,
    float_inputs,
    squeeze_or_expand_to_same_rank,
    to_result,
)
from engine.metrics.reduction_metrics import Mean, MeanMetricWrapper


def mean_squared_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample `mean((y_true - y_pred) ** 2)` over the last axis.

    Example:
        >>> mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]])
        array([0.5], dtype=float32)
    """
    y_true, y_pred = float_inputs(y_true, y_pred)
    return np.mean(np.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample `mean(abs(y_true - y_pred))` over the last axis.

    Example:
        >>> mean_absolute_error([[0.0, 1.0]], [[1.0, 1.0]])
        array([0.5], dtype=float32)
    """
    y_true, y_pred = float_inputs(y_true, y_pred)
    return np.mean(np.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample `100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)))`.

    Example:
        >>> mean_absolute_percentage_error([[2.0, 4.0]], [[1.0, 4.0]])
        array([25.], dtype=float32)
    """
    y_true, y_pred = float_inputs(y_true, y_pred)
    diff = np.abs((y_true - y_pred) / np.maximum(np.abs(y_true), epsilon()))
    return 100.0 * np.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample `mean((log(y_pred + 1) - log(y_true + 1)) ** 2)`, inputs floored at epsilon.

    Example:
        >>> mean_squared_logarithmic_error([[0.0, 1.0]], [[1.0, 1.0]])
        array([0.24022643], dtype=float32)
    """
    y_true, y_pred = float_inputs(y_true, y_pred)
    first_log = np.log(np.maximum(y_pred, epsilon()) + 1.0)
    second_log = np.log(np.maximum(y_true, epsilon()) + 1.0)
    return np.mean(np.square(first_log - second_log), axis=-1)


def log_cosh(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample `mean(log(cosh(y_pred - y_true)))`, computed without overflow.

    Example:
        >>> log_cosh([[0.0, 1.0]], [[1.0, 1.0]])
        array([0.2168904], dtype=float32)
    """
    y_true, y_pred = float_inputs(y_true, y_pred)
    x = y_pred - y_true
    # log(cosh(x)) = x + softplus(-2x) - log(2), and softplus is evaluated stably.
    softplus = np.logaddexp(0.0, -2.0 * x).astype(x.dtype)
    return np.mean(x + softplus - math.log(2.0), axis=-1)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> np.ndarray:
    """Per-sample cosine of the angle between `y_true` and `y_pred` along `axis`.

    Example:
        >>> cosine_similarity([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]])
        array([0.        , 0.99999994], dtype=float32)
    """
    y_true, y_pred = float_inputs(y_true, y_pred)

    def l2_normalize(x: np.ndarray) -> np.ndarray:
        norm = np.sqrt(np.sum(np.square(x), axis=axis, keepdims=True))
        return x / np.maximum(norm, epsilon())

    return np.sum(l2_normalize(y_true) * l2_normalize(y_pred), axis=axis)


class MeanSquaredError(MeanMetricWrapper):
    """The mean squared error between targets and predictions.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = MeanSquaredError()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        >>> m.result()
        0.25
    """

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(fn=mean_squared_error, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class MeanAbsoluteError(MeanMetricWrapper):
    """The mean absolute error between targets and predictions.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = MeanAbsoluteError()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]], sample_weight=[1, 0])
        >>> m.result()
        0.5
    """

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(fn=mean_absolute_error, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """The mean absolute percentage error; zero targets are floored at epsilon.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = MeanAbsolutePercentageError()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        >>> m.result()
        250000000.0
    """

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None) -> None:
        super().__init__(fn=mean_absolute_percentage_error, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """The mean squared error between `log(y + 1)` of targets and predictions.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = MeanSquaredLogarithmicError()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        >>> round(m.result(), 4)
        0.1201
    """

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None) -> None:
        super().__init__(fn=mean_squared_logarithmic_error, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class LogCoshError(MeanMetricWrapper):
    """The mean of `log(cosh(y_pred - y_true))`.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = LogCoshError()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        >>> round(m.result(), 4)
        0.1084
    """

    def __init__(self, name: str = "logcosh", dtype: Any = None) -> None:
        super().__init__(fn=log_cosh, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class CosineSimilarity(MeanMetricWrapper):
    """The mean cosine similarity between targets and predictions.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.
        axis: the axis along which the similarity is computed.

    Example:
        >>> m = CosineSimilarity(axis=1)
        >>> m.update_state([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]])
        >>> round(m.result(), 4)
        0.5
    """

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1) -> None:
        super().__init__(fn=cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis
        self._direction = "up"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class RootMeanSquaredError(Mean):
    """The square root of the mean squared error.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = RootMeanSquaredError()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        >>> m.result()
        0.5
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self._direction = "down"

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch's squared errors to the mean."""
        y_true = np.asarray(as_array(y_true), dtype=self.dtype)
        y_pred = np.asarray(as_array(y_pred), dtype=self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        super().update_state(np.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self) -> float:
        return to_result(np.sqrt(divide_no_nan(self.total.value, self.count.value)), self.dtype)


class R2Score(Metric):
    """The coefficient of determination, `1 - SS_residual / SS_total`, optionally adjusted.

    Inputs are `(batch, outputs)`; each output column gets its own score.

    Args:
        class_aggregation: how to combine the columns' scores: `None` (return
            all), `"uniform_average"` or `"variance_weighted_average"`.
        num_regressors: the number of independent regressors, for the
            adjusted R2; 0 gives the plain R2.
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = R2Score()
        >>> m.update_state(np.array([[1], [4], [3]]), np.array([[2], [4], [4]]))
        >>> round(m.result(), 4)
        0.5714
    """

    def __init__(
        self,
        class_aggregation: str | None = "uniform_average",
        num_regressors: int = 0,
        name: str = "r2_score",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        valid = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in valid:
            raise ValueError(
                f"R2Score class_aggregation must be one of {valid}, got {class_aggregation!r}."
            )
        if num_regressors < 0:
            raise ValueError(f"R2Score num_regressors must be >= 0, got {num_regressors}.")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable(shape=(), name="num_samples")
        self._built = False

    def _build(self, y_true_shape: tuple[int, ...], y_pred_shape: tuple[int, ...]) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, output_dim). Received input "
                f"shapes: y_pred.shape={tuple(y_pred_shape)} and "
                f"y_true.shape={tuple(y_true_shape)}."
            )
        num_classes = y_pred_shape[-1]
        self.squared_sum = self.add_variable(shape=(num_classes,), name="squared_sum")
        self.sum = self.add_variable(shape=(num_classes,), name="sum")
        self.total_mse = self.add_variable(shape=(num_classes,), name="residual")
        self.count = self.add_variable(shape=(num_classes,), name="count")
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch's weighted sums of targets, squared targets and squared residuals."""
        y_true = np.asarray(as_array(y_true), dtype=self.dtype)
        y_pred = np.asarray(as_array(y_pred), dtype=self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        weights = np.asarray(1 if sample_weight is None else as_array(sample_weight), self.dtype)
        if weights.ndim == 1:
            weights = weights[:, None]
        weights = np.broadcast_to(weights, y_true.shape)
        weighted_y_true = y_true * weights
        self.sum.assign_add(np.sum(weighted_y_true, axis=0))
        self.squared_sum.assign_add(np.sum(y_true * weighted_y_true, axis=0))
        self.total_mse.assign_add(np.sum(np.square(y_true - y_pred) * weights, axis=0))
        self.count.assign_add(np.sum(weights, axis=0))
        self.num_samples.assign_add(y_true.size)

    def result(self) -> float | np.ndarray:
        if not self._built:
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum.value / self.count.value
            total = self.squared_sum.value - self.sum.value * mean
            raw_scores = 1 - self.total_mse.value / total
        raw_scores = np.where(np.isinf(raw_scores), 0.0, raw_scores)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw_scores)
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(total * raw_scores) / np.sum(total)
        else:
            score = raw_scores
        n = float(self.num_samples.value)
        p = self.num_regressors
        if p != 0:
            if p > n - 1:
                warnings.warn(
                    "More independent predictors than datapoints in adjusted R2 score; "
                    "falling back to the standard R2 score.",
                    stacklevel=2,
                )
            elif p == n - 1:
                warnings.warn(
                    "Division by zero in the adjusted R2 score; falling back to the standard "
                    "R2 score.",
                    stacklevel=2,
                )
            else:
                score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        return to_result(score, self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }
