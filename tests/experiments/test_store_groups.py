"""Runs grouped by experiment or sweep: counts, statuses and best metrics from the database."""

from __future__ import annotations

import pytest

from experiments.filters import parse_filter
from experiments.store import MetricRow, Store, group_order
from experiments.store.fields import run_field
from tests.experiments.store_helpers import set_status


def _run(store: Store, experiment: str, curve: list[float], status: str, sweep_id=None) -> int:
    run = store.create_run(experiment, {"fit": {"epochs": 3}}, sweep_id=sweep_id)
    rows = []
    for epoch, accuracy in enumerate(curve, start=1):
        rows += [
            MetricRow("val_accuracy", accuracy, epoch, epoch, "epoch"),
            MetricRow("val_loss", 1 - accuracy, epoch, epoch, "epoch"),
        ]
    if rows:
        store.log_metrics(run.id, rows)
    set_status(store, run.id, status)
    return run.id


@pytest.fixture
def filled(store: Store) -> dict[str, int]:
    sweep = store.create_sweep("cnn", "lr-grid", "grid", {"method": "grid"})
    ids = {
        "a": _run(store, "cnn", [0.5, 0.7, 0.6], "completed", sweep.id),
        "b": _run(store, "cnn", [0.4, 0.8], "completed", sweep.id),
        "c": _run(store, "cnn", [0.3], "failed"),
        "d": _run(store, "mlp", [0.9], "completed"),
        "e": _run(store, "mlp", [], "queued"),
        "sweep": sweep.id,
    }
    return ids


def test_group_by_experiment_counts_statuses_and_best(store: Store, filled) -> None:
    groups = store.group_runs("experiment", metrics=["val_accuracy", "val_loss", "loss"])
    assert [(g.key, g.name, g.runs) for g in groups] == [("cnn", "cnn", 3), ("mlp", "mlp", 2)]
    cnn, mlp = groups
    assert cnn.statuses == {"completed": 2, "failed": 1}
    assert mlp.statuses == {"completed": 1, "queued": 1}
    # Accuracy is best at its largest, loss at its smallest; an unlogged metric is left out.
    assert cnn.best["val_accuracy"] == pytest.approx(0.8)
    assert cnn.best["val_loss"] == pytest.approx(0.2)
    assert "loss" not in cnn.best
    assert mlp.best == {"val_accuracy": pytest.approx(0.9), "val_loss": pytest.approx(0.1)}


def test_group_by_sweep_puts_runs_outside_sweeps_last(store: Store, filled) -> None:
    groups = store.group_runs("sweep", metrics=["val_accuracy"])
    assert [(g.key, g.name, g.runs) for g in groups] == [
        (filled["sweep"], f"sweep #{filled['sweep']} lr-grid", 2),
        (None, "no sweep", 3),
    ]
    assert groups[0].statuses == {"completed": 2}
    assert groups[1].statuses == {"completed": 1, "failed": 1, "queued": 1}
    assert groups[1].best == {"val_accuracy": pytest.approx(0.9)}


def test_groups_follow_the_filter(store: Store, filled) -> None:
    where = parse_filter('status = "completed" and metrics.val_accuracy > 0.65')
    groups = store.group_runs("experiment", where=where, metrics=["val_accuracy"])
    # a ends at 0.6, so only b (cnn) and d (mlp) match.
    assert [(g.name, g.runs, g.statuses) for g in groups] == [
        ("cnn", 1, {"completed": 1}),
        ("mlp", 1, {"completed": 1}),
    ]
    assert groups[0].best == {"val_accuracy": pytest.approx(0.8)}
    assert store.group_runs("experiment", where=run_field("status") == "running") == []


def test_group_order_lists_runs_group_by_group(store: Store, filled) -> None:
    runs = store.list_runs(order_by=[*group_order("sweep"), run_field("id").asc()])
    assert [r.id for r in runs] == [filled["a"], filled["b"], filled["c"], filled["d"], filled["e"]]
    runs = store.list_runs(order_by=[*group_order("experiment"), run_field("id").desc()])
    assert [r.experiment for r in runs] == ["cnn"] * 3 + ["mlp"] * 2
    assert [r.id for r in runs][:3] == [filled["c"], filled["b"], filled["a"]]


def test_unknown_grouping_is_one_clear_error(store: Store) -> None:
    with pytest.raises(ValueError, match="cannot group runs by 'tag'"):
        store.group_runs("tag")  # type: ignore[arg-type]


def test_checkpoint_state_is_the_newest_without_bytes(store: Store) -> None:
    run = store.create_run("cnn", {"fit": {"epochs": 2}})
    assert store.checkpoint_state(run.id) is None
    store.save_checkpoint(run.id, 1, b"x", state={"epoch": 1, "input_shapes": [[4]]})
    store.save_checkpoint(run.id, 2, b"y", state={"epoch": 2, "input_shapes": [[4]]})
    assert store.checkpoint_state(run.id) == {"epoch": 2, "input_shapes": [[4]]}
