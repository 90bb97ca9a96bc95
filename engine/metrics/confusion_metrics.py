"""Metrics built on confusion-matrix counts at thresholds: TP/FP/TN/FN, Precision, Recall, AUC.

Counts at every threshold come from one pass: each prediction is bucketed by
how many thresholds lie strictly below it (arithmetic for evenly spaced
thresholds, as Keras does, `searchsorted` otherwise), the label weights are
summed per bucket (`bincount`) and a reversed cumulative sum turns bucket
totals into "prediction > threshold" totals. That costs O(N + T) (or
O(N log T)) for N predictions and T thresholds instead of O(N * T)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.config import epsilon
from engine.metrics.metric import (
    Metric,
    as_array,
    divide_no_nan,
    squeeze_or_expand_to_same_rank,
    to_result,
)
from engine.saving.serialization import serialize_keras_object

# The threshold that lets every top-k prediction through (Keras's NEG_INF).
NEG_INF = -1e10

TRUE_POSITIVES = "tp"
FALSE_POSITIVES = "fp"
TRUE_NEGATIVES = "tn"
FALSE_NEGATIVES = "fn"

_CURVES = {"roc": "ROC", "pr": "PR"}
_SUMMATION_METHODS = ("interpolation", "majoring", "minoring")


def parse_init_thresholds(thresholds: Any, default_threshold: float = 0.5) -> list[float]:
    """Check user thresholds lie in [0, 1] and return them as a list (the default if None)."""
    if thresholds is None:
        return [default_threshold]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    invalid = [t for t in values if t is None or t < 0 or t > 1]
    if invalid:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")
    return [float(t) for t in values]


def is_evenly_distributed_thresholds(thresholds: Sequence[float]) -> bool:
    """Whether `thresholds` is `i / (n - 1)` for i in 0..n-1, with n >= 3."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=epsilon()))


def _filter_top_k(x: np.ndarray, k: int) -> np.ndarray:
    """Keep the `k` largest values of the last axis, NEG_INF elsewhere; ties keep lower indices."""
    top = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(x.shape, dtype=bool)
    np.put_along_axis(keep, top, True, axis=-1)
    return np.where(keep, x, np.asarray(NEG_INF, dtype=x.dtype))


def _bucket_indices(y_pred: np.ndarray, sorted_thresholds: np.ndarray, evenly: bool) -> np.ndarray:
    """For each prediction, how many thresholds lie strictly below it."""
    if not evenly:
        return np.searchsorted(sorted_thresholds, y_pred, side="left")
    # Evenly spaced thresholds i / (n - 1): Keras's arithmetic, O(1) per prediction. With
    # the -epsilon end point every prediction in [0, 1] is above the first threshold.
    buckets = np.ceil(y_pred * (len(sorted_thresholds) - 1)).astype(np.intp)
    if sorted_thresholds[0] < 0.0:
        np.maximum(buckets, 1, out=buckets)
    return buckets


def _counts_above(buckets: np.ndarray, weights: np.ndarray, num_thresholds: int) -> np.ndarray:
    """Sum of `weights` of predictions above each sorted threshold; per column if 2-D."""
    if buckets.ndim == 1:
        totals = np.bincount(buckets, weights=weights, minlength=num_thresholds + 1)
    else:
        num_labels = buckets.shape[1]
        flat = buckets * num_labels + np.arange(num_labels)
        totals = np.bincount(
            flat.ravel(), weights=weights.ravel(), minlength=(num_thresholds + 1) * num_labels
        ).reshape(num_thresholds + 1, num_labels)
    # A prediction in bucket b exceeds thresholds 0..b-1: count it for every t_j with j < b.
    return np.cumsum(totals[::-1], axis=0)[::-1][1:]


