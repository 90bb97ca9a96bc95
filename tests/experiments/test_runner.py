"""The runner: a run executed from the database records everything, and ends as it should."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.callbacks import Callback
from experiments.data import prepare_data
from experiments.runner import compile_model, execute_run
from experiments.spec import SpecError, validate_spec
from experiments.store import RunRecord, Store, forget_stores, npz_to_arrays, open_store
from experiments.submit import submit
from experiments.tracking import RunInterrupted
from tests.experiments.spec_helpers import mlp_raw


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Any:
    store = open_store(f"sqlite:///{tmp_path / 'kerastui.db'}")
    yield store
    forget_stores()


def _count(store: Store, sql: str) -> int:
    return int(store.query_readonly(sql).rows[0][0])


def _trapped(at: int, action: str) -> dict[str, Any]:
    raw = mlp_raw()
    raw["model"] = {
        "builder": "tests.experiments.runner_models:trapped_mlp",
        "args": {"at": at, "action": action},
    }
    return raw


class CancelAt(Callback):
    """Asks the store to cancel the run after a given (1-based) epoch and batch."""

    def __init__(self, store: Store, run_id: int, epoch: int, batch: int) -> None:
        super().__init__()
        self.store, self.run_id, self.at = store, run_id, (epoch, batch)
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if (self.epoch, batch + 1) == self.at:
            self.store.request_cancel(self.run_id)
            # Past the tracker's cancel-check interval (see FAST_CANCEL), so it looks now.
            time.sleep(0.01)


# Check the cancel flag after every batch longer than 5 ms (the default is every 0.5 s).
FAST_CANCEL = {"tracking.cancel_check_interval": "0.005"}


# ---- a completed run -------------------------------------------------------------------


def test_a_completed_run_records_params_metrics_checkpoints_and_layer_stats(
    sqlite_store: Store,
) -> None:
    store = sqlite_store
    raw = mlp_raw()
    raw["model"]["layers"].insert(1, {"type": "Dropout", "rate": 0.1})
    run_id = submit(raw, store, {"fit.epochs": "3", "tracking.keep_last": "2"})
    run = execute_run(run_id, store)

    assert run.status == "completed", run.traceback
    assert (run.epochs_done, run.epochs_total, run.batches_per_epoch) == (3, 3, 8)
    assert run.started_at is not None and run.finished_at is not None
    params = store.run_params(run_id)
    assert params["fit.epochs"] == 3 and params["compile.optimizer.type"] == "Adam"
    assert params["model.layers[1].rate"] == 0.1 and params["data.limit"] == 256

    history = store.epoch_history(run_id)
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert set(history[0]) >= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    batches = store.metric_history(run_id, kind="batch")["loss"]
    assert [p.step for p in batches] == list(range(1, 25))
    assert [p.epoch for p in batches[7:9]] == [1, 2]
    # The last batch of an epoch holds Keras's running mean: the epoch's loss.
    assert batches[7].value == pytest.approx(history[0]["loss"])

    stats = store.layer_stats(run_id)
    assert [(s.epoch, s.layer) for s in stats[:2]] == [(1, "dense"), (1, "dense_1")]
    assert len(stats) == 6
    for s in stats:
        assert s.weight_norm > 0 and s.grad_norm > 0 and 0 < s.update_ratio < 1

    infos = store.list_checkpoints(run_id)
    assert sum(c.is_last for c in infos) == 1 and infos[-1].epoch == 3 and infos[-1].is_last
    assert sum(c.is_best for c in infos) == 1
    best = next(c for c in infos if c.is_best)
    assert best.monitor == "val_loss"
    assert best.monitor_value == min(h["val_loss"] for h in history)
    # keep_last = 2, plus the best one.
    assert {c.epoch for c in infos} == {2, 3, best.epoch}
    assert store.environment(run_id)["numpy"] == np.__version__


def test_checkpoint_weights_reload_into_a_model_with_identical_predictions(
    sqlite_store: Store,
) -> None:
    store = sqlite_store
    run_id = submit(mlp_raw(), store)
    assert execute_run(run_id, store).status == "completed"
    spec = validate_spec(store.get_run(run_id).spec)
    data = prepare_data(spec.data)
    last = store.load_checkpoint(run_id, which="last")
    assert last.state["complete"] is True and last.state["epoch"] == 2

    models = []
    for _ in range(2):
        model = compile_model(spec, data)
        model.set_weights(npz_to_arrays(last.weights))
        models.append(model)
    a, b = (m.predict(data.x_val, verbose=0) for m in models)
    np.testing.assert_array_equal(a, b)
    # They are the trained weights: evaluating them gives the recorded validation loss.
    val_loss = models[0].evaluate(data.x_val, data.y_val, verbose=0, return_dict=True)["loss"]
    assert val_loss == pytest.approx(store.epoch_history(run_id)[-1]["val_loss"], rel=1e-5)


# ---- failures ----------------------------------------------------------------------------


def test_a_nan_loss_fails_the_run_naming_epoch_and_batch(sqlite_store: Store) -> None:
    store = sqlite_store
    run_id = submit(_trapped(at=11, action="nan"), store)  # 8 batches per epoch
    run = execute_run(run_id, store)
    assert run.status == "failed"
    assert run.error == "loss became NaN at epoch 2, batch 3"
    assert run.epochs_done == 1
    losses = store.metric_history(run_id, kind="batch")["loss"]
    assert all(np.isfinite(p.value) for p in losses)


def test_an_exception_fails_the_run_with_its_traceback(sqlite_store: Store) -> None:
    store = sqlite_store
    run_id = submit(_trapped(at=5, action="raise"), store)
    run = execute_run(run_id, store)
    assert run.status == "failed"
    assert run.error == "RuntimeError: boom at step 5"
    assert run.traceback is not None
    assert run.traceback.startswith("Traceback") and "runner_models.py" in run.traceback
    # The four batches before the exception were recorded.
    assert len(store.metric_history(run_id, kind="batch")["loss"]) == 4


def test_a_spec_broken_in_the_database_fails_the_run(sqlite_store: Store) -> None:
    store = sqlite_store
    run = store.create_run("broken", {"experiment": {"name": "broken"}}, epochs_total=1)
    finished = execute_run(run.id, store)
    assert finished.status == "failed"
    assert finished.error.startswith("SpecError: invalid experiment spec")


def test_only_queued_runs_are_executed(sqlite_store: Store) -> None:
    store = sqlite_store
    run_id = submit(mlp_raw(), store, {"fit.epochs": "1"})
    assert execute_run(run_id, store).status == "completed"
    with pytest.raises(ValueError, match="is completed"):
        execute_run(run_id, store)


# ---- cancel and resume -----------------------------------------------------------------


def test_cancel_stops_within_a_batch_with_a_checkpoint(sqlite_store: Store) -> None:
    store = sqlite_store
    run_id = submit(mlp_raw(), store, {"fit.epochs": "3", **FAST_CANCEL})
    run = execute_run(run_id, store, callbacks=[CancelAt(store, run_id, epoch=2, batch=3)])
    assert run.status == "cancelled"
    assert run.epochs_done == 1
    batches = store.metric_history(run_id, kind="batch")["loss"]
    assert (batches[-1].epoch, batches[-1].step) == (2, 11)
    last = store.load_checkpoint(run_id, which="last")
    assert last.state["complete"] is False
    assert (last.info.epoch, last.state["batch"], last.info.step) == (2, 3, 11)
    assert [c.epoch for c in store.list_checkpoints(run_id)] == [1, 2]


class InterruptAt(Callback):
    """Raises `RunInterrupted` after a given global (1-based) batch, as a SIGTERM handler would."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.step, self.seen = step, 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.seen += 1
        if self.seen == self.step:
            raise RunInterrupted("worker stopped by SIGTERM")


