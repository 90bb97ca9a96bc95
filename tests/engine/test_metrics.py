"""Tests for engine.metrics: Keras's documented numbers, weights, state, lookup and configs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine import metrics
from engine.backend import Tensor, Variable
from engine.metrics import (
    AUC,
    Accuracy,
    BinaryAccuracy,
    BinaryCrossentropy,
    CategoricalAccuracy,
    CategoricalCrossentropy,
    CosineSimilarity,
    F1Score,
    FalseNegatives,
    FalsePositives,
    FBetaScore,
    KLDivergence,
    LogCoshError,
    Mean,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanMetricWrapper,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Metric,
    Poisson,
    Precision,
    R2Score,
    Recall,
    RootMeanSquaredError,
    SparseCategoricalAccuracy,
    SparseCategoricalCrossentropy,
    SparseTopKCategoricalAccuracy,
    Sum,
    TopKCategoricalAccuracy,
    TrueNegatives,
    TruePositives,
)

TOL = {"rtol": 1e-6, "atol": 1e-6}

# ---------------------------------------------------------------------------------------------
# Reduction metrics


def test_sum_and_mean_keras_examples():
    s = Sum()
    s.update_state([1, 3, 5, 7])
    assert s.result() == 16.0
    s.reset_state()
    s.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert s.result() == 4.0

    m = Mean()
    m.update_state([1, 3, 5, 7])
    assert m.result() == 4.0
    m.reset_state()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert m.result() == 2.0


def test_mean_reduces_non_batch_axes_and_weights_per_sample():
    m = Mean()
    # Per-sample means are 2 and 5; weights 1 and 3 -> (2 + 15) / 4.
    m.update_state([[1.0, 3.0], [4.0, 6.0]], sample_weight=[1.0, 3.0])
    np.testing.assert_allclose(m.result(), 17.0 / 4.0, **TOL)
    m.reset_state()
    m.update_state([[1.0, 3.0], [4.0, 6.0]])
    np.testing.assert_allclose(m.result(), 3.5, **TOL)


def test_mean_of_nothing_is_zero_and_state_is_non_trainable_variables():
    m = Mean(name="loss")
    assert m.result() == 0.0
    assert [v.name for v in m.variables] == ["total", "count"]
    assert all(isinstance(v, Variable) and not v.trainable for v in m.variables)
    assert all(v.dtype == np.float32 for v in m.variables)
    assert m.variables[0].path == "loss/total"
    m.update_state([2.0, 4.0])
    assert m.variables[1].value == 2.0
    m.reset_state()
    assert all(float(v.value) == 0.0 for v in m.variables)


def test_mean_metric_wrapper_with_a_user_function_and_kwargs():
    def scaled_abs(y_true, y_pred, scale):
        return scale * np.mean(np.abs(y_true - y_pred), axis=-1)

    m = MeanMetricWrapper(scaled_abs, name="scaled", scale=2.0)
    m.update_state([[0.0, 1.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(m.result(), 0.5, **TOL)
    assert m.name == "scaled"
    assert m.get_config()["scale"] == 2.0


def test_mask_on_predictions_acts_as_sample_weight():
    y_pred = Tensor(np.array([[0.9], [0.2], [0.8], [0.7]], np.float32))
    y_pred._keras_mask = np.array([True, True, False, False])
    y_true = np.array([[1.0], [1.0], [0.0], [0.0]], np.float32)
    m = BinaryAccuracy()
    m.update_state(y_true, y_pred)
    # Only the first two samples count: one right, one wrong.
    np.testing.assert_allclose(m.result(), 0.5, **TOL)
    m.reset_state()
    m.update_state(y_true, y_pred, sample_weight=[3.0, 1.0, 5.0, 5.0])
    np.testing.assert_allclose(m.result(), 0.75, **TOL)


def test_engine_tensors_are_accepted():
    m = MeanSquaredError()
    m.update_state(
        Tensor(np.array([[0.0, 1.0], [0.0, 0.0]])), Tensor(np.array([[1.0, 1.0], [0.0, 0.0]]))
    )
    np.testing.assert_allclose(m.result(), 0.25, **TOL)
    p = Precision()
    p.update_state(Tensor(np.array([0, 1, 1, 1])), Tensor(np.array([1.0, 0.0, 1.0, 1.0])))
    np.testing.assert_allclose(p.result(), 2 / 3, **TOL)


def test_call_updates_and_returns_result():
    m = Mean()
    assert m([1.0, 3.0]) == 2.0
    assert m([5.0, 7.0]) == 4.0


def test_custom_metric_subclass_tracks_variables_and_sub_metrics():
    class TruePositiveRate(Metric):
        def __init__(self, name="tpr", **kwargs):
            super().__init__(name=name, **kwargs)
            self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
            self.seen = self.add_weight(shape=(), name="seen")
            self.mean = Mean(name="inner")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_true = np.asarray(y_true, bool)
            self.hits.assign_add(np.sum(y_true & (np.asarray(y_pred) > 0.5)))
            self.seen.assign_add(np.sum(y_true))
            self.mean.update_state(np.asarray(y_pred))

        def result(self):
            return float(self.hits.value / self.seen.value)

    m = TruePositiveRate()
    assert m([1, 1, 0, 1], [0.9, 0.1, 0.8, 0.7]) == pytest.approx(2 / 3)
    assert [v.name for v in m.variables] == ["hits", "seen", "total", "count"]
    m.reset_state()
    assert all(float(v.value) == 0.0 for v in m.variables)


def test_direction_tells_callbacks_whether_to_maximize():
    assert Precision()._direction == "up"
    assert AUC()._direction == "up"
    assert MeanSquaredError()._direction == "down"

    def fake_loss(y_true, y_pred):
        return np.abs(y_true - y_pred)

    assert not hasattr(MeanMetricWrapper(fake_loss), "_direction")
    fake_loss.__module__ = "engine.losses.regression"
    assert MeanMetricWrapper(fake_loss)._direction == "down"


def test_metric_base_cannot_be_instantiated_without_update_and_result():
    with pytest.raises(TypeError):
        Metric()


# ---------------------------------------------------------------------------------------------
# Accuracy metrics (Keras docstring numbers)


@pytest.mark.parametrize(
    ("metric", "y_true", "y_pred", "weights", "plain", "weighted"),
    [
        (
            Accuracy,
            [[1], [2], [3], [4]],
            [[0], [2], [3], [4]],
            [1, 1, 0, 0],
            0.75,
            0.5,
        ),
        (
            BinaryAccuracy,
            [[1], [1], [0], [0]],
            [[0.98], [1], [0], [0.6]],
            [1, 0, 0, 1],
            0.75,
            0.5,
        ),
        (
            CategoricalAccuracy,
            [[0, 0, 1], [0, 1, 0]],
            [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
            [0.7, 0.3],
            0.5,
            0.3,
        ),
        (
            SparseCategoricalAccuracy,
            [[2], [1]],
            [[0.1, 0.6, 0.3], [0.05, 0.95, 0]],
            [0.7, 0.3],
            0.5,
            0.3,
        ),
        (
            lambda: TopKCategoricalAccuracy(k=1),
            [[0, 0, 1], [0, 1, 0]],
            [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
            [0.7, 0.3],
            0.5,
            0.3,
        ),
        (
            lambda: SparseTopKCategoricalAccuracy(k=1),
            [2, 1],
            [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
            [0.7, 0.3],
            0.5,
            0.3,
        ),
    ],
)
def test_accuracy_metrics_keras_examples(metric, y_true, y_pred, weights, plain, weighted):
    m = metric()
    m.update_state(y_true, y_pred)
    np.testing.assert_allclose(m.result(), plain, **TOL)
    m.reset_state()
    m.update_state(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(m.result(), weighted, **TOL)


def test_accuracy_function_forms():
    np.testing.assert_array_equal(
        metrics.binary_accuracy([[1], [0]], [[0.9], [0.7]]), np.array([1.0, 0.0], np.float32)
    )
    np.testing.assert_array_equal(
        metrics.binary_accuracy([1, 0], [0.9, 0.2], threshold=0.95), np.array(0.5, np.float32)
    )
    np.testing.assert_array_equal(
        metrics.categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]),
        [0.0, 1.0],
    )
    np.testing.assert_array_equal(
        metrics.sparse_categorical_accuracy([2, 1], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]),
        [0.0, 1.0],
    )
    y_pred = [[0.1, 0.5, 0.4, 0.0], [0.6, 0.3, 0.05, 0.05]]
    np.testing.assert_array_equal(
        metrics.top_k_categorical_accuracy([[0, 0, 1, 0], [0, 0, 1, 0]], y_pred, k=2), [1.0, 0.0]
    )
    np.testing.assert_array_equal(
        metrics.sparse_top_k_categorical_accuracy([2, 2], y_pred, k=2), [1.0, 0.0]
    )
    assert metrics.categorical_accuracy(np.eye(3), np.eye(3)).dtype == np.float32


def test_top_k_counts_ties_as_hits():
    # The label's score ties the k-th largest: Keras (in_top_k) counts it.
    np.testing.assert_array_equal(
        metrics.sparse_top_k_categorical_accuracy([2], [[0.5, 0.2, 0.2]], k=2), [1.0]
    )


def test_sparse_top_k_with_rank_3_predictions():
    y_pred = np.array([[[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]], [[0.2, 0.3, 0.5], [0.3, 0.3, 0.4]]])
    y_true = np.array([[1, 2], [2, 0]])
    np.testing.assert_array_equal(
        metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, k=1), [[1.0, 0.0], [1.0, 0.0]]
    )


def test_binary_accuracy_rejects_threshold_outside_unit_interval():
    with pytest.raises(ValueError, match="threshold"):
        BinaryAccuracy(threshold=1.0)


# ---------------------------------------------------------------------------------------------
# Confusion counts, Precision, Recall (Keras test numbers)

Y_TRUE_5 = np.array(((0, 1, 0, 1, 0), (0, 0, 1, 1, 1), (1, 1, 1, 1, 0), (0, 0, 0, 0, 1)))
Y_PRED_5 = np.array(((0, 0, 1, 1, 0), (1, 1, 1, 1, 1), (0, 1, 0, 1, 0), (1, 1, 1, 1, 1)))
Y_PRED_T = np.array(
    ((0.9, 0.2, 0.8, 0.1), (0.2, 0.9, 0.7, 0.6), (0.1, 0.2, 0.4, 0.3), (0, 1, 0.7, 0.3))
)
Y_TRUE_T = np.array(((0, 1, 1, 0), (1, 0, 0, 0), (0, 0, 0, 0), (1, 1, 1, 1)))


@pytest.mark.parametrize(
    ("cls", "plain", "weighted"),
    [
        (TruePositives, 7.0, 12.0),
        (FalsePositives, 7.0, 14.0),
        (TrueNegatives, 3.0, 4.0),
        (FalseNegatives, 3.0, 5.0),
    ],
)
def test_confusion_counts(cls, plain, weighted):
    assert cls()(Y_TRUE_5, Y_PRED_5) == plain
    assert cls()(Y_TRUE_5, Y_PRED_5, sample_weight=np.array((1.0, 1.5, 2.0, 2.5))) == weighted


def test_confusion_counts_with_thresholds_and_weights():
    thresholds = [0.15, 0.5, 0.85]
    np.testing.assert_allclose(TruePositives(thresholds)(Y_TRUE_T, Y_PRED_T), [6, 3, 1])
    np.testing.assert_allclose(FalsePositives(thresholds)(Y_TRUE_T, Y_PRED_T), [7, 4, 2])
    np.testing.assert_allclose(TrueNegatives(thresholds)(Y_TRUE_T, Y_PRED_T), [2, 5, 7])
    np.testing.assert_allclose(FalseNegatives(thresholds)(Y_TRUE_T, Y_PRED_T), [1, 4, 6])
    full = (
        (1.0, 2.0, 3.0, 5.0),
        (7.0, 11.0, 13.0, 17.0),
        (19.0, 23.0, 29.0, 31.0),
        (5.0, 15.0, 10.0, 0),
    )
    np.testing.assert_allclose(
        FalsePositives(thresholds)(Y_TRUE_T, Y_PRED_T, sample_weight=full), [125, 42, 12]
    )
    per_sample = ((3.0,), (5.0,), (7.0,), (4.0,))
    np.testing.assert_allclose(
        FalseNegatives(thresholds)(Y_TRUE_T, Y_PRED_T, sample_weight=per_sample), [4, 16, 23]
    )
    per_column = ((0.0, 2.0, 3.0, 5.0),)
    np.testing.assert_allclose(
        TrueNegatives(thresholds)(Y_TRUE_T, Y_PRED_T, sample_weight=per_column), [5, 15, 23]
    )
    np.testing.assert_allclose(
        TruePositives(thresholds)(Y_TRUE_T, Y_PRED_T, sample_weight=37.0), [222, 111, 37]
    )


def test_thresholds_outside_unit_interval_are_rejected():
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]"):
        FalsePositives(thresholds=[-1, 0.5, 2])


def test_precision_and_recall_keras_examples():
    p = Precision()
    np.testing.assert_allclose(p([0, 1, 1, 1], [1, 0, 1, 1]), 2 / 3, **TOL)
    p.reset_state()
    np.testing.assert_allclose(p([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0]), 1.0)
    assert Precision(top_k=2)([0, 0, 1, 1], [1, 1, 1, 1]) == 0.0
    assert Precision(top_k=4)([0, 0, 1, 1], [1, 1, 1, 1]) == 0.5

    r = Recall()
    np.testing.assert_allclose(r([0, 1, 1, 1], [1, 0, 1, 1]), 2 / 3, **TOL)
    r.reset_state()
    np.testing.assert_allclose(r([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0]), 1.0)


def test_precision_recall_weighted_and_zero_division():
    y_pred = np.array([[1, 0, 1, 0], [1, 0, 1, 0]])
    y_true = np.array([[0, 1, 1, 0], [1, 0, 0, 1]])
    weights = np.array([[1, 2, 3, 4], [4, 3, 2, 1]])
    np.testing.assert_allclose(Precision()(y_true, y_pred, sample_weight=weights), 7 / 10, **TOL)
    y_pred = np.array([[1, 0, 1, 0], [0, 1, 0, 1]])
    np.testing.assert_allclose(Recall()(y_true, y_pred, sample_weight=weights), 4 / 10, **TOL)
    assert Precision()([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0
    assert Recall()([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0


def test_precision_recall_several_thresholds():
    y_true = np.array([[0, 1], [1, 0]])
    y_pred = np.array([[1, 0], [0.6, 0]], dtype="float32")
    p = Precision(thresholds=[0.5, 1.0])
    for _ in range(2):
        p.update_state(y_true, y_pred, sample_weight=np.array([[4, 0], [3, 1]], "float32"))
    np.testing.assert_allclose(p.result(), [3 / 7, 0.0], **TOL)
    r = Recall(thresholds=[0.5, 1.0])
    np.testing.assert_allclose(
        r(y_true, y_pred, sample_weight=np.array([[1, 4], [3, 2]], "float32")), [3 / 7, 0.0], **TOL
    )


def test_precision_recall_top_k():
    y_pred = np.array([0.2, 0.1, 0.5, 0, 0.2])
    y_true = np.array([0, 1, 1, 0, 0])
    # Top 3 are indices 2, 0 and 4 (ties go to the lower index first).
    np.testing.assert_allclose(Precision(top_k=3)(y_true, y_pred), 1 / 3, **TOL)
    np.testing.assert_allclose(Recall(top_k=3)(y_true, y_pred), 0.5, **TOL)

    p, r = Precision(top_k=3), Recall(top_k=3)
    for m in (p, r):
        m(
            np.array([[0, 1, 1, 0, 1]]),
            np.array([[0.2, 0.1, 0.4, 0, 0.2]]),
            sample_weight=np.array([[1, 4, 2, 3, 5]]),
        )
        m(np.array([1, 0, 1, 1, 1]), np.array([0.2, 0.6, 0.4, 0.2, 0.2]), sample_weight=np.array(3))
    np.testing.assert_allclose(p.result(), 13 / 17, **TOL)
    np.testing.assert_allclose(r.result(), 13 / 23, **TOL)

    p = Precision(thresholds=0.7, top_k=2)
    np.testing.assert_allclose(p([0, 1, 1, 0, 1], [0.2, 0.8, 0.6, 0, 0.2]), 1.0)
    assert (float(p.true_positives.value[0]), float(p.false_positives.value[0])) == (1.0, 0.0)
    r = Recall(thresholds=0.7, top_k=2)
    np.testing.assert_allclose(r([1, 1, 1, 0, 1], [0.2, 0.8, 0.6, 0, 0.2]), 0.25)
    assert (float(r.true_positives.value[0]), float(r.false_negatives.value[0])) == (1.0, 3.0)


def test_precision_recall_class_id():
    y_pred = np.array(
        [[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]
    )
    y_true = np.eye(3)[[2, 0, 1, 0, 2]]
    p = Precision(class_id=1)
    assert p(y_true, y_pred) == 1.0
    assert (float(p.true_positives.value[0]), float(p.false_positives.value[0])) == (1.0, 0.0)
    # Class 0: predicted positive for rows 1 and 3 (both right), missed none.
    assert Precision(class_id=0)(y_true, y_pred) == 1.0
    # Class 2 at threshold 0.75: only row 4 passes; rows 0 and 4 are positive.
    assert Recall(class_id=2, thresholds=0.75)(y_true, y_pred) == 0.5
    # top_k=1 with class_id: class 1 tops row 2 only, which is right.
    assert Precision(class_id=1, top_k=1)(y_true, y_pred) == 1.0
    with pytest.raises(ValueError, match="class_id is provided"):
        Precision(class_id=2)([0, 1, 1, 0, 0], [0.2, 0.1, 0.6, 0, 0.2])


# ---------------------------------------------------------------------------------------------
# AUC

AUC_TRUE = np.array([0, 0, 1, 1])
AUC_PRED = np.array([0, 0.5, 0.3, 0.9], dtype="float32")
AUC_WEIGHTS = [1, 2, 3, 4]


def test_auc_keras_examples():
    m = AUC(num_thresholds=3)
    np.testing.assert_allclose(m(AUC_TRUE, AUC_PRED), 0.75, **TOL)
    m.reset_state()
    np.testing.assert_allclose(m(AUC_TRUE, AUC_PRED, sample_weight=[1, 0, 0, 1]), 1.0, **TOL)
    assert AUC()(AUC_TRUE, AUC_TRUE) == 1.0


@pytest.mark.parametrize(
    ("curve", "method", "expected"),
    [
        ("ROC", "interpolation", (1 + 4 / 7) / 2),
        ("ROC", "majoring", 1.0),
        ("ROC", "minoring", 4 / 7),
        ("PR", "majoring", 1.0),
        ("PR", "minoring", 0.7 * 3 / 7),
        # Davis & Goadrich: tp = [7, 4, 0], P = [10, 4, 0] -> 0.5 * (3 + 2 log 2.5) / 7 + 4 / 7.
        ("PR", "interpolation", (0.5 * (3 + 2 * np.log(2.5)) + 4) / 7),
    ],
)
def test_auc_weighted_curves_and_summations(curve, method, expected):
    m = AUC(num_thresholds=3, curve=curve, summation_method=method)
    np.testing.assert_allclose(
        m(AUC_TRUE, AUC_PRED, sample_weight=AUC_WEIGHTS), expected, rtol=1e-5
    )


def test_auc_from_logits_and_manual_thresholds():
    logits = -np.log(1.0 / (AUC_PRED.astype(np.float64) + 1e-12) - 1.0)
    np.testing.assert_allclose(
        AUC(num_thresholds=3, from_logits=True)(AUC_TRUE, logits), 0.75, **TOL
    )
    m = AUC(num_thresholds=2, thresholds=[0.5])
    assert m.num_thresholds == 3
    np.testing.assert_allclose(m.thresholds, [0.0, 0.5, 1.0], atol=1e-6)
    np.testing.assert_allclose(m(AUC_TRUE, AUC_PRED), 0.75, **TOL)


def test_auc_negative_weights_give_zero_pr_auc():
    m = AUC(num_thresholds=3, curve="PR")
    np.testing.assert_allclose(m(AUC_TRUE, AUC_PRED, sample_weight=[-1, -2, -3, -4]), 0.0)


def _hand_counts(y_true, y_pred, thresholds):
    tp = np.array([np.sum((y_pred > t) & (y_true == 1)) for t in thresholds], float)
    fp = np.array([np.sum((y_pred > t) & (y_true == 0)) for t in thresholds], float)
    return tp, fp, np.sum(y_true == 1) - tp, np.sum(y_true == 0) - fp


def test_auc_roc_and_pr_against_hand_computation():
    y_true = np.array([0, 1, 1, 0, 1, 0, 1])
    y_pred = np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.95])
    cuts = [0.25, 0.5, 0.75]
    tp, fp, fn, tn = _hand_counts(y_true, y_pred, [-1e-7, *cuts, 1 + 1e-7])
    tpr, fpr = tp / (tp + fn), fp / (fp + tn)
    roc = np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2)
    np.testing.assert_allclose(AUC(thresholds=cuts)(y_true, y_pred), roc, **TOL)

    # PR interpolation, written out interval by interval.
    pr = 0.0
    for a in range(len(tp) - 1):
        d_tp, p_a, p_b = tp[a] - tp[a + 1], tp[a] + fp[a], tp[a + 1] + fp[a + 1]
        if p_a - p_b <= 0:
            continue
        slope = d_tp / (p_a - p_b)
        intercept = tp[a + 1] - slope * p_b
        log_term = np.log(p_a / p_b) if p_a > 0 and p_b > 0 else 0.0
        pr += slope * (d_tp + intercept * log_term) / (tp[a + 1] + fn[a + 1])
    np.testing.assert_allclose(AUC(thresholds=cuts, curve="PR")(y_true, y_pred), pr, rtol=1e-5)


def test_auc_default_thresholds_approximate_the_exact_roc_auc():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, 2000)
    y_pred = np.clip(0.5 + 0.25 * (y_true - 0.5) + 0.2 * rng.standard_normal(2000), 0, 1)
    pos, neg = y_pred[y_true == 1], y_pred[y_true == 0]
    exact = np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))
    np.testing.assert_allclose(AUC()(y_true, y_pred), exact, atol=2e-3)


@pytest.mark.parametrize("thresholds", [np.linspace(0, 1, 11).tolist(), [0.05, 0.33, 0.9]])
def test_counts_match_brute_force_for_even_and_uneven_thresholds(thresholds):
    rng = np.random.default_rng(7)
    y_true = rng.integers(0, 2, (40, 3))
    # Keep predictions away from the thresholds, where float rounding may decide.
    y_pred = rng.random((40, 3)) * 0.999 + 0.0005
    y_pred[np.abs(y_pred[..., None] - np.array(thresholds)).min(-1) < 1e-4] = 0.5001
    weights = rng.random(40)
    tp = np.array([np.sum(((y_pred > t) & (y_true == 1)) * weights[:, None]) for t in thresholds])
    fp = np.array([np.sum(((y_pred > t) & (y_true == 0)) * weights[:, None]) for t in thresholds])
    got_tp = TruePositives(thresholds)(y_true, y_pred, sample_weight=weights)
    got_fp = FalsePositives(thresholds)(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(got_tp, tp, rtol=1e-5)
    np.testing.assert_allclose(got_fp, fp, rtol=1e-5)


def test_auc_multi_label():
    y_pred = np.array([[0, 0.5, 0.3, 0.9], [0.1, 0.2, 0.3, 0.4]], dtype="float32").T
    y_true = np.array([[0, 0, 1, 1], [0, 0, 1, 1]]).T
    np.testing.assert_allclose(
        AUC(num_thresholds=5, multi_label=True)(y_true, y_pred), (0.875 + 1.0) / 2, rtol=1e-5
    )
    np.testing.assert_allclose(
        AUC(num_thresholds=5, multi_label=True, label_weights=[0.75, 0.25])(y_true, y_pred),
        0.875 * 0.75 + 0.25,
        rtol=1e-5,
    )
    np.testing.assert_allclose(AUC(num_thresholds=5)(y_true, y_pred), 1.0 - 3.0 / 32.0, rtol=1e-5)
    np.testing.assert_allclose(
        AUC(num_thresholds=5)(y_true, y_pred, sample_weight=[1, 2, 3, 4]),
        1.0 - (1 / 3) * (1.0 - 2 / 7) / 2.0,
        rtol=1e-5,
    )
    m = AUC(multi_label=True, num_labels=2)
    assert m.variables[0].shape == (200, 2)
    with pytest.raises(ValueError, match="rank 2"):
        AUC(multi_label=True)(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))


def test_auc_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_thresholds"):
        AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        AUC(curve="Invalid")
    with pytest.raises(ValueError, match="summation method"):
        AUC(summation_method="Invalid")


# ---------------------------------------------------------------------------------------------
# F-scores

F_TRUE = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 0, 0], [0, 0, 1]])
F_PRED = np.array(
    [[0.9, 0.1, 0], [0.2, 0.6, 0.2], [0, 0, 1], [0.4, 0.3, 0.3], [0, 0.9, 0.1], [0, 0, 1]]
)


def test_f1_and_fbeta_keras_examples():
    y_true = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.int32)
    y_pred = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32)
    np.testing.assert_allclose(
        F1Score(threshold=0.5)(y_true, y_pred), [0.5, 0.8, 0.6666667], atol=1e-6
    )
    np.testing.assert_allclose(
        FBetaScore(beta=2.0, threshold=0.5)(y_true, y_pred),
        [0.3846154, 0.90909094, 0.8333334],
        atol=1e-6,
    )


@pytest.mark.parametrize(
    ("average", "beta", "expected"),
    [
        (None, 0.5, [0.9090904, 0.555556, 1.0]),
        (None, 1.0, [0.8, 0.6666667, 1.0]),
        ("micro", 1.0, 0.833334),
        ("macro", 0.5, 0.821549),
        ("macro", 1.0, 0.822222),
        ("weighted", 1.0, 0.844445),
        ("weighted", 2.0, 0.829365),
    ],
)
def test_fbeta_averages_with_argmax(average, beta, expected):
    result = FBetaScore(average=average, beta=beta)(F_TRUE, F_PRED)
    np.testing.assert_allclose(result, expected, atol=1e-5)
    assert isinstance(result, np.ndarray) if average is None else isinstance(result, float)


@pytest.mark.parametrize(
    ("average", "weights", "expected"),
    [
        (None, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], [0.857143, 0.8, 1.0]),
        ("micro", [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.9),
        ("macro", [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 0.666667),
        ("weighted", [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.902857),
    ],
)
def test_f1_sample_weights(average, weights, expected):
    np.testing.assert_allclose(
        F1Score(average=average)(F_TRUE, F_PRED, sample_weight=weights), expected, atol=1e-5
    )


def test_f1_threshold_averages_by_hand():
    y_pred = [[0.7, 0.7, 0.7], [1, 0, 0], [0.9, 0.8, 0]]
    y_true = [[0, 0, 1], [1, 1, 0], [1, 1, 1]]
    # Thresholded at 0.66: tp = [2, 1, 1], fp = [1, 1, 0], fn = [0, 1, 1].
    per_class = np.array([2 * 2 / (2 * 2 + 1 + 0), 2 * 1 / (2 + 1 + 1), 2 * 1 / (2 + 0 + 1)])
    np.testing.assert_allclose(F1Score(threshold=0.66)(y_true, y_pred), per_class, atol=1e-5)
    np.testing.assert_allclose(
        F1Score(average="macro", threshold=0.66)(y_true, y_pred), per_class.mean(), atol=1e-5
    )
    np.testing.assert_allclose(
        F1Score(average="micro", threshold=0.66)(y_true, y_pred),
        2 * 4 / (2 * 4 + 2 + 2),
        atol=1e-5,
    )
    support = np.array([2, 2, 2])
    np.testing.assert_allclose(
        F1Score(average="weighted", threshold=0.66)(y_true, y_pred),
        np.sum(per_class * support) / support.sum(),
        atol=1e-5,
    )


def test_fbeta_validation_and_reset():
    with pytest.raises(ValueError, match="average"):
        FBetaScore(average="invalid")
    with pytest.raises(ValueError, match="beta"):
        FBetaScore(beta=1)
    with pytest.raises(ValueError, match="threshold"):
        FBetaScore(threshold=1.1)
    with pytest.raises(ValueError, match="2D inputs"):
        FBetaScore()(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)))
    m = F1Score(average="macro")
    m.reset_state()
    m.update_state(F_TRUE, F_PRED)
    assert [v.name for v in m.variables] == [
        "true_positives",
        "false_positives",
        "false_negatives",
        "intermediate_weights",
    ]
    m.reset_state()
    assert all(not v.value.any() for v in m.variables)


# ---------------------------------------------------------------------------------------------
# Regression metrics

REG_TRUE = [[0, 1], [0, 0]]
REG_PRED = [[1, 1], [0, 0]]


@pytest.mark.parametrize(
    ("metric", "plain", "weighted"),
    [
        (MeanSquaredError, 0.25, 0.5),
        (MeanAbsoluteError, 0.25, 0.5),
        (MeanAbsolutePercentageError, 250000000.0, 500000000.0),
        (RootMeanSquaredError, 0.5, 0.70710677),
        (MeanSquaredLogarithmicError, 0.12011322, 0.24022643),
        (LogCoshError, 0.10844523, 0.21689045),
        (Poisson, 0.49999997, 0.99999994),
    ],
)
def test_regression_metrics_keras_examples(metric, plain, weighted):
    m = metric()
    np.testing.assert_allclose(m(REG_TRUE, REG_PRED), plain, rtol=1e-6)
    m.reset_state()
    np.testing.assert_allclose(m(REG_TRUE, REG_PRED, sample_weight=[1, 0]), weighted, rtol=1e-6)


def test_cosine_similarity_keras_example():
    y_true, y_pred = [[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]
    np.testing.assert_allclose(CosineSimilarity(axis=1)(y_true, y_pred), 0.5, atol=1e-6)
    np.testing.assert_allclose(
        CosineSimilarity(axis=1)(y_true, y_pred, sample_weight=[0.3, 0.7]), 0.7, atol=1e-6
    )


def test_r2_score_keras_example_and_hand_formula():
    m = R2Score()
    np.testing.assert_allclose(
        m(np.array([[1], [4], [3]]), np.array([[2], [4], [4]])), 4 / 7, rtol=1e-6
    )

    rng = np.random.default_rng(1)
    y_true = rng.standard_normal((50, 3)) * [1.0, 2.0, 3.0]
    y_pred = y_true + rng.standard_normal((50, 3)) * 0.5
    ss_res = np.sum((y_true - y_pred) ** 2, axis=0)
    ss_tot = np.sum((y_true - y_true.mean(axis=0)) ** 2, axis=0)
    raw = 1 - ss_res / ss_tot
    np.testing.assert_allclose(R2Score(class_aggregation=None)(y_true, y_pred), raw, rtol=1e-5)
    np.testing.assert_allclose(R2Score()(y_true, y_pred), raw.mean(), rtol=1e-5)
    np.testing.assert_allclose(
        R2Score(class_aggregation="variance_weighted_average")(y_true, y_pred),
        np.sum(raw * ss_tot) / ss_tot.sum(),
        rtol=1e-5,
    )
    # Adjusted R2 counts every entry as a sample, as Keras does (n = 150).
    n, p = y_true.size, 4
    np.testing.assert_allclose(
        R2Score(num_regressors=p)(y_true, y_pred),
        1 - (1 - raw.mean()) * (n - 1) / (n - p - 1),
        rtol=1e-5,
    )


def test_r2_score_sample_weights_match_repeated_samples():
    y_true = np.array([[1.0], [4.0], [3.0], [2.0]])
    y_pred = np.array([[2.0], [4.0], [4.0], [1.0]])
    weighted = R2Score()(y_true, y_pred, sample_weight=[1, 2, 1, 3])
    repeated = np.repeat(np.arange(4), [1, 2, 1, 3])
    np.testing.assert_allclose(weighted, R2Score()(y_true[repeated], y_pred[repeated]), rtol=1e-5)


def test_r2_score_adjusted_falls_back_with_a_warning():
    with pytest.warns(UserWarning, match="predictors"):
        result = R2Score(num_regressors=10)(np.array([[1], [4], [3]]), np.array([[2], [4], [4]]))
    np.testing.assert_allclose(result, 4 / 7, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Probabilistic metrics


@pytest.mark.parametrize(
    ("metric", "y_true", "y_pred", "plain", "weighted"),
    [
        (BinaryCrossentropy, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], 0.81492424, 0.9162905),
        (
            CategoricalCrossentropy,
            [[0, 1, 0], [0, 0, 1]],
            [[0.05, 0.95, 0], [0.1, 0.8, 0.1]],
            1.1769392,
            1.6271976,
        ),
        (
            SparseCategoricalCrossentropy,
            [1, 2],
            [[0.05, 0.95, 0], [0.1, 0.8, 0.1]],
            1.1769392,
            1.6271976,
        ),
        (KLDivergence, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], 0.45814306, 0.9162892),
    ],
)
def test_probabilistic_metrics_keras_examples(metric, y_true, y_pred, plain, weighted):
    m = metric()
    np.testing.assert_allclose(m(y_true, y_pred), plain, rtol=1e-5)
    m.reset_state()
    weights = [1, 0] if metric in (BinaryCrossentropy, KLDivergence) else np.array([0.3, 0.7])
    np.testing.assert_allclose(m(y_true, y_pred, sample_weight=weights), weighted, rtol=1e-5)


def test_crossentropy_logits_match_probabilities():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((6, 4))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = rng.integers(0, 4, 6)
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(
        metrics.categorical_crossentropy(onehot, logits, from_logits=True),
        metrics.categorical_crossentropy(onehot, probs),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        metrics.sparse_categorical_crossentropy(labels, logits, from_logits=True),
        metrics.categorical_crossentropy(onehot, probs),
        rtol=1e-6,
    )
    x = rng.standard_normal((6, 1))
    y = rng.integers(0, 2, (6, 1))
    np.testing.assert_allclose(
        metrics.binary_crossentropy(y, x, from_logits=True),
        metrics.binary_crossentropy(y, 1 / (1 + np.exp(-x))),
        rtol=1e-6,
    )


def test_crossentropy_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((8, 5)).astype(np.float32)
    labels = rng.integers(0, 5, 8)
    expected = torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels))
    m = SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(m(labels, logits), float(expected), rtol=1e-5)
    x = rng.standard_normal((8, 1)).astype(np.float32) * 5
    y = rng.integers(0, 2, (8, 1)).astype(np.float32)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.from_numpy(x), torch.from_numpy(y)
    )
    np.testing.assert_allclose(
        BinaryCrossentropy(from_logits=True)(y, x), float(expected), rtol=1e-5
    )


def test_crossentropy_shape_errors_are_clear():
    with pytest.raises(ValueError, match="same shape"):
        metrics.categorical_crossentropy([1, 2], [[0.1, 0.9], [0.5, 0.5]])
    with pytest.raises(ValueError, match="labels must lie"):
        metrics.sparse_categorical_crossentropy([3], [[0.1, 0.9]])


def test_label_smoothing():
    y = [[0.0, 1.0]]
    p = [[0.2, 0.8]]
    # Both forms smooth [0, 1] to [0.1, 0.9]: towards 0.5, and towards the uniform 1/2.
    smoothed = [[0.1, 0.9]]
    np.testing.assert_allclose(
        metrics.binary_crossentropy(y, p, label_smoothing=0.2),
        metrics.binary_crossentropy(smoothed, p),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        metrics.categorical_crossentropy(y, p, label_smoothing=0.2),
        metrics.categorical_crossentropy(smoothed, p),
        rtol=1e-6,
    )


# ---------------------------------------------------------------------------------------------
# Several batches equal one batch of everything


def _batches(rng, n=60, classes=4):
    y_true = np.eye(classes)[rng.integers(0, classes, n)]
    y_pred = rng.random((n, classes)).astype(np.float32)
    y_pred /= y_pred.sum(-1, keepdims=True)
    weights = rng.random(n).astype(np.float32)
    return y_true, y_pred, weights


@pytest.mark.parametrize(
    "factory",
    [
        CategoricalAccuracy,
        lambda: TopKCategoricalAccuracy(k=2),
        CategoricalCrossentropy,
        MeanSquaredError,
        RootMeanSquaredError,
        MeanAbsoluteError,
        lambda: Precision(thresholds=[0.1, 0.3, 0.5]),
        lambda: Recall(top_k=2),
        lambda: Precision(class_id=1),
        AUC,
        lambda: AUC(curve="PR"),
        lambda: AUC(multi_label=True),
        lambda: F1Score(average="macro"),
        lambda: FBetaScore(average=None, beta=2.0, threshold=0.3),
        lambda: R2Score(class_aggregation=None),
    ],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_batched_updates_equal_one_update(factory, weighted):
    rng = np.random.default_rng(4)
    y_true, y_pred, weights = _batches(rng)
    whole, batched = factory(), factory()
    whole.update_state(y_true, y_pred, sample_weight=weights if weighted else None)
    for i in range(0, len(y_true), 16):
        sl = slice(i, i + 16)
        batched.update_state(
            y_true[sl], y_pred[sl], sample_weight=weights[sl] if weighted else None
        )
    np.testing.assert_allclose(batched.result(), whole.result(), rtol=1e-5, atol=1e-6)


def test_large_auc_update_is_vectorised():
    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 2, 200_000)
    y_pred = rng.random(200_000)
    m = AUC(num_thresholds=1000)
    m.update_state(y_true, y_pred)
    # A random scorer: 0.5 up to sampling noise.
    assert abs(m.result() - 0.5) < 0.01


# ---------------------------------------------------------------------------------------------
# get, get_metric, serialization


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("accuracy", Accuracy),
        ("binary_accuracy", BinaryAccuracy),
        ("categorical_accuracy", CategoricalAccuracy),
        ("sparse_categorical_accuracy", SparseCategoricalAccuracy),
        ("top_k_categorical_accuracy", TopKCategoricalAccuracy),
        ("sparse_top_k_categorical_accuracy", SparseTopKCategoricalAccuracy),
        ("mse", MeanSquaredError),
        ("mean_squared_error", MeanSquaredError),
        ("mae", MeanAbsoluteError),
        ("mape", MeanAbsolutePercentageError),
        ("root_mean_squared_error", RootMeanSquaredError),
        ("auc", AUC),
        ("precision", Precision),
        ("recall", Recall),
        ("f1_score", F1Score),
        ("r2_score", R2Score),
        ("binary_crossentropy", BinaryCrossentropy),
        ("bce", BinaryCrossentropy),
        ("categorical_crossentropy", CategoricalCrossentropy),
        ("sparse_categorical_crossentropy", SparseCategoricalCrossentropy),
        ("Precision", Precision),
        ("MeanSquaredError", MeanSquaredError),
    ],
)
def test_get_by_name(name, cls):
    metric = metrics.get(name)
    assert type(metric) is cls


def test_get_other_identifiers():
    assert metrics.get(None) is None
    instance = Precision()
    assert metrics.get(instance) is instance
    assert isinstance(metrics.get(Recall), Recall)
    assert metrics.get(metrics.binary_accuracy) is metrics.binary_accuracy
    auc = metrics.get({"class_name": "AUC", "config": {"num_thresholds": 7, "curve": "PR"}})
    assert (auc.num_thresholds, auc.curve) == (7, "PR")
    with pytest.raises(ValueError, match="Unknown metric 'nope'"):
        metrics.get("nope")
    with pytest.raises(ValueError, match="Could not interpret"):
        metrics.get(3)


@pytest.mark.parametrize("alias", ["accuracy", "acc", "Accuracy"])
@pytest.mark.parametrize(
    ("true_shape", "pred_shape", "cls"),
    [
        ((8, 1), (8, 1), BinaryAccuracy),
        ((8,), (8, 1), BinaryAccuracy),
        ((8,), (8, 5), SparseCategoricalAccuracy),
        ((8, 1), (8, 5), SparseCategoricalAccuracy),
        ((8, 5), (8, 5), CategoricalAccuracy),
    ],
)
def test_get_metric_resolves_accuracy_by_shapes(alias, true_shape, pred_shape, cls):
    metric = metrics.get_metric(alias, np.zeros(true_shape), np.zeros(pred_shape))
    assert type(metric) is cls
    assert metric.name == alias


@pytest.mark.parametrize(
    ("true_shape", "pred_shape", "cls"),
    [
        ((8, 1), (8, 1), BinaryCrossentropy),
        ((8,), (8, 5), SparseCategoricalCrossentropy),
        ((8, 5), (8, 5), CategoricalCrossentropy),
    ],
)
@pytest.mark.parametrize("alias", ["crossentropy", "ce"])
def test_get_metric_resolves_crossentropy_by_shapes(alias, true_shape, pred_shape, cls):
    metric = metrics.get_metric(alias, np.zeros(true_shape), Tensor(np.zeros(pred_shape)))
    assert type(metric) is cls
    assert metric.name == alias


def test_get_metric_resolved_accuracy_computes_the_right_thing():
    y_true = np.array([0, 2, 1])
    y_pred = np.array([[0.8, 0.1, 0.1], [0.2, 0.2, 0.6], [0.5, 0.3, 0.2]], np.float32)
    metric = metrics.get_metric("accuracy", y_true, y_pred)
    np.testing.assert_allclose(metric(y_true, y_pred), 2 / 3, **TOL)


def test_get_metric_names_and_freshness():
    y_true, y_pred = np.zeros((4, 1)), np.zeros((4, 1))
    mse = metrics.get_metric("mse", y_true, y_pred)
    assert type(mse) is MeanSquaredError and mse.name == "mse"
    assert metrics.get_metric("mse", y_true, y_pred) is not mse
    assert metrics.get_metric(AUC, y_true, y_pred).name.startswith("auc")
    instance = Precision(name="my_precision")
    assert metrics.get_metric(instance, y_true, y_pred) is instance
    assert instance.name == "my_precision"

    def my_error(y_true, y_pred):
        return np.abs(y_true - y_pred).mean(axis=-1)

    wrapped = metrics.get_metric(my_error, y_true, y_pred)
    assert isinstance(wrapped, MeanMetricWrapper) and wrapped.name == "my_error"
    np.testing.assert_allclose(wrapped([[1.0], [3.0]], [[0.0], [0.0]]), 2.0)
    fn_metric = metrics.get_metric(metrics.binary_accuracy, y_true, y_pred)
    assert isinstance(fn_metric, MeanMetricWrapper) and fn_metric.name == "binary_accuracy"
    with pytest.raises(ValueError, match="None"):
        metrics.get_metric(None, y_true, y_pred)


ROUND_TRIP = [
    Mean(name="m"),
    Sum(),
    Accuracy(),
    BinaryAccuracy(threshold=0.3),
    CategoricalAccuracy(),
    SparseCategoricalAccuracy(name="acc"),
    TopKCategoricalAccuracy(k=3),
    SparseTopKCategoricalAccuracy(k=2),
    TruePositives(thresholds=[0.2, 0.6]),
    Precision(thresholds=[0.4, 0.9], top_k=3, class_id=1, name="p"),
    Recall(top_k=2),
    AUC(num_thresholds=50, curve="PR", summation_method="majoring", from_logits=True),
    AUC(thresholds=[0.3, 0.5], multi_label=True, num_labels=2, label_weights=[0.2, 0.8]),
    F1Score(average="weighted", threshold=0.4),
    FBetaScore(average="micro", beta=0.5),
    MeanSquaredError(),
    RootMeanSquaredError(),
    MeanAbsoluteError(),
    MeanAbsolutePercentageError(),
    MeanSquaredLogarithmicError(),
    CosineSimilarity(axis=1),
    LogCoshError(),
    R2Score(class_aggregation=None, num_regressors=2),
    BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    CategoricalCrossentropy(label_smoothing=0.2, axis=-1),
    SparseCategoricalCrossentropy(from_logits=True),
    KLDivergence(),
    Poisson(),
    MeanMetricWrapper(metrics.top_k_categorical_accuracy, name="top2", k=2),
]


@pytest.mark.parametrize("metric", ROUND_TRIP, ids=lambda m: m.name)
def test_config_round_trip(metric):
    config = metric.get_config()
    assert json.loads(json.dumps(config)) == config
    clone = type(metric).from_config(config)
    assert clone.get_config() == config
    rebuilt = metrics.deserialize(json.loads(json.dumps(metrics.serialize(metric))))
    assert type(rebuilt) is type(metric)
    assert rebuilt.get_config() == config


def test_round_tripped_metrics_compute_the_same():
    rng = np.random.default_rng(6)
    y_true, y_pred, weights = _batches(rng, n=20, classes=2)
    for metric in (
        AUC(thresholds=[0.3, 0.5], multi_label=True, label_weights=[0.2, 0.8]),
        Precision(thresholds=[0.4, 0.9], top_k=1),
        MeanMetricWrapper(metrics.top_k_categorical_accuracy, name="top1", k=1),
    ):
        clone = metrics.deserialize(metrics.serialize(metric))
        np.testing.assert_allclose(
            clone(y_true, y_pred, sample_weight=weights),
            metric(y_true, y_pred, sample_weight=weights),
            **TOL,
        )


def test_results_are_python_floats_in_float32_precision():
    result = Precision()([0, 1, 1], [1, 1, 1])
    assert type(result) is float
    assert result == float(np.float32(2 / 3))
    # float64 arrays and a float64 metric keep full precision end to end.
    y_pred = np.array([[1.0 / 3]])
    result = MeanSquaredError(dtype="float64")(np.zeros((1, 1)), y_pred)
    assert result == pytest.approx(1 / 9, rel=1e-12)
