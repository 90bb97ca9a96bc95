"""Probabilistic metrics: crossentropies, KL divergence and Poisson, averaged over samples.

They mirror the losses of the same names but run in NumPy, off the gradient
tape. Probabilities are clipped to [epsilon, 1 - epsilon] as in Keras; the
logit paths use the log-sum-exp / softplus forms, which do not overflow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.config import epsilon, floatx
from engine.metrics.metric import as_array, float_inputs
from engine.metrics.reduction_metrics import MeanMetricWrapper


def _check_same_shape(y_true: np.ndarray, y_pred: np.ndarray, fn: str) -> None:
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{fn} needs y_true and y_pred of the same shape, got {y_true.shape} and "
            f"{y_pred.shape}; for integer labels use the sparse variant."
        )


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def binary_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> np.ndarray:
    """Per-sample binary crossentropy, averaged over `axis`.

    Args:
        y_true: 0/1 (or soft) labels.
        y_pred: probabilities, or logits with `from_logits`.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: moves labels towards 0.5 by this fraction.
        axis: the axis to average over.

    Example:
        >>> np.round(binary_crossentropy([[0, 1]], [[0.6, 0.4]]), 4)
        array([0.9163], dtype=float32)
    """
    y_true, y_pred = float_inputs(y_true, y_pred)
    _check_same_shape(y_true, y_pred, "binary_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        losses = np.maximum(y_pred, 0) - y_pred * y_true + np.log1p(np.exp(-np.abs(y_pred)))
    else:
        eps = epsilon()
        p = np.clip(y_pred, eps, 1.0 - eps)
        losses = -(y_true * np.log(p) + (1.0 - y_true) * np.log(1.0 - p))
    return np.mean(losses, axis=axis)


def categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> np.ndarray:
    """Per-sample crossentropy between one-hot (or soft) labels and predicted distributions.

    Args:
        y_true: one-hot or soft labels, same shape as `y_pred`.
        y_pred: probabilities (renormalised to sum to 1 along `axis`), or logits.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: mixes this fraction of the uniform distribution into the labels.
        axis: the class axis.

    Example:
        >>> categorical_crossentropy([[0, 1, 0]], [[0.05, 0.95, 0.0]])
        array([0.05129331], dtype=float32)
    """
    y_true, y_pred = float_inputs(y_true, y_pred)
    _check_same_shape(y_true, y_pred, "categorical_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        log_prob = _log_softmax(y_pred, axis)
    else:
        eps = epsilon()
        p = y_pred / np.sum(y_pred, axis=axis, keepdims=True)
        log_prob = np.log(np.clip(p, eps, 1.0 - eps))
    return -np.sum(y_true * log_prob, axis=axis)


def sparse_categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, axis: int = -1
) -> np.ndarray:
    """Per-sample crossentropy between integer labels and predicted distributions.

    Args:
        y_true: integer class labels, shape `y_pred.shape` without the class
            axis (a trailing axis of 1 is accepted).
        y_pred: probabilities (renormalised to sum to 1 along `axis`), or logits.
        from_logits: whether `y_pred` holds logits.
        axis: the class axis of `y_pred`.

    Example:
        >>> sparse_categorical_crossentropy([1], [[0.05, 0.95, 0.0]])
        array([0.05129331], dtype=float32)
    """
    y_pred = as_array(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = y_pred.astype(floatx())
    labels = as_array(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    y_pred = np.moveaxis(y_pred, axis, -1)
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"sparse_categorical_crossentropy needs one integer label per prediction row: "
            f"labels of shape {labels.shape} do not match predictions of shape {y_pred.shape}."
        )
    labels = labels.astype(np.intp)
    num_classes = y_pred.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"sparse_categorical_crossentropy labels must lie in [0, {num_classes}); got "
            f"values from {labels.min()} to {labels.max()}."
        )
    picked = labels[..., None]
    if from_logits:
        log_prob = np.take_along_axis(_log_softmax(y_pred, -1), picked, axis=-1)[..., 0]
    else:
        eps = epsilon()
        p = np.take_along_axis(y_pred, picked, axis=-1)[..., 0] / np.sum(y_pred, axis=-1)
        log_prob = np.log(np.clip(p, eps, 1.0 - eps))
    return -log_prob


def kl_divergence(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample `sum(y_true * log(y_true / y_pred))`, both clipped to [epsilon, 1].

    Example:
        >>> kl_divergence([[0, 1]], [[0.6, 0.4]])
        array([0.9162892], dtype=float32)
    """
    y_true, y_pred = float_inputs(y_true, y_pred)
    y_true = np.clip(y_true, epsilon(), 1.0)
    y_pred = np.clip(y_pred, epsilon(), 1.0)
    return np.sum(y_true * np.log(y_true / y_pred), axis=-1)


def poisson(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample `mean(y_pred - y_true * log(y_pred + epsilon))`.

    Example:
        >>> poisson([[0, 1]], [[1, 1]])
        array([0.99999994], dtype=float32)
    """
    y_true, y_pred = float_inputs(y_true, y_pred)
    return np.mean(y_pred - y_true * np.log(y_pred + epsilon()), axis=-1)


class BinaryCrossentropy(MeanMetricWrapper):
    """The mean binary crossentropy between labels and predictions.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.
        from_logits: whether predictions are logits.
        label_smoothing: moves labels towards 0.5 by this fraction.

    Example:
        >>> m = BinaryCrossentropy()
        >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
        >>> round(m.result(), 4)
        0.8149
    """

    def __init__(
        self,
        name: str = "binary_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
    ) -> None:
        super().__init__(
            fn=binary_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
        }


class CategoricalCrossentropy(MeanMetricWrapper):
    """The mean crossentropy between one-hot labels and predicted distributions.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.
        from_logits: whether predictions are logits.
        label_smoothing: mixes this fraction of the uniform distribution into the labels.
        axis: the class axis.

    Example:
        >>> m = CategoricalCrossentropy()
        >>> m.update_state([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
        >>> round(m.result(), 4)
        1.1769
    """

    def __init__(
        self,
        name: str = "categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
        axis: int = -1,
    ) -> None:
        super().__init__(
            fn=categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean crossentropy between integer labels and predicted distributions.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.
        from_logits: whether predictions are logits.
        axis: the class axis of the predictions.

    Example:
        >>> m = SparseCategoricalCrossentropy()
        >>> m.update_state([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
        >>> round(m.result(), 4)
        1.1769
    """

    def __init__(
        self,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        axis: int = -1,
    ) -> None:
        super().__init__(
            fn=sparse_categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            axis=axis,
        )
        self.from_logits = from_logits
        self.axis = axis
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "from_logits": self.from_logits,
            "axis": self.axis,
        }


class KLDivergence(MeanMetricWrapper):
    """The mean Kullback-Leibler divergence of predictions from labels.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = KLDivergence()
        >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
        >>> round(m.result(), 4)
        0.4581
    """

    def __init__(self, name: str = "kl_divergence", dtype: Any = None) -> None:
        super().__init__(fn=kl_divergence, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class Poisson(MeanMetricWrapper):
    """The mean Poisson deviance term `y_pred - y_true * log(y_pred)`.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = Poisson()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        >>> round(m.result(), 4)
        0.5
    """

    def __init__(self, name: str = "poisson", dtype: Any = None) -> None:
        super().__init__(fn=poisson, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}
