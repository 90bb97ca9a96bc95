"""Exporting comparisons (params and metrics side by side) and run tables of many runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from experiments.compare import compare_runs
from experiments.export import export_comparison, export_history, export_runs, format_comparison
from experiments.store import MetricRow, RunNotFoundError, Store


@pytest.fixture
def two_runs(store: Store) -> list[int]:
    ids = []
    for lr, losses in ((0.01, [0.9, 0.5, 0.6]), (0.003, [0.8, 0.7])):
        spec = {"compile": {"optimizer": {"type": "adam", "learning_rate": lr}}, "fit": {"x": 1}}
        run = store.create_run("cnn", spec)
        store.log_metrics(
            run.id, [MetricRow("loss", v, e, e, "epoch") for e, v in enumerate(losses, 1)]
        )
        ids.append(run.id)
    return ids


def test_comparison_csv_has_params_then_final_and_best(
    store: Store, two_runs: list[int], tmp_path: Path
) -> None:
    path = export_comparison(store, two_runs, "csv", tmp_path / "out" / "cmp.csv")
    a, b = (store.get_run(i) for i in two_runs)
    rows = list(csv.DictReader(path.open()))
    names = [f"#{a.id} {a.name}", f"#{b.id} {b.name}"]
    assert list(rows[0]) == ["kind", "key", *names]
    table = {(r["kind"], r["key"]): [r[n] for n in names] for r in rows}
    assert table == {
        ("param", "compile.optimizer.learning_rate"): ["0.01", "0.003"],
        ("final", "loss"): ["0.6", "0.7"],
        ("best", "loss"): ["0.5", "0.7"],
    }


def test_comparison_json_and_markdown(store: Store, two_runs: list[int], tmp_path: Path) -> None:
    comparison = compare_runs(store, two_runs)
    rows = json.loads(format_comparison(comparison, "json"))
    assert [(r["kind"], r["key"]) for r in rows] == [
        ("param", "compile.optimizer.learning_rate"),
        ("final", "loss"),
        ("best", "loss"),
    ]
    name = f"#{two_runs[0]} {comparison.runs[0].name}"
    assert rows[2][name] == pytest.approx(0.5)
    markdown = export_comparison(store, two_runs, "md", tmp_path / "cmp.md").read_text()
    assert markdown.splitlines()[0].startswith("| kind | key | #")
    assert "| best | loss | 0.5 | 0.7 |" in markdown
    with pytest.raises(ValueError, match="unknown export format 'xls'"):
        export_comparison(store, two_runs, "xls", tmp_path / "cmp.xls")
    assert not (tmp_path / "cmp.xls").exists()


def test_run_tables_keep_the_order_asked_and_read_names_and_ids(
    store: Store, two_runs: list[int], tmp_path: Path
) -> None:
    first, second = two_runs
    third = store.create_run("mlp", {"fit": {"epochs": 1}}).id
    name = store.get_run(first).name
    path = export_runs(store, [third, name, str(second)], "csv", tmp_path / "runs.csv")
    assert [int(r["id"]) for r in csv.DictReader(path.open())] == [third, first, second]
    history = export_history(store, [second, first], tmp_path / "h.csv")
    assert [r["run_id"] for r in csv.DictReader(history.open())][:1] == [str(second)]
    with pytest.raises(RunNotFoundError, match="no run has id or name 999"):
        export_runs(store, [first, 999], "csv", tmp_path / "missing.csv")
    assert not (tmp_path / "missing.csv").exists()
