"""`TrackingCallback`: records a training run in the tracking store as it happens.

Per batch it buffers the running loss and metrics (Keras's logs: means over the
epoch so far) and writes them at most once per `flush_interval` seconds, with a
heartbeat carrying the progress. Per epoch it writes the epoch's logs
(validation included), each layer's weight norm, gradient norm and update
ratio, and a checkpoint. Between batches it checks, at most every
`cancel_check_interval` seconds, whether someone asked the run to stop.

Stopping is done by raising: `RunCancelled` (cancel requested), `RunLost` (the
run is no longer `running` in the database, e.g. marked interrupted) and
`LossNotFinite` (NaN or infinite loss); a signal handler may raise
`RunInterrupted`. The runner catches them, so nothing after the current batch
runs: no validation pass, no epoch logs for a broken epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.callbacks import Callback
from experiments import checkpoints
from experiments.spec.schema import TrackingTable
from experiments.store.direction import is_better
from experiments.store.records import LayerStatRow, MetricRow


class RunStopped(Exception):
    """Training stopped before its last epoch, for the reason the subclass names."""


class RunCancelled(RunStopped):
    """Someone asked the run to stop (`Store.request_cancel`)."""


class RunLost(RunStopped):
    """The run is no longer `running` in the database: this process must stop writing."""


class LossNotFinite(RunStopped):
    """The training loss became NaN or infinite."""


class RunInterrupted(RunStopped):
    """The executing process must stop (a worker's SIGTERM): the run is left resumable.

    Raise it from a signal handler in the process that trains; the runner saves a
    checkpoint of where training stopped and marks the run `interrupted` with
    the exception's message as the reason.

    Example:
        >>> def on_sigterm(signum, frame):
        ...     raise RunInterrupted("worker stopped by SIGTERM")
    """


class TrackingCallback(Callback):
    """Record a `fit` in the tracking store: metrics, layer statistics, checkpoints, progress.

    Args:
        store: the tracking store.
        run_id: the run being trained (status `running`).
        tracking: the spec's `[tracking]` table.
        epochs_total: the planned number of epochs.
        monitor: the metric deciding the best checkpoint (`val_loss`).
        initial_epoch: the epoch training starts at (0, or the epoch resumed from).
        initial_step: the global batch counter at `initial_epoch`.
        clock: the time source (seconds); tests pass a fake one.

    Example:
        >>> tracker = TrackingCallback(store, run.id, TrackingTable(), 10, "val_loss")
        >>> model.fit(x, y, epochs=10, validation_split=0.1, callbacks=[tracker])
    """

    def __init__(
        self,
        store: Any,
        run_id: int,
        tracking: TrackingTable,
        epochs_total: int,
        monitor: str,
        *,
        initial_epoch: int = 0,
        initial_step: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.tracking = tracking
        self.epochs_total = epochs_total
        self.monitor = monitor
        self.clock = clock
        self.epoch = initial_epoch
        self.initial_epoch = initial_epoch
        self._epoch_began = clock()
        self.step = initial_step
        self.batch = 0
        self.batches_per_epoch: int | None = None
        self.checkpointed_epoch: int | None = None
        self.epoch_complete = True
        self._buffer: list[MetricRow] = []
        self._last_flush = 0.0
        self._last_cancel_check = 0.0
        self._layers: list[tuple[str, list[Any]]] = []
        self._owner: dict[int, int] = {}
        self._grad_sums = np.zeros(0)
        self._grad_steps = 0
        self._epoch_start: list[list[np.ndarray]] = []

    # ---- fit hooks ---------------------------------------------------------------

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.batches_per_epoch = self.params.get("steps")
        now = self.clock()
        self._last_flush = self._last_cancel_check = now
        self._layers = [
            (layer.name, list(layer.trainable_weights))
            for layer in self.model.layers
            if layer.trainable_weights
        ]
        self._owner = {id(v): i for i, (_, vs) in enumerate(self._layers) for v in vs}
        if self.tracking.layer_stats:
            self.model.gradient_hook = self._observe_gradients
        self._heartbeat(batches_per_epoch=self.batches_per_epoch, epochs_total=self.epochs_total)
        params = sum(int(np.prod(v.shape)) for v in self.model.trainable_weights)
        batches = f"{self.batches_per_epoch} batches" if self.batches_per_epoch else "batches"
        self.store.append_logs(
            self.run_id,
            [
                f"training {self.model.name}: {params:,} trainable parameters, {batches} per "
                f"epoch, epochs {self.initial_epoch + 1} to {self.epochs_total}"
            ],
        )

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch_began = self.clock()
        self.epoch = epoch + 1
        self.batch = 0
        self.epoch_complete = False
        if self.tracking.layer_stats:
            self._grad_sums = np.zeros(len(self._layers))
            self._grad_steps = 0
            self._epoch_start = [[np.array(v.value) for v in vs] for _, vs in self._layers]

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self.batch = batch + 1
        self.step += 1
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            what = "NaN" if math.isnan(float(loss)) else "infinite"
            raise LossNotFinite(f"loss became {what} at epoch {self.epoch}, batch {self.batch}")
        if self.tracking.batch_metrics:
            self._buffer.extend(
                MetricRow(key, float(value), self.epoch, self.step, "batch")
                for key, value in logs.items()
                if _is_number(value)
            )
        now = self.clock()
        if now - self._last_flush >= self.tracking.flush_interval:
            self.flush()
            self._last_cancel_check = now
        elif now - self._last_cancel_check >= self.tracking.cancel_check_interval:
            self._last_cancel_check = now
            if self.store.is_cancel_requested(self.run_id):
                raise RunCancelled(f"cancelled at epoch {self.epoch}, batch {self.batch}")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = dict(logs or {})
        learning_rate = _learning_rate(self.model)
        if learning_rate is not None and "learning_rate" not in logs:
            logs["learning_rate"] = learning_rate
        self._buffer.extend(
            MetricRow(key, float(value), self.epoch, self.step, "epoch")
            for key, value in logs.items()
            if _is_number(value)
        )
        self.write_pending()
        self.store.append_logs(self.run_id, [self._epoch_line(logs)])
        if self.tracking.layer_stats:
            self.store.log_layer_stats(self.run_id, self.epoch, self._layer_stats())
        every = self.tracking.checkpoint_every
        # Callbacks before this one (EarlyStopping) may have just asked training to stop.
        last = self.epoch == self.epochs_total or self.model.stop_training
        if (every and self.epoch % every == 0) or last:
            self.checkpoint_epoch(logs.get(self.monitor))
        self.batch = 0
        self.epoch_complete = True
        self._last_flush = self.clock()
        self._heartbeat()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.detach()
        self.flush()

    def _epoch_line(self, logs: dict[str, Any]) -> str:
        """`epoch 3/10: loss 0.4123, accuracy 0.8750, val_loss 0.5012 (4.1 s)` for the run's log."""
        values = ", ".join(
            f"{key} {float(value):.4g}"
            for key, value in logs.items()
            if _is_number(value) and key != "learning_rate"
        )
        seconds = self.clock() - self._epoch_began
        return f"epoch {self.epoch}/{self.epochs_total}: {values} ({seconds:.1f} s)"

    # ---- what the runner calls ---------------------------------------------------

    def detach(self) -> None:
        """Stop observing gradients (the model may outlive the run)."""
        if self.model is not None and self.model.gradient_hook == self._observe_gradients:
            self.model.gradient_hook = None

    def flush(self) -> None:
        """Write the buffered rows and a heartbeat with the progress; stop if asked to.

        Raises:
            RunCancelled: a cancel was requested.
            RunLost: the run is no longer `running` in the database.
        """
        self.write_pending()
        self._last_flush = self.clock()
        self._heartbeat()

    def write_pending(self) -> None:
        """Write the buffered metric rows (what the runner calls once training stopped)."""
        if self._buffer:
            rows, self._buffer = self._buffer, []
            self.store.log_metrics(self.run_id, rows)

    def checkpoint_epoch(self, monitor_value: Any = None) -> None:
        """Checkpoint the finished epoch (once), then prune to what `[tracking]` keeps."""
        if self.checkpointed_epoch == self.epoch:
            return
        self.save_checkpoint(complete=True, monitor_value=monitor_value)
        self.store.prune_checkpoints(
            self.run_id, keep_last=self.tracking.keep_last, keep_best=self.tracking.keep_best
        )

    def save_checkpoint(self, *, complete: bool, monitor_value: Any = None) -> None:
        """Store a checkpoint of the model as it is now.

        Args:
            complete: whether the current epoch finished (else the run stopped inside it).
            monitor_value: the monitored metric's value this epoch, if known.
        """
        if complete and self.checkpointed_epoch == self.epoch:
            return
        # A callback may have stopped training after a batch this tracker did not see;
        # the optimizer counts the updates the weights really hold.
        step = _updates(self.model, default=self.step)
        batch = self.batch + step - self.step if not complete else 0
        parts = checkpoints.capture(
            self.model, epoch=self.epoch, step=step, complete=complete, batch=batch
        )
        if complete:
            self.checkpointed_epoch = self.epoch
        value = float(monitor_value) if _is_number(monitor_value) else None
        self.store.save_checkpoint(
            self.run_id,
            self.epoch,
            parts.weights,
            optimizer_state=parts.optimizer_state,
            step=step,
            state=parts.state,
            monitor=self.monitor if value is not None else None,
            monitor_value=value,
            is_best=self._is_best(value) if complete else False,
        )

    # ---- internals ---------------------------------------------------------------

    def _heartbeat(self, **extra: Any) -> None:
        reply = self.store.heartbeat(
            self.run_id,
            epochs_done=self.epoch - (1 if self.batch else 0),
            current_batch=self.batch,
            **extra,
        )
        if reply.lost:
            raise RunLost(f"run {self.run_id} is no longer running in the database")
        if reply.cancel_requested:
            raise RunCancelled(f"cancelled at epoch {self.epoch}, batch {self.batch}")

    def _is_best(self, value: float | None) -> bool | None:
        """None lets the store decide by the metric's name; an explicit mode decides here."""
        if value is None or math.isnan(value):
            return False
        if self.tracking.mode == "auto":
            return None
        best = next(
            (
                c.monitor_value
                for c in self.store.list_checkpoints(self.run_id)
                if c.is_best and c.monitor == self.monitor
            ),
            None,
        )
        return is_better(value, best, self.tracking.mode)

    def _observe_gradients(self, grads: list[Any], variables: list[Any]) -> None:
        squares = np.zeros(len(self._layers))
        for grad, variable in zip(grads, variables):
            index = self._owner.get(id(variable))
            if grad is None or index is None:
                continue
            flat = np.ravel(grad)
            squares[index] += float(np.dot(flat, flat))
        self._grad_sums += np.sqrt(squares)
        self._grad_steps += 1

    def _layer_stats(self) -> list[LayerStatRow]:
        rows = []
        for i, (name, variables) in enumerate(self._layers):
            now = [np.asarray(v.value) for v in variables]
            weight_sq = sum(float(np.dot(w.ravel(), w.ravel())) for w in now)
            start = self._epoch_start[i] if i < len(self._epoch_start) else now
            start_sq = sum(float(np.dot(w.ravel(), w.ravel())) for w in start)
            delta_sq = sum(
                float(np.dot((a - b).ravel(), (a - b).ravel())) for a, b in zip(now, start)
            )
            grad = self._grad_sums[i] / self._grad_steps if self._grad_steps else None
            ratio = math.sqrt(delta_sq) / math.sqrt(start_sq) if start_sq > 0 else None
            rows.append(LayerStatRow(name, math.sqrt(weight_sq), grad, ratio, position=i))
        return rows


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def _updates(model: Any, default: int) -> int:
    """How many updates the optimizer applied (its `iterations`), or `default` without one."""
    try:
        return int(np.asarray(model.optimizer.iterations.value))
    except AttributeError:
        return default


def _learning_rate(model: Any) -> float | None:
    """The optimizer's current learning rate (a schedule evaluated at this step), if it has one."""
    try:
        return float(model.optimizer.learning_rate)
    except (AttributeError, TypeError, ValueError):
        return None
