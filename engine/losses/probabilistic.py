"""Probabilistic losses: crossentropies, Kullback-Leibler divergence and Poisson.

Probabilities are clipped to `[epsilon(), 1 - epsilon()]` before the
logarithm, as Keras does. When `y_pred` is the output of a softmax (categorical
and sparse losses) or a sigmoid (binary loss) and `from_logits=False`, the loss
is computed from the remembered logits instead, stably and without clipping,
and its gradient goes to the logits directly (see `engine.losses.fused`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from engine.backend.config import epsilon
from engine.backend.tensor import Tensor
from engine.losses.fused import (
    LossTerms,
    activation_logits,
    as_float,
    check_same_shape,
    fused,
    log_softmax,
    loss_tensor,
    sigmoid,
)
from engine.losses.loss import LossFunctionWrapper


def check_label_smoothing(label_smoothing: float) -> float:
    """Return `label_smoothing` as a float, raising a ValueError outside [0, 1]."""
    value = float(label_smoothing)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"label_smoothing must be a float in [0, 1]; got {label_smoothing!r}.")
    return value


def check_axis(axis: Any, loss: str) -> int:
    """Return `axis` if it is an int (not a bool), else raise a ValueError naming the loss."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"{loss} needs an int axis; got axis={axis!r}.")
    return int(axis)


def _logits_for(source: Tensor | None, activation: str, shape: tuple[int, ...], dtype: Any):
    """The logits behind `source` as (tensor, array shaped like y_pred), or (None, None)."""
    logits = activation_logits(source, activation)
    if logits is None:
        return None, None
    return logits, as_float(logits.value.reshape(shape), dtype)


def _inside(p: np.ndarray, low: float, high: float) -> np.ndarray:
    """Where clipping to [low, high] leaves `p` alone, so its gradient passes."""
    return (p >= low) & (p <= high)


# Kullback-Leibler divergence ---------------------------------------------
def _kld_kernel(y_true: np.ndarray, y_pred: np.ndarray, source: Tensor | None) -> LossTerms:
    eps = epsilon()
    yt = as_float(y_true, y_pred.dtype)
    t = np.clip(yt, eps, 1)
    p = np.clip(y_pred, eps, 1)
    log_ratio = np.log(t / p)

    def grad(g: np.ndarray, need_true: bool, need_pred: bool) -> tuple[Any, Any]:
        ge = g[..., None]
        g_true = ge * (log_ratio + 1) * _inside(yt, eps, 1) if need_true else None
        g_pred = -ge * t / p * _inside(y_pred, eps, 1) if need_pred else None
        return g_true, g_pred

    return LossTerms(np.sum(t * log_ratio, axis=-1), grad)


@fused(_kld_kernel)
def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """`sum(y_true * log(y_true / y_pred), -1)`, both clipped to `[epsilon(), 1]`.

    Args:
        y_true: target distributions, shape `(batch, ..., d)`.
        y_pred: predicted distributions, same shape.

    Example:
        >>> kl_divergence([[0.0, 1.0]], [[0.6, 0.4]]).numpy()
        array([0.9162892], dtype=float32)
    """
    return loss_tensor(_kld_kernel, y_true, y_pred)


