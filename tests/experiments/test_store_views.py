"""The SQL views return what the tables hold, and the README's example queries work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from experiments.store import MetricRow, Store

README = Path(__file__).resolve().parents[2] / "README.md"

# (experiment, optimizer spec, learning rate, batch size, val_accuracy curve, status)
RUNS = [
    ("cnn", {"type": "adam", "learning_rate": 1e-3}, 1e-3, 32, [0.5, 0.7, 0.65], "completed"),
    ("cnn", {"type": "sgd", "learning_rate": 1e-2}, 1e-2, 64, [0.4, 0.8], "completed"),
    ("cnn", "rmsprop", None, 64, [0.3], "failed"),
    ("mlp", {"type": "adam", "learning_rate": 1e-3}, 1e-3, 128, [0.6, 0.9], "completed"),
    ("mlp", {"type": "adam", "learning_rate": 1e-2}, 1e-2, 128, [], "queued"),
]


def _fill(store: Store) -> None:
    for experiment, optimizer, _, batch_size, curve, status in RUNS:
        spec = {
            "data": {"name": "shapes"},
            "compile": {"optimizer": optimizer, "loss": "categorical_crossentropy"},
            "fit": {"epochs": len(curve) or 3, "batch_size": batch_size},
        }
        run = store.create_run(experiment, spec, epochs_total=len(curve))
        rows = []
        for epoch, accuracy in enumerate(curve, start=1):
            rows += [
                MetricRow("loss", 1.0 / epoch, epoch, epoch * 8, "epoch"),
                MetricRow("val_loss", 1.2 - accuracy, epoch, epoch * 8, "epoch"),
                MetricRow("val_accuracy", accuracy, epoch, epoch * 8, "epoch"),
                MetricRow("loss", 1.1 / epoch, epoch, epoch * 8 - 1, "batch"),
            ]
        store.log_metrics(run.id, rows)
        if status != "queued":
            store.claim_run(run.id, "w")
            if status == "completed":
                store.mark_completed(run.id)
            else:
                store.mark_failed(run.id, "boom")


def _readme_queries() -> list[str]:
    text = README.read_text()
    section = text.split("## Querying results with SQL", 1)[1].split("\n## ", 1)[0]
    queries = re.findall(r"```sql\n(.*?)```", section, flags=re.S)
    assert len(queries) == 3, "the README shows three SQL examples"
    return [q.strip().rstrip(";") for q in queries]


def test_run_overview_matches_tables(store: Store) -> None:
    _fill(store)
    columns, rows = store.query_readonly("SELECT * FROM run_overview ORDER BY run_id")
    assert len(rows) == len(RUNS)
    for row, (experiment, optimizer, lr, batch_size, curve, status) in zip(rows, RUNS):
        view = dict(zip(columns, row))
        run = store.get_run(view["run_id"])
        summaries = store.metric_summaries(run.id)
        assert (view["run_name"], view["experiment"], view["status"]) == (
            run.name,
            experiment,
            status,
        )
        assert view["optimizer"] == (optimizer if isinstance(optimizer, str) else optimizer["type"])
        assert view["learning_rate"] == lr
        assert view["batch_size"] == batch_size
        assert view["epochs"] == (len(curve) or 3)
        assert view["dataset"] == "shapes"
        assert view["epochs_total"] == len(curve)
        for metric in ("loss", "val_loss", "val_accuracy"):
            summary = summaries.get(metric)
            assert view[f"final_{metric}"] == (summary and summary.final_value)
            assert view[f"best_{metric}"] == (summary and summary.best_value)
            assert view[f"best_{metric}_epoch"] == (summary and summary.best_epoch)
        assert view["final_accuracy"] is None
        if curve:
            assert view["best_val_accuracy"] == pytest.approx(max(curve))
            assert view["final_val_accuracy"] == pytest.approx(curve[-1])


def test_metric_history_and_run_params_match_tables(store: Store) -> None:
    _fill(store)
    _, rows = store.query_readonly(
        "SELECT run_id, run_name, experiment, kind, metric, epoch, step, value "
        "FROM metric_history ORDER BY run_id, kind, metric, step"
    )
    expected = []
    for run in sorted(store.list_runs(), key=lambda r: r.id):
        for kind in ("batch", "epoch"):
            for key, points in sorted(store.metric_history(run.id, kind=kind).items()):
                expected += [
                    (run.id, run.name, run.experiment, kind, key, p.epoch, p.step, p.value)
                    for p in points
                ]
    assert rows == expected
    _, params = store.query_readonly(
        "SELECT run_id, param, value_text FROM run_params WHERE run_id = 2 ORDER BY param"
    )
    stored = store.run_params(2)
    assert [p for _, p, _ in params] == sorted(stored)
    assert dict((p, t) for _, p, t in params)["fit.batch_size"] == "64"


def test_readme_queries_return_what_the_tables_hold(store: Store) -> None:
    _fill(store)
    best, by_lr, curve = _readme_queries()

    _, rows = store.query_readonly(best)
    names = {r.id: r.name for r in store.list_runs()}
    assert [(e, n, round(v, 6), ep) for e, n, v, ep in rows] == [
        ("cnn", names[2], 0.8, 2),
        ("mlp", names[4], 0.9, 2),
    ]

    _, rows = store.query_readonly(by_lr)
    assert [(lr, n, round(acc, 6), round(loss, 6)) for lr, n, acc, loss in rows] == [
        (1e-3, 2, round((0.7 + 0.9) / 2, 6), round(1.2 - 0.9, 6)),
        (1e-2, 1, 0.8, round(1.2 - 0.8, 6)),
    ]

    _, rows = store.query_readonly(curve)
    history = store.epoch_history(1)
    assert rows == [(h["epoch"], h["loss"], h["val_loss"], h["val_accuracy"]) for h in history]
    assert [r[0] for r in rows] == [1, 2, 3]
