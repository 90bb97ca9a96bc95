"""Regression losses: squared, absolute, percentage, logarithmic, Huber, log-cosh, cosine.

Each function returns the per-sample loss (the mean over the last axis) as one
fused op that differentiates both `y_true` and `y_pred`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.backend.config import epsilon
from engine.backend.tensor import Tensor
from engine.losses.fused import LossTerms, as_float, fused, loss_tensor
from engine.losses.loss import LossFunctionWrapper

_LOG2 = math.log(2.0)


def _mean_last(values: np.ndarray) -> np.ndarray:
    return values.mean(axis=-1, dtype=values.dtype)


def _symmetric(dloss_dpred: Any) -> Any:
    """A grad closure for losses of `y_pred - y_true`: d/dy_true is minus d/dy_pred."""

    def grad(g: np.ndarray, need_true: bool, need_pred: bool) -> tuple[Any, Any]:
        gp = dloss_dpred(g)
        return (-gp if need_true else None, gp if need_pred else None)

    return grad


# Mean squared error -------------------------------------------------------
def _mse_kernel(y_true: np.ndarray, y_pred: np.ndarray, source: Tensor | None) -> LossTerms:
    d = y_pred - as_float(y_true, y_pred.dtype)
    scale = 2.0 / d.shape[-1]
    return LossTerms(_mean_last(d * d), _symmetric(lambda g: g[..., None] * scale * d))


@fused(_mse_kernel)
def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """Mean of the squared errors over the last axis: `mean(square(y_true - y_pred), -1)`.

    Args:
        y_true: targets, shape `(batch, ..., d)`.
        y_pred: predictions, same shape.

    Example:
        >>> mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]]).numpy()
        array([0.5], dtype=float32)
    """
    return loss_tensor(_mse_kernel, y_true, y_pred)


class MeanSquaredError(LossFunctionWrapper):
    """The mean of the squared errors: `mean(square(y_true - y_pred))`.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> MeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]).numpy()
        array(0.5, dtype=float32)
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_squared_error",
        dtype: Any = None,
    ) -> None:
        super().__init__(mean_squared_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return self._base_config()


# Mean absolute error --------------------------------------------------------
def _mae_kernel(y_true: np.ndarray, y_pred: np.ndarray, source: Tensor | None) -> LossTerms:
    d = y_pred - as_float(y_true, y_pred.dtype)
    scale = 1.0 / d.shape[-1]
    return LossTerms(_mean_last(np.abs(d)), _symmetric(lambda g: g[..., None] * scale * np.sign(d)))


@fused(_mae_kernel)
def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """Mean of the absolute errors over the last axis: `mean(abs(y_true - y_pred), -1)`.

    Args:
        y_true: targets, shape `(batch, ..., d)`.
        y_pred: predictions, same shape.

    Example:
        >>> mean_absolute_error([[0.0, 1.0]], [[1.0, 1.0]]).numpy()
        array([0.5], dtype=float32)
    """
    return loss_tensor(_mae_kernel, y_true, y_pred)


class MeanAbsoluteError(LossFunctionWrapper):
    """The mean of the absolute errors: `mean(abs(y_true - y_pred))`.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> MeanAbsoluteError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]).numpy()
        array(0.5, dtype=float32)
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_absolute_error",
        dtype: Any = None,
    ) -> None:
        super().__init__(mean_absolute_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return self._base_config()


# Mean absolute percentage error --------------------------------------------
def _mape_kernel(y_true: np.ndarray, y_pred: np.ndarray, source: Tensor | None) -> LossTerms:
    yt = as_float(y_true, y_pred.dtype)
    eps = epsilon()
    den = np.maximum(np.abs(yt), eps)
    r = (yt - y_pred) / den
    scale = 100.0 / r.shape[-1]

    def grad(g: np.ndarray, need_true: bool, need_pred: bool) -> tuple[Any, Any]:
        s = g[..., None] * scale * np.sign(r)
        g_pred = -s / den if need_pred else None
        g_true = None
        if need_true:
            dden = np.sign(yt) * (np.abs(yt) > eps)
            g_true = s * (1 - r * dden) / den
        return g_true, g_pred

    return LossTerms(100.0 * _mean_last(np.abs(r)), grad)


@fused(_mape_kernel)
def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    """`100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), -1)`.

    Args:
        y_true: targets, shape `(batch, ..., d)`.
        y_pred: predictions, same shape.

    Example:
        >>> mean_absolute_percentage_error([[2.0, 1.0]], [[1.0, 1.0]]).numpy()
        array([25.], dtype=float32)
    """
    return loss_tensor(_mape_kernel, y_true, y_pred)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """The mean absolute percentage error: `100 * mean(abs((y_true - y_pred) / y_true))`.

    Division by zero is avoided by dividing by `max(abs(y_true), epsilon())`.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> mape_loss = MeanAbsolutePercentageError()
        >>> mape_loss([[2.0, 1.0], [2.0, 3.0]], [[1.0, 1.0], [1.0, 0.0]]).numpy()
        array(50., dtype=float32)
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_absolute_percentage_error",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            mean_absolute_percentage_error, name=name, reduction=reduction, dtype=dtype
        )

    def get_config(self) -> dict[str, Any]:
        return self._base_config()