def test_an_interrupted_run_keeps_a_checkpoint_and_resumes(sqlite_store: Store) -> None:
    store = sqlite_store
    run_id = submit(mlp_raw(), store)
    run = execute_run(run_id, store, callbacks=[InterruptAt(step=12)])
    assert (run.status, run.error, run.epochs_done) == (
        "interrupted",
        "worker stopped by SIGTERM",
        1,
    )
    last = store.load_checkpoint(run_id, which="last")
    # The interrupting callback ran before the tracker saw batch 4; the checkpoint knows.
    assert (last.info.epoch, last.state["complete"], last.state["batch"]) == (2, False, 4)
    assert last.info.step == last.state["step"] == 12
    store.requeue_run(run_id)
    assert execute_run(run_id, store).status == "completed"
    assert [h["epoch"] for h in store.epoch_history(run_id)] == [1, 2]


def test_a_resumed_run_ends_as_an_uninterrupted_one(sqlite_store: Store) -> None:
    store = sqlite_store
    raw = mlp_raw()
    raw["model"]["layers"].insert(1, {"type": "Dropout", "rate": 0.3})
    overrides = {"fit.epochs": "3", **FAST_CANCEL}
    straight = submit(raw, store, overrides)
    assert execute_run(straight, store).status == "completed"

    resumed = submit(raw, store, overrides)
    cancel = CancelAt(store, resumed, epoch=2, batch=5)
    assert execute_run(resumed, store, callbacks=[cancel]).status == "cancelled"
    store.requeue_run(resumed)
    run = execute_run(resumed, store)
    assert run.status == "completed" and run.attempt == 2

    assert store.epoch_history(resumed) == store.epoch_history(straight)
    # Per-batch rows of the cancelled attempt after epoch 1 were replaced, not duplicated.
    steps = [p.step for p in store.metric_history(resumed, kind="batch")["loss"]]
    assert steps == list(range(1, 25))
    a = npz_to_arrays(store.load_checkpoint(resumed, which="last").weights)
    b = npz_to_arrays(store.load_checkpoint(straight, which="last").weights)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