class KLDivergence(LossFunctionWrapper):
    """The Kullback-Leibler divergence `y_true * log(y_true / y_pred)`, summed over classes.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> KLDivergence()([[0.0, 1.0], [0.0, 0.0]], [[0.6, 0.4], [0.4, 0.6]]).numpy()
        array(0.45814306, dtype=float32)
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "kl_divergence",
        dtype: Any = None,
    ) -> None:
        super().__init__(kl_divergence, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return self._base_config()


# Poisson -------------------------------------------------------------------
def _poisson_kernel(y_true: np.ndarray, y_pred: np.ndarray, source: Tensor | None) -> LossTerms:
    yt = as_float(y_true, y_pred.dtype)
    shifted = y_pred + epsilon()
    log_pred = np.log(shifted)
    scale = 1.0 / y_pred.shape[-1]

    def grad(g: np.ndarray, need_true: bool, need_pred: bool) -> tuple[Any, Any]:
        ge = g[..., None] * scale
        g_true = -ge * log_pred if need_true else None
        g_pred = ge * (1 - yt / shifted) if need_pred else None
        return g_true, g_pred

    values = np.mean(y_pred - yt * log_pred, axis=-1, dtype=y_pred.dtype)
    return LossTerms(values, grad)


@fused(_poisson_kernel)
def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """`mean(y_pred - y_true * log(y_pred + epsilon()), -1)`.

    Args:
        y_true: observed counts, shape `(batch, ..., d)`.
        y_pred: predicted rates, same shape.

    Example:
        >>> poisson([[0.0, 1.0]], [[1.0, 1.0]]).numpy()
        array([0.99999994], dtype=float32)
    """
    return loss_tensor(_poisson_kernel, y_true, y_pred)


class Poisson(LossFunctionWrapper):
    """The Poisson loss `y_pred - y_true * log(y_pred)`, averaged.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> Poisson()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]).numpy()
        array(0.49999997, dtype=float32)
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "poisson",
        dtype: Any = None,
    ) -> None:
        super().__init__(poisson, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return self._base_config()


# Binary crossentropy ---------------------------------------------------------
def _bce_kernel(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    source: Tensor | None,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> LossTerms:
    ls = check_label_smoothing(label_smoothing)
    axis = check_axis(axis, "binary_crossentropy")
    t = as_float(y_true, y_pred.dtype)
    check_same_shape(t, y_pred, "binary_crossentropy")
    if ls:
        t = t * (1.0 - ls) + 0.5 * ls
    logits, x = (
        (None, y_pred)
        if from_logits
        else _logits_for(source, "sigmoid", y_pred.shape, y_pred.dtype)
    )
    if x is not None:
        # -t*log(sigmoid(x)) - (1-t)*log(1-sigmoid(x)) = max(x, 0) - x*t + log(1 + exp(-|x|))
        elem = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))

        def d_pred() -> np.ndarray:
            return sigmoid(x) - t

        def d_true() -> np.ndarray:
            return -x
    else:
        eps = epsilon()
        c = np.clip(y_pred, eps, 1 - eps)
        log_c, log_1c = np.log(c), np.log(1 - c)
        elem = -(t * log_c + (1 - t) * log_1c)

        def d_pred() -> np.ndarray:
            return ((1 - t) / (1 - c) - t / c) * _inside(y_pred, eps, 1 - eps)

        def d_true() -> np.ndarray:
            return log_1c - log_c

    scale = 1.0 / elem.shape[axis]

    def grad(g: np.ndarray, need_true: bool, need_pred: bool) -> tuple[Any, Any]:
        ge = np.expand_dims(g, axis) * scale
        g_true = ge * d_true() * (1.0 - ls) if need_true else None
        return g_true, (ge * d_pred() if need_pred else None)

    return LossTerms(np.mean(elem, axis=axis, dtype=elem.dtype), grad, logits=logits)


@fused(_bce_kernel)
def binary_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """The binary crossentropy, averaged over `axis`.

    Args:
        y_true: labels in [0, 1], shape `(batch, ..., d)`.
        y_pred: probabilities, or logits with `from_logits=True`; same shape.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: in [0, 1]; squeezes the labels towards 0.5:
            `y_true * (1 - label_smoothing) + 0.5 * label_smoothing`.
        axis: the axis the mean is taken over.

    Example:
        >>> binary_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).numpy()
        array([0.91629076, 0.7135582 ], dtype=float32)
    """
    return loss_tensor(
        _bce_kernel,
        y_true,
        y_pred,
        from_logits=from_logits,
        label_smoothing=label_smoothing,
        axis=axis,
    )


