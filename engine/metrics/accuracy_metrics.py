"""Accuracy metrics: how often predictions match labels, in five label layouts."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.config import floatx
from engine.metrics.metric import as_array, squeeze_or_expand_to_same_rank
from engine.metrics.reduction_metrics import MeanMetricWrapper


def accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample fraction of entries where `y_pred` equals `y_true` exactly.

    Example:
        >>> accuracy([[1], [2]], [[1], [0]])
        array([1., 0.], dtype=float32)
    """
    y_pred = as_array(y_pred)
    y_true = as_array(y_true).astype(y_pred.dtype, copy=False)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return np.mean(y_true == y_pred, axis=-1, dtype=floatx())


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> np.ndarray:
    """Per-sample fraction of entries where `y_pred > threshold` matches the 0/1 label.

    Example:
        >>> binary_accuracy([[1], [0]], [[0.9], [0.7]])
        array([1., 0.], dtype=float32)
    """
    y_true = as_array(y_true)
    y_pred = as_array(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    predicted = (y_pred > np.asarray(threshold, dtype=y_pred.dtype)).astype(y_true.dtype)
    return np.mean(y_true == predicted, axis=-1, dtype=floatx())


def categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample 1.0 where the arg-max of `y_pred` is the hot index of one-hot `y_true`.

    Example:
        >>> categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        array([0., 1.], dtype=float32)
    """
    y_true = np.argmax(as_array(y_true), axis=-1)
    y_pred = as_array(y_pred)
    shape = y_true.shape
    # A label of one rank more than the prediction carries a trailing axis of 1.
    reshape = y_true.ndim == y_pred.ndim
    if reshape:
        y_true = np.squeeze(y_true, -1)
    matches = (y_true == np.argmax(y_pred, axis=-1)).astype(floatx())
    return matches.reshape(shape) if reshape else matches


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-sample 1.0 where the arg-max of `y_pred` equals the integer label.

    Example:
        >>> sparse_categorical_accuracy([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        array([0., 1.], dtype=float32)
    """
    y_true = as_array(y_true)
    y_pred = as_array(y_pred)
    shape = y_true.shape
    reshape = y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1
    if reshape:
        y_true = np.squeeze(y_true, -1)
    predicted = np.argmax(y_pred, axis=-1).astype(y_true.dtype, copy=False)
    matches = (y_true == predicted).astype(floatx())
    if reshape:
        matches = matches.reshape(shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = np.squeeze(matches, -1)
    return matches


def _in_top_k(targets: np.ndarray, predictions: np.ndarray, k: int) -> np.ndarray:
    """Whether each row's target scores at least the row's k-th largest score (ties count)."""
    num_classes = predictions.shape[-1]
    k = min(int(k), num_classes)
    kth_largest = np.partition(predictions, num_classes - k, axis=-1)[:, num_classes - k]
    target_scores = np.take_along_axis(predictions, targets.astype(np.intp)[:, None], axis=-1)
    return target_scores[:, 0] >= kth_largest


def _top_k_matches(labels: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    shape = labels.shape
    y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    matches = _in_top_k(labels.reshape(-1), y_pred, k).astype(floatx())
    return matches.reshape(shape)


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> np.ndarray:
    """Per-sample 1.0 where the one-hot label's class is among the `k` top predictions.

    Example:
        >>> top_k_categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0, 0.9, 0]], k=1)
        array([0., 1.], dtype=float32)
    """
    return _top_k_matches(np.argmax(as_array(y_true), axis=-1), as_array(y_pred), k)


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> np.ndarray:
    """Per-sample 1.0 where the integer label is among the `k` top predictions.

    Example:
        >>> sparse_top_k_categorical_accuracy([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], k=1)
        array([0., 1.], dtype=float32)
    """
    return _top_k_matches(as_array(y_true), as_array(y_pred), k)


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = Accuracy()
        >>> m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
        >>> m.result()
        0.75
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(fn=accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(MeanMetricWrapper):
    """How often thresholded predictions match binary labels.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.
        threshold: predictions above it count as 1; must lie in (0, 1).

    Example:
        >>> m = BinaryAccuracy()
        >>> m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
        >>> m.result()
        0.75
    """

    def __init__(
        self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5
    ) -> None:
        if threshold is not None and not 0 < threshold < 1:
            raise ValueError(
                f"BinaryAccuracy threshold must lie strictly between 0 and 1, got {threshold}."
            )
        super().__init__(fn=binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold
        self._direction = "up"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the arg-max prediction matches a one-hot label.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = CategoricalAccuracy()
        >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        >>> m.result()
        0.5
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(fn=categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the arg-max prediction matches an integer label.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = SparseCategoricalAccuracy()
        >>> m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        >>> m.result()
        0.5
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(fn=sparse_categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often a one-hot label's class is among the `k` highest predictions.

    Args:
        k: how many top predictions count.
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = TopKCategoricalAccuracy(k=1)
        >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        >>> m.result()
        0.5
    """

    def __init__(
        self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None
    ) -> None:
        super().__init__(fn=top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
        self._direction = "up"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often an integer label is among the `k` highest predictions.

    Args:
        k: how many top predictions count.
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = SparseTopKCategoricalAccuracy(k=1)
        >>> m.update_state([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        >>> m.result()
        0.5
    """

    def __init__(
        self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None
    ) -> None:
        super().__init__(fn=sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
        self._direction = "up"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "k": self.k}