# ---- submit ------------------------------------------------------------------------------

INVALID = [
    {"fit.epochs": "-1"},
    {"fit.epoch": "3"},
    {"fit.batch_size": "big"},
    {"model.layers[0].type": "Dnse"},
    {"model.layers[0].unit": "3"},
    {"compile.optimizer": "adm"},
    {"compile.loss": "mse2"},
    {"compile.metrics[0]": "acuracy"},
    {"data.name": "spiral"},
    {"experiment.name": ""},
]


def test_invalid_specs_write_nothing(store: Store) -> None:
    for overrides in INVALID:
        with pytest.raises(SpecError) as info:
            submit(mlp_raw(), store, overrides)
        assert len(info.value.messages) == 1
        assert info.value.messages[0].startswith(next(iter(overrides)).split("=")[0])
    for table in ("experiments", "runs", "params", "tags"):
        assert _count(store, f"SELECT count(*) FROM {table}") == 0


def test_submit_queues_the_resolved_spec_with_params_tags_and_seed(store: Store) -> None:
    raw = mlp_raw()
    raw["sweep"] = {"method": "grid", "parameters": {"fit.batch_size": [16, 32]}}
    run_id = submit(raw, store, {"fit.epochs": "2", "fit.seed": "7"}, priority=3)
    run: RunRecord = store.get_run(run_id)
    assert (run.status, run.experiment, run.seed, run.priority) == ("queued", "spirals_mlp", 7, 3)
    assert run.epochs_total == 2 and len(run.spec_hash) == 64
    assert run.spec["compile"]["optimizer"] == {"type": "Adam", "learning_rate": 0.001}
    assert "sweep" not in run.spec
    assert store.tags(run_id) == {"mlp": ""}
    params = store.run_params(run_id)
    assert params["model.layers[0].input_shape"] == [2] and params["fit.seed"] == 7
    again = submit(raw, store, {"fit.epochs": "2", "fit.seed": "7"})
    assert store.get_run(again).spec_hash == run.spec_hash