class BinaryCrossentropy(LossFunctionWrapper):
    """The crossentropy between binary labels (0 or 1) and predicted probabilities or logits.

    Args:
        from_logits: whether `y_pred` holds logits rather than probabilities.
        label_smoothing: in [0, 1]; squeezes the labels towards 0.5.
        axis: the axis the mean is taken over (the features axis).
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> bce = BinaryCrossentropy(from_logits=True)
        >>> bce([[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]]).numpy()
        array(0.8654..., dtype=float32)
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "binary_crossentropy",
        dtype: Any = None,
    ) -> None:
        check_label_smoothing(label_smoothing)
        super().__init__(
            binary_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {
            **self._base_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


# Categorical crossentropy ----------------------------------------------------
def _warn_single_class(y_pred: np.ndarray, loss: str) -> None:
    if y_pred.shape[-1] == 1:
        warnings.warn(
            f"In loss {loss}, expected y_pred.shape to be (batch_size, num_classes) with "
            f"num_classes > 1. Received: y_pred.shape={y_pred.shape}. Consider using "
            "'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning,
            stacklevel=4,
        )


def _cce_kernel(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    source: Tensor | None,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> LossTerms:
    ls = check_label_smoothing(label_smoothing)
    axis = check_axis(axis, "categorical_crossentropy")
    t = as_float(y_true, y_pred.dtype)
    check_same_shape(t, y_pred, "categorical_crossentropy")
    _warn_single_class(y_pred, "categorical_crossentropy")
    if ls:
        t = t * (1.0 - ls) + ls / t.shape[-1]
    last = axis in (-1, y_pred.ndim - 1)
    logits, x = (None, y_pred) if from_logits else (None, None)
    if not from_logits and last:
        logits, x = _logits_for(source, "softmax", y_pred.shape, y_pred.dtype)
    if x is not None:
        log_p = log_softmax(x, axis)

        def d_pred(ge: np.ndarray) -> np.ndarray:
            return np.exp(log_p) * np.sum(ge * t, axis=axis, keepdims=True) - ge * t
    else:
        eps = epsilon()
        total = np.sum(y_pred, axis=axis, keepdims=True)
        q = y_pred / total
        c = np.clip(q, eps, 1 - eps)
        log_p = np.log(c)

        def d_pred(ge: np.ndarray) -> np.ndarray:
            # Through the clip, then through the renormalisation q = y_pred / sum(y_pred).
            gq = -ge * t / c * _inside(q, eps, 1 - eps)
            return (gq - np.sum(gq * q, axis=axis, keepdims=True)) / total

    def grad(g: np.ndarray, need_true: bool, need_pred: bool) -> tuple[Any, Any]:
        ge = np.expand_dims(g, axis)
        g_true = -ge * log_p * (1.0 - ls) if need_true else None
        return g_true, (d_pred(ge) if need_pred else None)

    return LossTerms(-np.sum(t * log_p, axis=axis), grad, logits=logits)


@fused(_cce_kernel)
def categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """The categorical crossentropy between one-hot labels and predictions, over `axis`.

    Args:
        y_true: one-hot (or soft) labels, shape `(batch, ..., num_classes)`.
        y_pred: probabilities, or logits with `from_logits=True`; same shape.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: in [0, 1]; the labels become
            `y_true * (1 - label_smoothing) + label_smoothing / num_classes`.
        axis: the class axis.

    Example:
        >>> y_pred = [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
        >>> categorical_crossentropy([[0, 1, 0], [0, 0, 1]], y_pred).numpy()
        array([0.05129331, 2.3025851 ], dtype=float32)
    """
    return loss_tensor(
        _cce_kernel,
        y_true,
        y_pred,
        from_logits=from_logits,
        label_smoothing=label_smoothing,
        axis=axis,
    )


class CategoricalCrossentropy(LossFunctionWrapper):
    """The crossentropy between one-hot labels and predicted class probabilities or logits.

    Args:
        from_logits: whether `y_pred` holds logits rather than probabilities.
        label_smoothing: in [0, 1]; with 0.1 the labels become `0.1 / num_classes`
            and `0.9 + 0.1 / num_classes`.
        axis: the class axis.
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> cce = CategoricalCrossentropy()
        >>> cce([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]).numpy()
        array(1.1769392, dtype=float32)
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_crossentropy",
        dtype: Any = None,
    ) -> None:
        check_label_smoothing(label_smoothing)
        super().__init__(
            categorical_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {
            **self._base_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


# Sparse categorical crossentropy -------------------------------------------
def _labels(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Integer class indices shaped like `y_pred` without its class axis."""
    labels = y_true
    if labels.ndim == y_pred.ndim and labels.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(
            "sparse_categorical_crossentropy needs one class index per prediction row: y_true of "
            f"shape {y_pred.shape[:-1]} (or {(*y_pred.shape[:-1], 1)}) for y_pred of shape "
            f"{y_pred.shape}; got y_true of shape {y_true.shape}."
        )
    return labels


def _scce_kernel(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    source: Tensor | None,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> LossTerms:
    axis = check_axis(axis, "sparse_categorical_crossentropy")
    last = axis in (-1, y_pred.ndim - 1)
    moved = y_pred if last else np.moveaxis(y_pred, axis, -1)
    labels = _labels(y_true, moved)
    num_classes = moved.shape[-1]
    valid = None if ignore_class is None else labels != ignore_class
    idx = labels.astype(np.int64).reshape(-1)
    if valid is not None:
        idx = np.where(valid.reshape(-1), idx, 0)
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        bad = idx[(idx < 0) | (idx >= num_classes)][0]
        raise ValueError(
            f"sparse_categorical_crossentropy got the label {bad}, outside [0, {num_classes}); "
            "labels must be class indices below y_pred.shape[-1] (use ignore_class for padding)."
        )
    logits, x = (None, moved) if from_logits else (None, None)
    if not from_logits and last:
        logits, x = _logits_for(source, "softmax", y_pred.shape, y_pred.dtype)
    rows = np.arange(idx.size)
    if x is not None:
        x2 = x.reshape(-1, num_classes)
        log_p = log_softmax(x2)
        values = -log_p[rows, idx]

        def d_rows(gflat: np.ndarray) -> np.ndarray:
            d = np.exp(log_p)
            d[rows, idx] -= 1
            return d * gflat[:, None]
    else:
        eps = epsilon()
        p2 = moved.reshape(-1, num_classes)
        with np.errstate(divide="ignore", invalid="ignore"):
            total = p2.sum(axis=1)
            q = p2[rows, idx] / total
        c = np.clip(q, eps, 1 - eps)
        values = -np.log(c)

        def d_rows(gflat: np.ndarray) -> np.ndarray:
            # Only the true class's renormalised probability q = p_y / sum(p) enters the loss.
            with np.errstate(divide="ignore", invalid="ignore"):
                dq = -gflat / c * _inside(q, eps, 1 - eps) / total
                d = np.repeat((-dq * q)[:, None], num_classes, axis=1)
            d[rows, idx] += dq
            return d

    values = values.reshape(labels.shape)
    mask = None
    if valid is not None:
        values = np.where(valid, values, 0).astype(y_pred.dtype, copy=False)
        mask = valid

    def grad(g: np.ndarray, need_true: bool, need_pred: bool) -> tuple[Any, Any]:
        if not need_pred:
            return None, None
        d = d_rows(g.reshape(-1))
        if valid is not None:
            d = np.where(valid.reshape(-1, 1), d, 0).astype(y_pred.dtype, copy=False)
        d = d.reshape(moved.shape)
        return None, (d if last else np.moveaxis(d, -1, axis))

    return LossTerms(values, grad, logits=logits, mask=mask)


@fused(_scce_kernel)
def sparse_categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> Tensor:
    """The categorical crossentropy with integer class indices as labels.

    Args:
        y_true: class indices (ints or integral floats), shape `(batch, ...)` or
            `(batch, ..., 1)`.
        y_pred: probabilities, or logits with `from_logits=True`, shape
            `(batch, ..., num_classes)`.
        from_logits: whether `y_pred` holds logits.
        ignore_class: a label value (say -1 or 255) whose entries give zero loss
            and are masked out of the mean.
        axis: the class axis.

    Example:
        >>> sparse_categorical_crossentropy([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]).numpy()
        array([0.05129331, 2.3025851 ], dtype=float32)
    """
    return loss_tensor(
        _scce_kernel,
        y_true,
        y_pred,
        from_logits=from_logits,
        ignore_class=ignore_class,
        axis=axis,
    )


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """The crossentropy between integer class labels and predicted probabilities or logits.

    Args:
        from_logits: whether `y_pred` holds logits rather than probabilities.
        ignore_class: a label value whose entries give zero loss and are left out
            of the mean (padding or "void" classes in segmentation).
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> scce = SparseCategoricalCrossentropy()
        >>> scce([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]).numpy()
        array(1.1769392, dtype=float32)
    """

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: str | None = "sum_over_batch_size",
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(
            sparse_categorical_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            from_logits=from_logits,
            ignore_class=ignore_class,
        )
        self.from_logits = from_logits
        self.ignore_class = ignore_class

    def get_config(self) -> dict[str, Any]:
        return {
            **self._base_config(),
            "from_logits": self.from_logits,
            "ignore_class": self.ignore_class,
        }


# Legacy aliases, as Keras still resolves them by name.
kld = KLD = kullback_leibler_divergence = kl_divergence
bce = BCE = binary_crossentropy
