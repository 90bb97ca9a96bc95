"""Compare and export: differing params, metrics side by side, files, models, bundles."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import engine
from experiments.compare import compare_runs
from experiments.export import (
    bundle_run,
    export_history,
    export_model,
    export_runs,
    import_run,
    model_for_run,
)
from experiments.runner import execute_run
from experiments.store import Store, forget_stores, open_store
from experiments.store.bundles import BundleError
from experiments.submit import submit
from tests.experiments.spec_helpers import mlp_raw


@pytest.fixture
def two_runs(store: Store) -> list[int]:
    ids = []
    for lr in ("0.01", "0.003"):
        run_id = submit(
            mlp_raw(), store, {"compile.optimizer.learning_rate": lr, "fit.epochs": "3"}
        )
        assert execute_run(run_id, store).status == "completed"
        ids.append(run_id)
    store.set_tag(ids[0], "stage", "candidate")
    store.add_note(ids[0], "the faster learning rate")
    return ids


def test_compare_shows_only_differing_params_and_the_best_run(store: Store, two_runs: list[int]):
    cmp = compare_runs(store, two_runs)
    assert set(cmp.params) == {"compile.optimizer.learning_rate"}
    assert cmp.params["compile.optimizer.learning_rate"] == {two_runs[0]: 0.01, two_runs[1]: 0.003}
    assert cmp.same_params > 10
    loss = cmp.metrics["loss"]
    best = min(two_runs, key=lambda i: loss[i]["best"])
    assert cmp.best_run["loss"] == best and cmp.directions["loss"] == "min"
    assert cmp.histories["loss"]["epochs"] == [1, 2, 3]
    assert all(len(cmp.histories["loss"][i]) == 3 for i in two_runs)
    assert all(d is not None and d >= 0 for d in cmp.durations.values())
    as_json = json.loads(json.dumps(cmp.to_dict()))
    assert "learning_rate" in json.dumps(as_json["params"])
    with pytest.raises(ValueError, match="at least two"):
        compare_runs(store, [two_runs[0], two_runs[0]])


def test_export_runs_in_each_format(store: Store, two_runs: list[int], tmp_path: Path):
    csv_path = export_runs(store, two_runs, "csv", tmp_path / "runs.csv")
    rows = list(csv.DictReader(csv_path.open()))
    assert [int(r["id"]) for r in rows] == two_runs
    assert rows[0]["params.compile.optimizer.learning_rate"] == "0.01"
    assert float(rows[1]["final.loss"]) > 0
    data = json.loads(export_runs(store, two_runs, "json", tmp_path / "runs.json").read_text())
    assert data[1]["params.compile.optimizer.learning_rate"] == 0.003
    md = export_runs(store, two_runs, "md", tmp_path / "runs.md").read_text().splitlines()
    assert md[0].startswith("| id | name |") and md[1].startswith("| --- |") and len(md) == 4
    with pytest.raises(ValueError, match="unknown export format"):
        export_runs(store, two_runs, "xlsx", tmp_path / "runs.xlsx")
    assert not (tmp_path / "runs.xlsx").exists()


def test_export_history_long_form(store: Store, two_runs: list[int], tmp_path: Path):
    rows = list(csv.DictReader(export_history(store, two_runs, tmp_path / "h.csv").open()))
    losses = [r for r in rows if r["key"] == "loss" and int(r["run_id"]) == two_runs[0]]
    assert [int(r["epoch"]) for r in losses] == [1, 2, 3]
    history = store.epoch_history(two_runs[0])
    assert float(losses[-1]["value"]) == pytest.approx(history[-1]["loss"], rel=1e-5)


def test_exported_keras_model_reproduces_the_run_predictions(
    store: Store, two_runs: list[int], tmp_path: Path
):
    path = export_model(store, two_runs[0], tmp_path / "best.keras", best=True)
    restored = model_for_run(store, two_runs[0], best=True)
    loaded = engine.models.load_model(str(path))
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), restored.predict(x, verbose=0))
    weights = export_model(store, two_runs[0], tmp_path / "w.npz", epoch=3)
    with np.load(weights, allow_pickle=False) as npz:
        assert len(npz.files) == len(restored.get_weights())
    with pytest.raises(ValueError, match="no checkpoint of epoch 9"):
        export_model(store, two_runs[0], tmp_path / "x.keras", epoch=9)
    with pytest.raises(ValueError, match=r"\.keras"):
        export_model(store, two_runs[0], tmp_path / "x.h5")


def _snapshot(store: Store, run_id: int) -> dict:
    run = store.get_run(run_id)
    return {
        "status": run.status,
        "spec": run.spec,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "params": store.run_params(run_id),
        "epochs": store.epoch_history(run_id),
        "batch_rows": len(store.metrics_since(run_id, 0, kind="batch")),
        "summaries": {
            k: (v.final_value, v.best_value) for k, v in store.metric_summaries(run_id).items()
        },
        "checkpoints": sorted(
            (c.epoch, c.sha256, c.is_best, c.is_last) for c in store.list_checkpoints(run_id)
        ),
        "layer_stats": len(store.layer_stats(run_id)),
        "tags": store.tags(run_id),
        "notes": [n.text for n in store.notes(run_id)],
        "logs": [line.message for line in store.logs(run_id)],
    }


def test_bundle_round_trip_between_databases_loses_nothing(
    store: Store, two_runs: list[int], tmp_path: Path, db_url: str
):
    original = _snapshot(store, two_runs[0])
    bundle = bundle_run(store, two_runs[0], tmp_path / "run.ktbundle")
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    other = open_store(other_url)
    imported = import_run(other, bundle)
    assert _snapshot(other, imported) == original
    # and back into the first database: the name is taken, so it gets a suffix
    back = import_run(store, bundle_run(other, imported, tmp_path / "back.ktbundle"))
    assert _snapshot(store, back) == original
    assert store.get_run(back).name.endswith("-imported")
    weights = store.load_checkpoint(back, checkpoint_id=store.list_checkpoints(back)[0].id)
    assert weights.weights
    forget_stores()


def test_import_refuses_what_is_not_a_bundle(store: Store, tmp_path: Path):
    bogus = tmp_path / "bogus.ktbundle"
    bogus.write_bytes(b"nope")
    before = store.count_runs()
    with pytest.raises(BundleError, match="not a kerastui run bundle"):
        import_run(store, bogus)
    with pytest.raises(FileNotFoundError):
        import_run(store, tmp_path / "missing.ktbundle")
    assert store.count_runs() == before