def update_confusion_matrix_variables(
    variables_to_update: dict[str, Any],
    y_true: Any,
    y_pred: Any,
    thresholds: Sequence[float] | np.ndarray,
    top_k: int | None = None,
    class_id: int | None = None,
    sample_weight: Any = None,
    multi_label: bool = False,
    label_weights: Any = None,
    thresholds_distributed_evenly: bool = False,
) -> None:
    """Add one batch's weighted TP/FP/TN/FN counts at each threshold to the given variables.

    A prediction is positive at threshold t when `y_pred > t`; labels are cast
    to bool.

    Args:
        variables_to_update: maps `"tp"`, `"fp"`, `"tn"`, `"fn"` to variables of
            shape `(num_thresholds,)`, or `(num_thresholds, num_labels)` when
            `multi_label`.
        y_true: the labels, same shape as `y_pred` up to a trailing axis of 1.
        y_pred: the predicted scores, normally in [0, 1].
        thresholds: the thresholds, in any order.
        top_k: only the k largest predictions of the last axis may be positive.
        class_id: only this index of the last axis is counted.
        sample_weight: None, a scalar, or weights broadcastable to `y_true`.
        multi_label: keep the label axis (rank-2 inputs) instead of flattening.
        label_weights: weights per label, applied when not `multi_label`.
        thresholds_distributed_evenly: the thresholds are `i / (n - 1)` (AUC adds
            -epsilon and 1 + epsilon ends); as in Keras, predictions are then
            clipped to [0, 1] and bucketed by arithmetic, so one exactly equal
            to a threshold may land on either side of it by float rounding.
    """
    if multi_label and label_weights is not None:
        raise ValueError(
            "label_weights for multi-label data are applied when averaging the label AUCs; "
            "pass label_weights=None to update_confusion_matrix_variables."
        )
    unknown = set(variables_to_update) - {
        TRUE_POSITIVES,
        FALSE_POSITIVES,
        TRUE_NEGATIVES,
        FALSE_NEGATIVES,
    }
    if unknown or not variables_to_update:
        raise ValueError(
            "variables_to_update keys must be among 'tp', 'fp', 'tn', 'fn'; "
            f"got {sorted(variables_to_update)}."
        )
    dtype = next(iter(variables_to_update.values())).dtype
    y_true = np.asarray(as_array(y_true)).astype(dtype)
    y_pred = np.asarray(as_array(y_pred)).astype(dtype)
    thresholds = np.asarray(thresholds, dtype=dtype)

    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = np.asarray(as_array(sample_weight), dtype=dtype)[..., None]
        _, sample_weight = squeeze_or_expand_to_same_rank(
            y_true, sample_weight, expand_rank_1=False
        )
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                "When class_id is provided, y_pred must be a 2D array with shape "
                f"(num_samples, num_classes), found shape: {y_pred.shape}."
            )
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if thresholds_distributed_evenly:
        y_pred = np.clip(y_pred, 0.0, 1.0)

    weights = (
        np.ones(y_pred.shape)
        if sample_weight is None
        else np.broadcast_to(sample_weight, y_pred.shape)
    )
    if label_weights is not None:
        weights = weights * np.broadcast_to(np.asarray(label_weights, dtype=dtype), y_pred.shape)
    positive = y_true.astype(bool)
    if multi_label:
        if y_pred.ndim != 2:
            raise ValueError(
                "multi_label counting needs rank-2 (batch, labels) inputs, "
                f"got shape {y_pred.shape}."
            )
    else:
        y_pred, positive, weights = y_pred.ravel(), positive.ravel(), weights.ravel()
    pos_weights = np.where(positive, weights, 0.0)
    neg_weights = np.where(positive, 0.0, weights)

    order = np.argsort(thresholds, kind="stable")
    buckets = _bucket_indices(y_pred, thresholds[order], thresholds_distributed_evenly)
    num_thresholds = len(thresholds)

    def counts(weights: np.ndarray) -> np.ndarray:
        out = np.empty((num_thresholds, *weights.shape[1:]))
        out[order] = _counts_above(buckets, weights, num_thresholds)
        return out

    need = variables_to_update.keys()
    if TRUE_POSITIVES in need or FALSE_NEGATIVES in need:
        tp = counts(pos_weights)
        if TRUE_POSITIVES in need:
            variables_to_update[TRUE_POSITIVES].assign_add(tp)
        if FALSE_NEGATIVES in need:
            variables_to_update[FALSE_NEGATIVES].assign_add(pos_weights.sum(axis=0) - tp)
    if FALSE_POSITIVES in need or TRUE_NEGATIVES in need:
        fp = counts(neg_weights)
        if FALSE_POSITIVES in need:
            variables_to_update[FALSE_POSITIVES].assign_add(fp)
        if TRUE_NEGATIVES in need:
            variables_to_update[TRUE_NEGATIVES].assign_add(neg_weights.sum(axis=0) - fp)


