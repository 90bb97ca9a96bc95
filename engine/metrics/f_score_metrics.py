"""F-scores: the (weighted) harmonic mean of precision and recall, per class or averaged."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.config import epsilon
from engine.metrics.metric import Metric, as_array, to_result

_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """The F-beta score: `(1 + b^2) * precision * recall / (b^2 * precision + recall)`.

    Works for multi-class and multi-label data of shape `(batch, classes)`.

    Args:
        average: `None` (one score per class), `"micro"` (from the counts
            summed over classes), `"macro"` (the unweighted mean of the class
            scores) or `"weighted"` (their mean weighted by each class's
            number of true instances).
        beta: how much more recall weighs than precision; a float > 0.
        threshold: predictions above it count as 1; with None, the arg-max of
            each row counts as 1 (all of them on ties, none for an all-zero row).
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = FBetaScore(beta=2.0, threshold=0.5)
        >>> m.update_state(
        ...     np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]]),
        ...     np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]),
        ... )
        >>> np.round(m.result(), 4)
        array([0.3846, 0.9091, 0.8333], dtype=float32)
    """

    def __init__(
        self,
        average: str | None = None,
        beta: float = 1.0,
        threshold: float | None = None,
        name: str = "fbeta_score",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        if average not in _AVERAGES:
            raise ValueError(
                "Invalid `average` argument value. Expected one of: "
                f"{{None, 'micro', 'macro', 'weighted'}}. Received: average={average}"
            )
        if not isinstance(beta, float):
            raise ValueError(
                "Invalid `beta` argument value. It should be a Python float. "
                f"Received: beta={beta} of type '{type(beta)}'"
            )
        if beta <= 0.0:
            raise ValueError(
                f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}"
            )
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(
                    "Invalid `threshold` argument value. It should be a Python float. "
                    f"Received: threshold={threshold} of type '{type(threshold)}'"
                )
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(
                    "Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                    f"Received: threshold={threshold}"
                )
        self.average = average
        self.beta = beta
        self.threshold = threshold
        # "micro" pools the counts over classes; the others keep one count per class.
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape: tuple[int, ...], y_pred_shape: tuple[int, ...]) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} expects 2D inputs with shape (batch_size, output_dim). "
                f"Received input shapes: y_pred.shape={tuple(y_pred_shape)} and "
                f"y_true.shape={tuple(y_true_shape)}."
            )
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        self.true_positives = self.add_variable(shape=shape, name="true_positives")
        self.false_positives = self.add_variable(shape=shape, name="false_positives")
        self.false_negatives = self.add_variable(shape=shape, name="false_negatives")
        self.intermediate_weights = self.add_variable(shape=shape, name="intermediate_weights")
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch's per-class TP, FP, FN and support.

        Args:
            y_true: multi-hot labels of shape `(batch, classes)`.
            y_pred: scores of shape `(batch, classes)`.
            sample_weight: one weight per sample, shape `(batch,)` or `(batch, 1)`,
                or a scalar.
        """
        y_true = np.asarray(as_array(y_true), dtype=self.dtype)
        y_pred = np.asarray(as_array(y_pred), dtype=self.dtype)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            row_max = np.max(y_pred, axis=-1, keepdims=True)
            # An all-zero row stays all zero instead of tying everywhere.
            y_pred = (y_pred >= row_max) & (np.abs(y_pred) > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = y_pred.astype(self.dtype)
        weights = None
        if sample_weight is not None:
            weights = np.asarray(as_array(sample_weight), dtype=self.dtype)
            if weights.ndim == 1:
                weights = weights[:, None]

        def weighted_sum(values: np.ndarray) -> np.ndarray:
            if weights is not None:
                values = values * weights
            return np.sum(values, axis=self.axis)

        self.true_positives.assign_add(weighted_sum(y_pred * y_true))
        self.false_positives.assign_add(weighted_sum(y_pred * (1 - y_true)))
        self.false_negatives.assign_add(weighted_sum((1 - y_pred) * y_true))
        self.intermediate_weights.assign_add(weighted_sum(y_true))

    def result(self) -> float | np.ndarray:
        if not self._built:
            return 0.0
        eps = epsilon()
        tp = self.true_positives.value
        precision = tp / (tp + self.false_positives.value + eps)
        recall = tp / (tp + self.false_negatives.value + eps)
        b2 = self.beta**2
        score = (1 + b2) * (precision * recall) / (b2 * precision + recall + eps)
        if self.average == "weighted":
            support = self.intermediate_weights.value
            score = np.sum(score * (support / (np.sum(support) + eps)))
        elif self.average is not None:
            score = np.mean(score)
        return to_result(score, self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


class F1Score(FBetaScore):
    """The F1 score: `2 * precision * recall / (precision + recall)`.

    Args:
        average: `None` (one score per class), `"micro"`, `"macro"` or
            `"weighted"`; see `FBetaScore`.
        threshold: predictions above it count as 1; with None, the arg-max of
            each row counts as 1.
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = F1Score(threshold=0.5)
        >>> m.update_state(
        ...     np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]]),
        ...     np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]),
        ... )
        >>> np.round(m.result(), 4)
        array([0.5   , 0.8   , 0.6667], dtype=float32)
    """

    def __init__(
        self,
        average: str | None = None,
        threshold: float | None = None,
        name: str = "f1_score",
        dtype: Any = None,
    ) -> None:
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
