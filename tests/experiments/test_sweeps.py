"""Sweeps: a grid queues one run per combination, trials run, hopeless trials stop early."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from experiments.compare import compare_runs
from experiments.runner import execute_run
from experiments.spec import SpecError
from experiments.store import Store
from experiments.sweeps import MedianStopping, launch
from tests.experiments.spec_helpers import mlp_raw


def grid_spec() -> dict:
    raw = mlp_raw()
    raw["fit"]["epochs"] = 2
    raw["sweep"] = {
        "method": "grid",
        "parameters": {
            "compile.optimizer.learning_rate": [0.01, 0.003, 0.001],
            "fit.batch_size": [16, 32],
        },
    }
    return raw


def test_grid_sweep_queues_six_runs_that_all_complete(store: Store):
    ids = launch(grid_spec(), store)
    assert len(ids) == 6
    runs = [store.get_run(i) for i in ids]
    assert len({r.sweep_id for r in runs}) == 1 and runs[0].sweep_id is not None
    sweep = store.get_sweep(runs[0].sweep_id)
    assert sweep.method == "grid" and len(sweep.config["trials"]) == 6
    combos = {
        (
            store.run_params(i)["compile.optimizer.learning_rate"],
            store.run_params(i)["fit.batch_size"],
        )
        for i in ids
    }
    assert combos == {(lr, bs) for lr in (0.01, 0.003, 0.001) for bs in (16, 32)}
    assert all("sweep" not in (r.spec or {}) for r in runs)
    for run_id in ids:
        assert execute_run(run_id, store).status == "completed"
    cmp = compare_runs(store, ids)
    assert set(cmp.params) == {"compile.optimizer.learning_rate", "fit.batch_size"}


def test_a_spec_without_sweep_queues_one_run(store: Store):
    assert len(launch(mlp_raw(), store)) == 1


def test_a_sweep_or_run_launched_from_a_run_records_it_as_parent(store: Store):
    (parent,) = launch(mlp_raw(), store)
    ids = launch(grid_spec(), store, parent_run_id=parent)
    assert len(ids) == 6
    assert {store.get_run(i).parent_run_id for i in ids} == {parent}
    (single,) = launch(mlp_raw(), store, parent_run_id=parent)
    assert store.get_run(single).parent_run_id == parent
    assert store.get_run(parent).parent_run_id is None


def test_an_invalid_trial_queues_nothing(store: Store):
    raw = grid_spec()
    raw["sweep"]["parameters"]["fit.batch_size"] = [32, -4]
    with pytest.raises(SpecError):
        launch(raw, store)
    assert store.count_runs() == 0
    assert store.list_sweeps() == []


def test_random_sweep_is_reproducible(store: Store):
    raw = mlp_raw()
    raw["sweep"] = {
        "method": "random",
        "max_runs": 4,
        "seed": 3,
        "parameters": {
            "compile.optimizer.learning_rate": {
                "distribution": "log_uniform",
                "low": 1e-4,
                "high": 1e-2,
            }
        },
    }
    first = [store.run_params(i)["compile.optimizer.learning_rate"] for i in launch(raw, store)]
    second = [store.run_params(i)["compile.optimizer.learning_rate"] for i in launch(raw, store)]
    assert first == second and len(set(first)) == 4
    assert all(1e-4 <= v <= 1e-2 for v in first)


def test_median_rule_stops_a_trial_worse_than_the_median(store: Store):
    raw = grid_spec()
    raw["sweep"]["early_stopping"] = {"metric": "val_loss", "warmup_epochs": 2, "min_trials": 3}
    ids = launch(raw, store)
    sweep_id = store.get_run(ids[0]).sweep_id
    for run_id, losses in zip(ids[:3], ([0.9, 0.5], [0.8, 0.4], [0.7, 0.45])):
        store.log_metrics(
            run_id,
            [
                {"key": "val_loss", "epoch": e + 1, "step": e + 1, "value": v, "kind": "epoch"}
                for e, v in enumerate(losses)
            ],
        )
    model = SimpleNamespace(stop_training=False)
    rule = MedianStopping(store, ids[3], sweep_id, "val_loss", warmup_epochs=2, min_trials=3)
    rule.set_model(model)
    rule.on_epoch_end(0, {"val_loss": 1.0})
    assert not model.stop_training  # still warming up
    rule.on_epoch_end(1, {"val_loss": 0.6})
    assert model.stop_training and rule.stopped_epoch == 2
    assert any("median rule" in line.message for line in store.logs(ids[3]))
    good = MedianStopping(store, ids[4], sweep_id, "val_loss", warmup_epochs=2, min_trials=3)
    good.set_model(SimpleNamespace(stop_training=False))
    good.on_epoch_end(0, {"val_loss": 0.5})
    good.on_epoch_end(1, {"val_loss": 0.3})
    assert not good.model.stop_training


def test_median_rule_waits_for_enough_trials(store: Store):
    raw = grid_spec()
    ids = launch(raw, store)
    sweep_id = store.get_run(ids[0]).sweep_id
    store.log_metrics(
        ids[0], [{"key": "val_loss", "epoch": 1, "step": 1, "value": 0.1, "kind": "epoch"}]
    )
    rule = MedianStopping(store, ids[1], sweep_id, "val_loss", warmup_epochs=1, min_trials=3)
    rule.set_model(SimpleNamespace(stop_training=False))
    rule.on_epoch_end(0, {"val_loss": 5.0})
    assert not rule.model.stop_training


def test_example_sweep_spec_launches_six_trials(store: Store):
    ids = launch("shapes_sweep", store, {"fit.epochs": "1", "data.limit": "64"})
    assert len(ids) == 6