class _ConfusionMatrixConditionCount(Metric):
    """Weighted count of one confusion-matrix cell at each threshold."""

    _condition = TRUE_POSITIVES

    def __init__(self, thresholds: Any = None, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_init_thresholds(thresholds, default_threshold=0.5)
        self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(self.thresholds)
        self.accumulator = self.add_variable(shape=(len(self.thresholds),), name="accumulator")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch's count (weighted by `sample_weight`)."""
        update_confusion_matrix_variables(
            {self._condition: self.accumulator},
            y_true,
            y_pred,
            thresholds=self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight,
        )

    def result(self) -> float | np.ndarray:
        value = self.accumulator.value
        return to_result(value[0] if len(self.thresholds) == 1 else value, self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": serialize_keras_object(self.init_thresholds)}


class TruePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true positives at each threshold.

    Args:
        thresholds: a float or a list of floats in [0, 1]; 0.5 by default. A
            prediction above a threshold counts as positive.
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = TruePositives()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        >>> m.result()
        2.0
    """

    _condition = TRUE_POSITIVES


class FalsePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false positives at each threshold.

    Args:
        thresholds: a float or a list of floats in [0, 1]; 0.5 by default.
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = FalsePositives()
        >>> m.update_state([0, 1, 0, 0], [0, 0, 1, 1])
        >>> m.result()
        2.0
    """

    _condition = FALSE_POSITIVES


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true negatives at each threshold.

    Args:
        thresholds: a float or a list of floats in [0, 1]; 0.5 by default.
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = TrueNegatives()
        >>> m.update_state([0, 1, 0, 0], [1, 1, 0, 0])
        >>> m.result()
        2.0
    """

    _condition = TRUE_NEGATIVES


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false negatives at each threshold.

    Args:
        thresholds: a float or a list of floats in [0, 1]; 0.5 by default.
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = FalseNegatives()
        >>> m.update_state([0, 1, 1, 1], [0, 1, 0, 0])
        >>> m.result()
        2.0
    """

    _condition = FALSE_NEGATIVES


class _PrecisionRecallBase(Metric):
    """Shared state handling of Precision and Recall: TP plus one error count per threshold."""

    _error = FALSE_POSITIVES
    _error_name = "false_positives"

    def __init__(
        self,
        thresholds: Any = None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default_threshold = 0.5 if top_k is None else NEG_INF
        self.thresholds = parse_init_thresholds(thresholds, default_threshold=default_threshold)
        self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(self.thresholds)
        self.true_positives = self.add_variable(
            shape=(len(self.thresholds),), name="true_positives"
        )
        setattr(
            self,
            self._error_name,
            self.add_variable(shape=(len(self.thresholds),), name=self._error_name),
        )

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch's true-positive and error counts.

        Args:
            y_true: the labels, cast to bool; same shape as `y_pred`.
            y_pred: the predicted scores, normally in [0, 1].
            sample_weight: None, a scalar, or weights broadcastable to `y_true`.
        """
        update_confusion_matrix_variables(
            {TRUE_POSITIVES: self.true_positives, self._error: getattr(self, self._error_name)},
            y_true,
            y_pred,
            thresholds=self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            top_k=self.top_k,
            class_id=self.class_id,
            sample_weight=sample_weight,
        )

    def result(self) -> float | np.ndarray:
        tp = self.true_positives.value
        value = divide_no_nan(tp, tp + getattr(self, self._error_name).value)
        return to_result(value[0] if len(self.thresholds) == 1 else value, self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "thresholds": serialize_keras_object(self.init_thresholds),
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_PrecisionRecallBase):
    """The precision of the predictions: TP / (TP + FP).

    With `top_k`, only the k highest predictions of each sample count as
    positive; with `class_id`, only that class (last axis index) is scored.

    Args:
        thresholds: a float or a list of floats in [0, 1]; one result per
            threshold. Defaults to 0.5, or to "any of the top k" with `top_k`.
            Use 0 with logits.
        top_k: how many of the highest predictions may count as positive.
        class_id: the class to score, in [0, num_classes).
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = Precision()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        >>> round(m.result(), 4)
        0.6667
    """

    _error = FALSE_POSITIVES
    _error_name = "false_positives"


class Recall(_PrecisionRecallBase):
    """The recall of the predictions: TP / (TP + FN).

    With `top_k`, only the k highest predictions of each sample count as
    positive; with `class_id`, only that class (last axis index) is scored.

    Args:
        thresholds: a float or a list of floats in [0, 1]; one result per
            threshold. Defaults to 0.5, or to "any of the top k" with `top_k`.
            Use 0 with logits.
        top_k: how many of the highest predictions may count as positive.
        class_id: the class to score, in [0, num_classes).
        name: the metric's name.
        dtype: the dtype of the state and the result.

    Example:
        >>> m = Recall()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        >>> round(m.result(), 4)
        0.6667
    """

    _error = FALSE_NEGATIVES
    _error_name = "false_negatives"


def _standardize_curve(curve: str) -> str:
    key = str(curve).lower()
    if key not in _CURVES:
        raise ValueError(f'Invalid AUC curve value: "{curve}". Expected one of "ROC", "PR".')
    return _CURVES[key]


def _standardize_summation_method(method: str) -> str:
    key = str(method).lower()
    if key not in _SUMMATION_METHODS:
        raise ValueError(
            f'Invalid AUC summation method value: "{method}". '
            'Expected one of "interpolation", "majoring", "minoring".'
        )
    return key


class AUC(Metric):
    """Area under the ROC or precision-recall curve, by a Riemann sum over fixed thresholds.

    Predictions are counted into TP/FP/TN/FN at `num_thresholds` evenly spaced
    thresholds (plus -epsilon and 1 + epsilon at the ends, so that scores of
    exactly 0 and 1 are placed right). The ROC area interpolates linearly
    between thresholds; the PR area with "interpolation" integrates precision
    with TP and FP interpolated linearly (Davis & Goadrich, 2006).

    Args:
        num_thresholds: how many thresholds discretize the curve; > 1.
        curve: `"ROC"` or `"PR"`.
        summation_method: `"interpolation"`, `"minoring"` (a lower bound) or
            `"majoring"` (an upper bound).
        name: the metric's name.
        dtype: the dtype of the state and the result.
        thresholds: explicit thresholds in [0, 1] to use instead of
            `num_thresholds` evenly spaced ones.
        multi_label: compute one AUC per label (last axis of rank-2 inputs)
            and average them, instead of flattening all labels together.
        num_labels: the number of labels, to create the state before the
            first update when `multi_label`.
        label_weights: per-label weights: for the average of label AUCs when
            `multi_label`, for the counts otherwise.
        from_logits: apply a sigmoid to the predictions first.

    Example:
        >>> m = AUC(num_thresholds=3)
        >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
        >>> m.result()
        0.75
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype: Any = None,
        thresholds: Sequence[float] | None = None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights: Any = None,
        from_logits: bool = False,
    ) -> None:
        self.curve = _standardize_curve(curve)
        self.summation_method = _standardize_summation_method(summation_method)
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(parse_init_thresholds(list(thresholds)))
            self.num_thresholds = len(inner) + 2
            self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(
                [0.0, *inner, 1.0]
            )
        else:
            if num_thresholds is None or num_thresholds <= 1:
                raise ValueError(
                    f"Argument `num_thresholds` must be an integer > 1. Received: {num_thresholds}"
                )
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        self._thresholds = np.array([0.0 - epsilon(), *inner, 1.0 + epsilon()])
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = (
            None if label_weights is None else np.asarray(as_array(label_weights), dtype=self.dtype)
        )
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build((None, num_labels))
        else:
            if num_labels:
                raise ValueError("AUC takes num_labels only with multi_label=True.")
            self._build(None)

    @property
    def thresholds(self) -> list[float]:
        """The thresholds the curve is evaluated at, end points included."""
        return [float(t) for t in self._thresholds]

    def _build(self, shape: tuple[int | None, ...] | None) -> None:
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(
                    "`y_pred` must have rank 2 when `multi_label=True`. "
                    f"Found rank {len(shape)}, shape {tuple(shape)}."
                )
            self._num_labels = shape[1]
            variable_shape = (self.num_thresholds, self._num_labels)
        else:
            variable_shape = (self.num_thresholds,)
        self.true_positives = self.add_variable(shape=variable_shape, name="true_positives")
        self.false_positives = self.add_variable(shape=variable_shape, name="false_positives")
        self.true_negatives = self.add_variable(shape=variable_shape, name="true_negatives")
        self.false_negatives = self.add_variable(shape=variable_shape, name="false_negatives")
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch's confusion counts at every threshold.

        Args:
            y_true: the 0/1 labels, same shape as `y_pred`.
            y_pred: scores in [0, 1] (or logits with `from_logits`).
            sample_weight: None, a scalar, or weights broadcastable to `y_true`.
        """
        y_pred = as_array(y_pred)
        if not self._built:
            self._build(y_pred.shape)
        if self._from_logits:
            # tanh form of the sigmoid: no overflow for large negative logits.
            y_pred = 0.5 * (1.0 + np.tanh(0.5 * y_pred))
        update_confusion_matrix_variables(
            {
                TRUE_POSITIVES: self.true_positives,
                TRUE_NEGATIVES: self.true_negatives,
                FALSE_POSITIVES: self.false_positives,
                FALSE_NEGATIVES: self.false_negatives,
            },
            y_true,
            y_pred,
            self._thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight,
            multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
        )

    def _average_labels(self, by_label: np.ndarray) -> np.ndarray:
        if not self.multi_label:
            return by_label
        if self.label_weights is None:
            return np.mean(by_label)
        weights = self.label_weights.astype(np.float64)
        return divide_no_nan(np.sum(by_label * weights), np.sum(weights))

    def interpolate_pr_auc(self) -> float:
        """The PR-AUC with TP and FP interpolated linearly between thresholds (Davis & Goadrich).

        Within an interval [A, B] precision is TP / P with TP and P = TP + FP
        linear in each other, so its integral over recall has the closed form
        `slope * (dTP + intercept * log(P_B / P_A)) / total_positives`.
        """
        tp = self.true_positives.value.astype(np.float64)
        fp = self.false_positives.value.astype(np.float64)
        fn = self.false_negatives.value.astype(np.float64)
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = (p[:-1] > 0) & (p[1:] > 0)
        # The log term only applies where both ends predict something positive.
        ratio = np.where(both_positive, divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        increments = divide_no_nan(
            slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0)
        )
        return to_result(self._average_labels(np.sum(increments, axis=0)), self.dtype)

    def result(self) -> float:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        tp = self.true_positives.value.astype(np.float64)
        fp = self.false_positives.value.astype(np.float64)
        tn = self.true_negatives.value.astype(np.float64)
        fn = self.false_negatives.value.astype(np.float64)
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        areas = np.sum((x[:-1] - x[1:]) * heights, axis=0)
        return to_result(self._average_labels(areas), self.dtype)

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            # Without the end points, so that from_config rebuilds the same thresholds.
            config["thresholds"] = self.thresholds[1:-1]
        return config
