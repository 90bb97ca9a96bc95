"""Plain, immutable records the store returns: detached from any session or thread.

A UI thread worker can hand them to the event loop; nothing in them touches
the database again. The records a listing returns by the ten thousand (runs,
metric points, summaries) are named tuples: built positionally from result
rows, they cost a fraction of a frozen dataclass.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from experiments import clock

MetricKind = Literal["epoch", "batch"]
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "interrupted"})


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One metric value to log: `Store.log_metrics(run_id, [MetricRow(...), ...])`.

    Args:
        key: the metric name as Keras logs it (`loss`, `val_accuracy`).
        value: the value (NaN is stored as NULL).
        epoch: the 1-based epoch the value belongs to.
        step: the run's global 1-based batch counter when the value was observed.
        kind: "batch" for per-batch values, "epoch" for end-of-epoch logs.
        wall_time: Unix seconds; the time of logging when None.

    Example:
        >>> MetricRow("loss", 0.69, epoch=1, step=1).kind
        'batch'
    """

    key: str
    value: float | None
    epoch: int
    step: int
    kind: MetricKind = "batch"
    wall_time: float | None = None


class MetricPoint(NamedTuple):
    """One stored metric row, with its id for incremental reads.

    Example:
        >>> MetricPoint(7, 1, "loss", "epoch", 1, 16, 0.5, 0.0).value
        0.5
    """

    id: int
    run_id: int
    key: str
    kind: str
    epoch: int
    step: int
    value: float | None
    wall_time: float


class MetricSummaryRecord(NamedTuple):
    """Final and best value of one metric of one run, with the epoch and step of each.

    Example:
        >>> MetricSummaryRecord(1, "epoch", "loss", "min", 2, 0.4, 2, 32, 0.4, 2, 32).best_value
        0.4
    """

    run_id: int
    kind: str
    key: str
    direction: str
    count: int
    final_value: float | None
    final_epoch: int | None
    final_step: int | None
    best_value: float | None
    best_epoch: int | None
    best_step: int | None


@dataclass(frozen=True, slots=True)
class ExperimentRecord:
    """An experiment and how many runs it holds.

    Example:
        >>> ExperimentRecord(1, "shapes_cnn", "", None, 0).name
        'shapes_cnn'
    """

    id: int
    name: str
    description: str
    created_at: dt.datetime | None
    run_count: int = 0


class RunRecord(NamedTuple):
    """Everything the `runs` table holds about one run, plus its experiment's name.

    `spec` is None in listings made without `with_spec=True`.

    Example:
        >>> RunRecord(id=1, name="brave-otter-1", experiment="demo", status="queued").is_finished
        False
    """

    id: int
    name: str
    experiment: str
    status: str
    experiment_id: int = 0
    spec: dict[str, Any] | None = None
    spec_hash: str = ""
    seed: int | None = None
    priority: int = 0
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    heartbeat_at: dt.datetime | None = None
    worker_id: str | None = None
    error: str | None = None
    traceback: str | None = None
    epochs_done: int = 0
    epochs_total: int | None = None
    current_batch: int = 0
    batches_per_epoch: int | None = None
    cancel_requested: bool = False
    parent_run_id: int | None = None
    sweep_id: int | None = None
    attempt: int = 1

    @property
    def is_finished(self) -> bool:
        """Whether the run reached a final status (it may still be resumed or rerun)."""
        return self.status in TERMINAL_STATUSES

    @property
    def duration(self) -> dt.timedelta | None:
        """Time from start to finish, or to now while it runs; None before it started."""
        if self.started_at is None:
            return None
        end = self.finished_at or clock.now()
        return end - self.started_at

    @property
    def progress(self) -> float | None:
        """Fraction of the planned batches done, from 0 to 1; None when the total is unknown."""
        if not self.epochs_total:
            return None
        done = float(self.epochs_done)
        if self.batches_per_epoch and self.status == "running":
            done += min(self.current_batch / self.batches_per_epoch, 1.0)
        return min(done / self.epochs_total, 1.0)


@dataclass(frozen=True, slots=True)
class CheckpointInfo:
    """A checkpoint's metadata (no bytes): what listings return.

    Example:
        >>> CheckpointInfo(1, 2, 3, 48, 1024, "ab" * 32, True, True, "val_loss", 0.3).is_best
        True
    """

    id: int
    run_id: int
    epoch: int
    step: int
    size_bytes: int
    sha256: str
    is_best: bool
    is_last: bool
    monitor: str | None = None
    monitor_value: float | None = None
    created_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class CheckpointData:
    """A checkpoint with its verified bytes and resume state.

    `weights` are `.npz` bytes (see `experiments.store.npz_to_arrays`);
    `state` holds what the runner saved to resume (RNG state, counters).

    Example:
        >>> CheckpointData(CheckpointInfo(1, 2, 3, 0, 0, "", False, True), b"", None, {}).info.epoch
        3
    """

    info: CheckpointInfo
    weights: bytes
    optimizer_state: bytes | None
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LayerStatRow:
    """One layer's statistics after an epoch: what `Store.log_layer_stats` takes and returns.

    Args:
        layer: the layer's name.
        weight_norm: L2 norm of all the layer's weights.
        grad_norm: L2 norm of their gradients (last batch or epoch mean, as the runner decides).
        update_ratio: norm of the epoch's weight update divided by the weight norm.
        position: the layer's index in the model (filled in by the store from row order).
        epoch: the 1-based epoch (filled in by the store on reads).

    Example:
        >>> LayerStatRow("dense", 3.1, 0.02, 1e-3).layer
        'dense'
    """

    layer: str
    weight_norm: float | None
    grad_norm: float | None
    update_ratio: float | None
    position: int = 0
    epoch: int = 0


@dataclass(frozen=True, slots=True)
class NoteRecord:
    """A note on a run.

    Example:
        >>> NoteRecord(1, 2, "try a lower lr", None).text
        'try a lower lr'
    """

    id: int
    run_id: int
    text: str
    created_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log line of a run, with its id for `--follow` reads.

    Example:
        >>> LogRecord(1, 2, None, "INFO", "Epoch 1/2").message
        'Epoch 1/2'
    """

    id: int
    run_id: int
    created_at: dt.datetime | None
    level: str
    message: str


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """A registered worker and whether its heartbeat is recent.

    Example:
        >>> WorkerRecord("h:1:ab", "h", 1, 2, None, None, None, alive=True).slots
        2
    """

    id: str
    host: str
    pid: int
    slots: int
    started_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    stopped_at: dt.datetime | None
    alive: bool = False
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SweepRecord:
    """A sweep and the configuration it was launched with.

    Example:
        >>> SweepRecord(1, "shapes_cnn", "lr-grid", "grid", {}, None).method
        'grid'
    """

    id: int
    experiment: str
    name: str
    method: str
    config: dict[str, Any]
    created_at: dt.datetime | None
