"""`TrackingCallback` on its own: buffering, flush and cancel-check cadence, stops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import engine
from experiments.spec.schema import TrackingTable
from experiments.store import Store, forget_stores, open_store
from experiments.tracking import LossNotFinite, RunCancelled, RunLost, TrackingCallback


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Spy:
    """Counts calls of one store method."""

    def __init__(self, store: Store, name: str) -> None:
        self.calls = 0
        original = getattr(store, name)

        def spy(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(*args, **kwargs)

        setattr(store, name, spy)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield open_store(f"sqlite:///{tmp_path / 'kerastui.db'}")
    forget_stores()


def _tracker(store: Store, clock: Clock, **tracking: Any) -> TrackingCallback:
    run = store.create_run("t", {"experiment": {"name": "t"}}, epochs_total=2)
    store.claim_run(run.id, "test")
    model = engine.Sequential([engine.layers.Dense(2, input_shape=(3,))])
    model.compile("sgd", "mse")
    tracker = TrackingCallback(store, run.id, TrackingTable(**tracking), 2, "loss", clock=clock)
    tracker.set_model(model)
    tracker.set_params({"epochs": 2, "steps": 100, "verbose": 0})
    tracker.on_train_begin()
    tracker.on_epoch_begin(0)
    return tracker


def _rows(store: Store, run_id: int) -> int:
    return len(store.metric_history(run_id, kind="batch").get("loss", []))


def test_batch_rows_are_buffered_and_written_once_per_interval(store: Store) -> None:
    clock = Clock()
    tracker = _tracker(store, clock)
    writes = Spy(store, "log_metrics")
    checks = Spy(store, "is_cancel_requested")
    for batch in range(9):
        clock.now = 0.1 * (batch + 1)  # 0.1 s per batch
        tracker.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1), "accuracy": 0.5})
    assert (writes.calls, _rows(store, tracker.run_id)) == (0, 0)
    # One cancel check in the first second (at 0.5 s), none in between.
    assert checks.calls == 1
    clock.now = 1.05
    tracker.on_train_batch_end(9, {"loss": 0.1, "accuracy": 0.5})
    assert (writes.calls, _rows(store, tracker.run_id)) == (1, 10)
    run = store.get_run(tracker.run_id)
    assert (run.current_batch, run.epochs_done, run.batches_per_epoch) == (10, 0, 100)
    assert run.heartbeat_at is not None


def test_without_batch_metrics_only_progress_is_written(store: Store) -> None:
    clock = Clock()
    tracker = _tracker(store, clock, batch_metrics=False)
    for batch in range(3):
        clock.now += 0.6
        tracker.on_train_batch_end(batch, {"loss": 0.5})
    assert _rows(store, tracker.run_id) == 0
    assert store.get_run(tracker.run_id).current_batch == 2


def test_a_requested_cancel_stops_at_the_next_check(store: Store) -> None:
    clock = Clock()
    tracker = _tracker(store, clock)
    clock.now = 0.2
    tracker.on_train_batch_end(0, {"loss": 0.5})
    store.request_cancel(tracker.run_id)
    clock.now = 0.4
    tracker.on_train_batch_end(1, {"loss": 0.5})  # before the 0.5 s check
    clock.now = 0.6
    with pytest.raises(RunCancelled, match="cancelled at epoch 1, batch 3"):
        tracker.on_train_batch_end(2, {"loss": 0.5})


def test_a_run_taken_over_stops_without_writing(store: Store) -> None:
    clock = Clock()
    tracker = _tracker(store, clock)
    store.mark_interrupted(tracker.run_id, "missed heartbeats")
    clock.now = 1.5
    with pytest.raises(RunLost):
        tracker.on_train_batch_end(0, {"loss": 0.5})


@pytest.mark.parametrize(("loss", "word"), [(float("nan"), "NaN"), (float("inf"), "infinite")])
def test_a_non_finite_loss_stops_naming_epoch_and_batch(
    store: Store, loss: float, word: str
) -> None:
    tracker = _tracker(store, Clock())
    tracker.on_train_batch_end(0, {"loss": 0.5})
    with pytest.raises(LossNotFinite, match=f"^loss became {word} at epoch 1, batch 2$"):
        tracker.on_train_batch_end(1, {"loss": np.float32(loss)})


def test_layer_statistics_follow_the_gradients(store: Store) -> None:
    tracker = _tracker(store, Clock())
    model = tracker.model
    assert model.gradient_hook == tracker._observe_gradients
    weights = model.trainable_weights
    kernel_grad = np.full((3, 2), 2.0, dtype="float32")  # norm sqrt(6 * 4)
    bias_grad = np.zeros(2, dtype="float32")
    for _ in range(2):
        model.gradient_hook([kernel_grad, bias_grad], weights)
    start = np.sqrt(sum(float(np.sum(w.value**2)) for w in weights))
    weights[1].assign(weights[1].value + 3.0)  # the bias moves by a vector of norm sqrt(18)
    (row,) = tracker._layer_stats()
    assert row.grad_norm == pytest.approx(np.sqrt(24.0))
    assert row.update_ratio == pytest.approx(np.sqrt(18.0) / start, rel=1e-6)
    tracker.detach()
    assert model.gradient_hook is None


def test_the_run_log_gets_a_start_line_and_one_summary_line_per_epoch(store: Store) -> None:
    clock = Clock()
    tracker = _tracker(store, clock)
    run_id = tracker.run_id
    clock.now = 12.5
    tracker.on_epoch_end(0, {"loss": 0.41234, "val_loss": 0.5, "learning_rate": 0.01})
    tracker.on_epoch_begin(1)
    clock.now = 14.0
    tracker.on_epoch_end(1, {"loss": 0.3, "accuracy": 0.875})
    lines = [line.message for line in store.logs(run_id)]
    assert lines[0] == (
        f"training {tracker.model.name}: 8 trainable parameters, 100 batches per epoch, "
        "epochs 1 to 2"
    )
    assert lines[1:] == [
        "epoch 1/2: loss 0.4123, val_loss 0.5 (12.5 s)",
        "epoch 2/2: loss 0.3, accuracy 0.875 (1.5 s)",
    ]