# Mean squared logarithmic error --------------------------------------------
def _msle_kernel(y_true: np.ndarray, y_pred: np.ndarray, source: Tensor | None) -> LossTerms:
    yt = as_float(y_true, y_pred.dtype)
    eps = epsilon()
    p1 = np.maximum(y_pred, eps) + 1
    t1 = np.maximum(yt, eps) + 1
    d = np.log(p1) - np.log(t1)
    scale = 2.0 / d.shape[-1]

    def grad(g: np.ndarray, need_true: bool, need_pred: bool) -> tuple[Any, Any]:
        s = g[..., None] * scale * d
        g_pred = s / p1 * (y_pred > eps) if need_pred else None
        g_true = -s / t1 * (yt > eps) if need_true else None
        return g_true, g_pred

    return LossTerms(_mean_last(d * d), grad)


@fused(_msle_kernel)
def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    """`mean(square(log(y_true + 1) - log(y_pred + 1)), -1)`, inputs floored at epsilon().

    Args:
        y_true: targets, shape `(batch, ..., d)`.
        y_pred: predictions, same shape.

    Example:
        >>> mean_squared_logarithmic_error([[0.0, 1.0]], [[1.0, 1.0]]).numpy()
        array([0.24022643], dtype=float32)
    """
    return loss_tensor(_msle_kernel, y_true, y_pred)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """The mean squared logarithmic error: `mean(square(log(y_true + 1) - log(y_pred + 1)))`.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> msle_loss = MeanSquaredLogarithmicError()
        >>> msle_loss([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]).numpy()
        array(0.24022643, dtype=float32)
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_squared_logarithmic_error",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            mean_squared_logarithmic_error, name=name, reduction=reduction, dtype=dtype
        )

    def get_config(self) -> dict[str, Any]:
        return self._base_config()


# Huber ---------------------------------------------------------------------
def _huber_kernel(
    y_true: np.ndarray, y_pred: np.ndarray, source: Tensor | None, delta: float = 1.0
) -> LossTerms:
    delta = float(delta)
    e = y_pred - as_float(y_true, y_pred.dtype)
    a = np.abs(e)
    values = _mean_last(np.where(a <= delta, 0.5 * e * e, delta * a - 0.5 * delta * delta))
    scale = 1.0 / e.shape[-1]
    return LossTerms(values, _symmetric(lambda g: g[..., None] * scale * np.clip(e, -delta, delta)))


@fused(_huber_kernel)
def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """The Huber loss, quadratic for errors up to `delta` and linear beyond, averaged over -1.

    Args:
        y_true: targets, shape `(batch, ..., d)`.
        y_pred: predictions, same shape.
        delta: where the loss turns from quadratic to linear.

    Example:
        >>> huber([[0.0, 1.0], [0.0, 0.0]], [[0.6, 0.4], [0.4, 0.6]]).numpy()
        array([0.18      , 0.13000001], dtype=float32)
    """
    return loss_tensor(_huber_kernel, y_true, y_pred, delta=delta)


class Huber(LossFunctionWrapper):
    """The Huber loss: `0.5 * x**2` for `|x| <= delta`, `delta * |x| - 0.5 * delta**2` beyond.

    Args:
        delta: where the loss turns from quadratic to linear.
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> Huber()([[0.0, 1.0], [0.0, 0.0]], [[0.6, 0.4], [0.4, 0.6]]).numpy()
        array(0.155, dtype=float32)
    """

    def __init__(
        self,
        delta: float = 1.0,
        reduction: str | None = "sum_over_batch_size",
        name: str = "huber_loss",
        dtype: Any = None,
    ) -> None:
        super().__init__(huber, name=name, reduction=reduction, dtype=dtype, delta=delta)
        self.delta = delta

    def get_config(self) -> dict[str, Any]:
        # Keras drops `delta` here; keeping it makes from_config round-trip.
        return {**self._base_config(), "delta": self.delta}


# Log-cosh ------------------------------------------------------------------
def _log_cosh_kernel(y_true: np.ndarray, y_pred: np.ndarray, source: Tensor | None) -> LossTerms:
    x = y_pred - as_float(y_true, y_pred.dtype)
    a = np.abs(x)
    # log(cosh(x)) = |x| + log(1 + exp(-2|x|)) - log(2), which never overflows.
    values = _mean_last(a + np.log1p(np.exp(-2 * a)) - _LOG2)
    scale = 1.0 / x.shape[-1]
    return LossTerms(values, _symmetric(lambda g: g[..., None] * scale * np.tanh(x)))


@fused(_log_cosh_kernel)
def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """`mean(log(cosh(y_pred - y_true)), -1)`: like MSE for small errors, like MAE for large.

    Args:
        y_true: targets, shape `(batch, ..., d)`.
        y_pred: predictions, same shape.

    Example:
        >>> log_cosh([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]).numpy()
        array([0.2168904, 0.       ], dtype=float32)
    """
    return loss_tensor(_log_cosh_kernel, y_true, y_pred)


class LogCosh(LossFunctionWrapper):
    """The logarithm of the hyperbolic cosine of the prediction error.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> LogCosh()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]).numpy()
        array(0.1084452, dtype=float32)
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "log_cosh",
        dtype: Any = None,
    ) -> None:
        super().__init__(log_cosh, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return self._base_config()


# Cosine similarity ---------------------------------------------------------
def _l2_normalize(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`x / max(norm(x), epsilon)` with the inverse norm and where the norm is above epsilon."""
    eps = epsilon()
    norm = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    inv = 1 / np.maximum(norm, eps)
    return x * inv, inv, norm > eps


def _cosine_kernel(
    y_true: np.ndarray, y_pred: np.ndarray, source: Tensor | None, axis: int = -1
) -> LossTerms:
    yt = as_float(y_true, y_pred.dtype)
    u_pred, inv_pred, on_pred = _l2_normalize(y_pred, axis)
    u_true, inv_true, on_true = _l2_normalize(yt, axis)
    values = -np.sum(u_true * u_pred, axis=axis)

    def side(g: np.ndarray, u: np.ndarray, inv: np.ndarray, on: np.ndarray, other: np.ndarray):
        # Through x / |x| the component along u drops out; below epsilon the norm is a constant.
        along = np.where(on, u * np.sum(u * other, axis=axis, keepdims=True), 0)
        return -np.expand_dims(g, axis) * (other - along) * inv

    def grad(g: np.ndarray, need_true: bool, need_pred: bool) -> tuple[Any, Any]:
        return (
            side(g, u_true, inv_true, on_true, u_pred) if need_true else None,
            side(g, u_pred, inv_pred, on_pred, u_true) if need_pred else None,
        )

    return LossTerms(values, grad)


@fused(_cosine_kernel)
def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """Minus the cosine similarity along `axis`: `-sum(l2_norm(y_true) * l2_norm(y_pred))`.

    The result lies in [-1, 1]; -1 means the vectors point the same way, and a
    zero vector gives 0.

    Args:
        y_true: targets.
        y_pred: predictions, same shape.
        axis: the axis the similarity is computed along.

    Example:
        >>> cosine_similarity([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]).numpy()
        array([-0.        , -0.99999994], dtype=float32)
    """
    return loss_tensor(_cosine_kernel, y_true, y_pred, axis=axis)


class CosineSimilarity(LossFunctionWrapper):
    """Minus the cosine similarity between labels and predictions.

    Values near -1 mean high similarity, so minimising it aligns predictions
    with targets.

    Args:
        axis: the axis the similarity is computed along (the features axis).
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> CosineSimilarity()([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]).numpy()
        array(-0.49999997, dtype=float32)
    """

    def __init__(
        self,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "cosine_similarity",
        dtype: Any = None,
    ) -> None:
        super().__init__(cosine_similarity, name=name, reduction=reduction, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        # Keras drops `axis` here; keeping it makes from_config round-trip.
        return {**self._base_config(), "axis": self.axis}


# Legacy aliases, as Keras still resolves them by name.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
logcosh = log_cosh
