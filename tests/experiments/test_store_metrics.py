"""Metrics: batched inserts, summaries (final and best, direction-aware), reads, rewind, filters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlalchemy import and_, func, select

from experiments.store import MetricRow, Store, arrays_to_npz, metric_direction
from experiments.store.fields import has_tag, metric_value, param_value, run_field, tag_value
from experiments.store.models import Metric


def _epochs(store: Store, run_id: int, **curves: list[float]) -> None:
    rows = [
        MetricRow(key, value, epoch=epoch, step=epoch * 10, kind="epoch")
        for key, values in curves.items()
        for epoch, value in enumerate(values, start=1)
    ]
    store.log_metrics(run_id, rows)


@pytest.mark.parametrize(
    ("key", "direction"),
    [
        ("loss", "min"),
        ("val_loss", "min"),
        ("mean_absolute_error", "min"),
        ("false_positives", "min"),
        ("learning_rate", "min"),
        ("accuracy", "max"),
        ("val_accuracy", "max"),
        ("sparse_categorical_accuracy", "max"),
        ("val_acc", "max"),
        ("auc", "max"),
        ("precision", "max"),
        ("true_positives", "max"),
        ("f1_score", "max"),
    ],
)
def test_metric_direction(key: str, direction: str) -> None:
    assert metric_direction(key) == direction


def test_summary_tracks_final_and_best_by_direction(store: Store) -> None:
    run_id = store.create_run("demo", {}).id
    _epochs(store, run_id, loss=[0.9, 0.4, 0.6], accuracy=[0.5, 0.8, 0.7])
    _epochs_more = [
        MetricRow("loss", 0.5, epoch=4, step=40, kind="epoch"),
        MetricRow("accuracy", 0.75, epoch=4, step=40, kind="epoch"),
    ]
    store.log_metrics(run_id, _epochs_more)
    summaries = store.metric_summaries(run_id)
    loss, accuracy = summaries["loss"], summaries["accuracy"]
    assert (loss.direction, loss.count) == ("min", 4)
    assert (loss.final_value, loss.final_epoch, loss.final_step) == (0.5, 4, 40)
    assert (loss.best_value, loss.best_epoch, loss.best_step) == (0.4, 2, 20)
    assert (accuracy.direction, accuracy.best_value, accuracy.best_epoch) == ("max", 0.8, 2)
    assert accuracy.final_value == 0.75
    assert store.metric_summaries(run_id, kind="batch") == {}


def test_summary_equals_recomputation_over_random_batches(store: Store) -> None:
    rng = np.random.default_rng(0)
    run_id = store.create_run("demo", {}).id
    values = rng.random(200)
    rows = [
        MetricRow("val_accuracy", float(v), epoch=i // 20 + 1, step=i + 1)
        for i, v in enumerate(values)
    ]
    for start in range(0, 200, 37):
        store.log_metrics(run_id, rows[start : start + 37])
    summary = store.metric_summaries(run_id, kind="batch")["val_accuracy"]
    assert summary.count == 200
    assert summary.best_value == pytest.approx(values.max())
    assert summary.best_step == int(values.argmax()) + 1
    assert summary.final_value == pytest.approx(values[-1]) and summary.final_step == 200


def test_nan_is_stored_as_null_and_never_best(store: Store) -> None:
    run_id = store.create_run("demo", {}).id
    _epochs(store, run_id, loss=[0.5, math.nan])
    summary = store.metric_summaries(run_id)["loss"]
    assert summary.final_value is None and summary.final_epoch == 2
    assert summary.best_value == 0.5
    assert [p.value for p in store.metric_history(run_id)["loss"]] == [0.5, None]


def test_mappings_and_bad_rows(store: Store) -> None:
    run_id = store.create_run("demo", {}).id
    written = store.log_metrics(
        run_id,
        [
            {"key": "loss", "value": np.float32(0.25), "epoch": 1, "step": 3},
            {"key": "loss", "value": 0.5, "epoch": 1, "step": 4, "kind": "epoch", "wall_time": 5.0},
        ],
    )
    assert written == 2
    points = store.metrics_since(run_id)
    assert [(p.kind, p.value) for p in points] == [("batch", 0.25), ("epoch", 0.5)]
    assert points[1].wall_time == 5.0 and points[0].wall_time > 1e9
    with pytest.raises(ValueError, match="lacks 'step'"):
        store.log_metrics(run_id, [{"key": "loss", "value": 1.0, "epoch": 1}])
    with pytest.raises(ValueError, match="metric kind 'step'"):
        store.log_metrics(run_id, [MetricRow("loss", 1.0, 1, 1, kind="step")])  # type: ignore[arg-type]
    assert store.log_metrics(run_id, []) == 0


def test_metrics_since_reads_only_new_rows(store: Store) -> None:
    run_id = store.create_run("demo", {}).id
    other = store.create_run("demo", {}).id
    store.log_metrics(run_id, [MetricRow("loss", 1.0, 1, 1), MetricRow("loss", 0.9, 1, 2)])
    store.log_metrics(other, [MetricRow("loss", 5.0, 1, 1)])
    first = store.metrics_since(run_id)
    assert [p.value for p in first] == [1.0, 0.9]
    store.log_metrics(
        run_id, [MetricRow("loss", 0.8, 1, 3), MetricRow("loss", 0.85, 1, 3, kind="epoch")]
    )
    new = store.metrics_since(run_id, after_id=first[-1].id)
    assert [p.value for p in new] == [0.8, 0.85]
    assert [p.value for p in store.metrics_since(run_id, first[-1].id, kind="epoch")] == [0.85]
    assert [p.value for p in store.metrics_since(run_id, limit=1)] == [1.0]
    assert store.metrics_since(run_id, after_id=new[-1].id) == []


def test_histories_and_epoch_table(store: Store) -> None:
    a = store.create_run("demo", {}).id
    b = store.create_run("demo", {}).id
    _epochs(store, a, loss=[0.9, 0.5], val_loss=[1.0, 0.7])
    _epochs(store, b, loss=[0.8])
    assert store.epoch_history(a) == [
        {"epoch": 1, "loss": 0.9, "val_loss": 1.0},
        {"epoch": 2, "loss": 0.5, "val_loss": 0.7},
    ]
    curves = store.histories([a, b], keys=["loss"])
    assert [p.value for p in curves[a]["loss"]] == [0.9, 0.5]
    assert [p.epoch for p in curves[b]["loss"]] == [1]
    assert set(curves[a]) == {"loss"}
    assert store.metric_keys() == ["loss", "val_loss"]
    assert store.summaries_for([a, b])[b]["loss"].final_value == 0.8
    everything = store.summaries_for()
    assert set(everything) == {a, b} and set(everything[a]) == {"loss", "val_loss"}
    assert set(store.summaries_for(keys=["val_loss"])[a]) == {"val_loss"}


def test_rewind_forgets_later_epochs_and_recomputes(store: Store) -> None:
    run_id = store.create_run("demo", {}).id
    store.claim_run(run_id, "w")
    _epochs(store, run_id, val_loss=[0.9, 0.6, 0.3])
    store.log_metrics(run_id, [MetricRow("loss", 0.1, epoch=3, step=25)])
    for epoch in (1, 2, 3):
        store.save_checkpoint(run_id, epoch, arrays_to_npz([np.zeros(1)]))
    store.rewind_run(run_id, 2)
    summary = store.metric_summaries(run_id)["val_loss"]
    assert (summary.count, summary.final_value, summary.best_value) == (2, 0.6, 0.6)
    assert store.metric_summaries(run_id, kind="batch") == {}
    assert [c.epoch for c in store.list_checkpoints(run_id)] == [1, 2]
    assert store.get_run(run_id).epochs_done == 2
    _epochs_again = [MetricRow("val_loss", 0.4, epoch=3, step=30, kind="epoch")]
    store.log_metrics(run_id, _epochs_again)
    with store._read() as session:
        rows = session.scalar(
            select(func.count()).select_from(Metric).where(Metric.run_id == run_id)
        )
    assert rows == 3
    assert store.metric_summaries(run_id)["val_loss"].best_value == 0.4
    with pytest.raises(ValueError, match="cannot rewind"):
        store.rewind_run(run_id, -1)


def test_leaderboard_and_filter_expressions(store: Store) -> None:
    results = {}
    for i, (batch_size, lr) in enumerate([(32, 1e-3), (64, 1e-3), (64, 1e-2), (128, 1e-2)]):
        spec = {"fit": {"batch_size": batch_size}, "compile": {"optimizer": {"learning_rate": lr}}}
        run = store.create_run("grid" if i else "other", spec)
        _epochs(store, run.id, val_accuracy=[0.5 + i / 10, 0.6 + i / 20], val_loss=[1.0 - i / 10])
        results[run.id] = (batch_size, lr, i)
    store.set_tag(2, "keep")
    top = store.leaderboard("val_accuracy", limit=2)
    assert [(r.id, round(v, 3)) for r, v in top] == [(4, 0.8), (3, 0.7)]
    final = store.leaderboard("val_accuracy", which="final", limit=1)
    assert final[0][0].id == 4 and final[0][1] == pytest.approx(0.75)
    lowest = store.leaderboard("val_loss", limit=1)
    assert lowest[0][0].id == 4
    filtered = store.leaderboard(
        "val_accuracy", where=param_value("fit.batch_size", numeric=True) == 64, limit=20
    )
    assert [r.id for r, _ in filtered] == [3, 2]
    assert [r.id for r, _ in store.leaderboard("val_accuracy", experiment="other")] == [1]

    condition = and_(
        metric_value("val_accuracy", "best") > 0.55,
        param_value("compile.optimizer.learning_rate", numeric=True) == 1e-2,
        run_field("status") == "queued",
    )
    assert [r.id for r in store.list_runs(where=condition)] == [4, 3]
    by_loss = store.list_runs(order_by=[metric_value("val_loss").asc()])
    assert [r.id for r in by_loss] == [4, 3, 2, 1]
    assert [r.id for r in store.list_runs(where=has_tag("keep"))] == [2]
    assert [r.id for r in store.list_runs(where=tag_value("keep") == "")] == [2]
    assert store.count_runs(where=run_field("experiment") == "grid") == 3
    with pytest.raises(ValueError, match="unknown run field 'colour'"):
        run_field("colour")
    with pytest.raises(ValueError, match="unknown metric summary"):
        metric_value("loss", "median")  # type: ignore[arg-type]
