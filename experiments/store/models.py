"""The tracking store's tables as SQLAlchemy 2.x typed ORM classes.

Every fact about a run lives in one of these tables: the database is the single
source of truth. Times are stored in UTC (`UTCDateTime`); metric wall times are
Unix seconds as floats because they are written 100,000 rows at a time.
Migrations under `experiments/store/migrations/` create exactly this schema.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from experiments import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RUN_STATUSES = ("queued", "running", "completed", "failed", "cancelled", "interrupted")
METRIC_KINDS = ("epoch", "batch")

# SQLite only aliases the rowid (fast autoincrement) for a column typed exactly INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite has no time zones and hands back naive values; PostgreSQL hands back
    the session's zone. Both are normalised to aware UTC so comparisons never
    mix naive and aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store times must be timezone-aware; use datetime.now(timezone.utc)")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC (`experiments.clock`, which tests can fix)."""
    return clock.now()


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention, so constraint names are stable."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Experiment(Base):
    """A named group of runs (the `[experiment]` section of a spec).

    Example:
        >>> Experiment(name="shapes_cnn", description="CIFAR-10 style CNN").name
        'shapes_cnn'
    """

    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Sweep(Base):
    """A hyperparameter sweep: the runs it queued point at it through `runs.sweep_id`.

    Example:
        >>> Sweep(experiment_id=1, name="lr-grid", method="grid", config={}).method
        'grid'
    """

    __tablename__ = "sweeps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(32))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Run(Base):
    """One execution of a resolved spec, from queued to a final status.

    Example:
        >>> Run(experiment_id=1, name="brave-otter-1", status="queued", spec={}).status
        'queued'
    """

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted')",
            name="status",
        ),
        # Claiming walks this index: queued runs by priority then age.
        Index("ix_runs_status_priority_id", "status", "priority", "id"),
        Index("ix_runs_experiment_id", "experiment_id"),
        Index("ix_runs_updated_at", "updated_at"),
        Index("ix_runs_sweep_id", "sweep_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec_hash: Mapped[str] = mapped_column(String(64), default="")
    seed: Mapped[int | None] = mapped_column(BigInteger)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    worker_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    epochs_done: Mapped[int] = mapped_column(Integer, default=0)
    epochs_total: Mapped[int | None] = mapped_column(Integer)
    current_batch: Mapped[int] = mapped_column(Integer, default=0)
    batches_per_epoch: Mapped[int | None] = mapped_column(Integer)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    sweep_id: Mapped[int | None] = mapped_column(ForeignKey("sweeps.id", ondelete="SET NULL"))
    attempt: Mapped[int] = mapped_column(Integer, default=1)


class Param(Base):
    """One flattened hyperparameter of a run (`fit.batch_size` -> 64).

    `value_text` always holds the value (strings as-is, everything else as
    JSON); `value_num` holds it as a float when it is a number or a boolean,
    so filters compare numbers numerically; `value_type` (str, int, float,
    bool, null or json) tells how to turn the text back into the value.

    Example:
        >>> Param(run_id=1, key="fit.batch_size", value_text="64", value_type="int").key
        'fit.batch_size'
    """

    __tablename__ = "params"
    __table_args__ = (
        Index("ix_params_key_value_num", "key", "value_num"),
        Index("ix_params_key_value_text", "key", "value_text"),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    value_text: Mapped[str] = mapped_column(Text)
    value_num: Mapped[float | None] = mapped_column(Float)
    value_type: Mapped[str] = mapped_column(String(8))


class Metric(Base):
    """One observed metric value: per batch (`kind="batch"`) or per epoch (`kind="epoch"`).

    `epoch` is 1-based like Keras' progress display; `step` is the run's global
    batch counter (an epoch row carries the step of the epoch's last batch).
    `value` is NULL when the value was NaN (SQLite cannot store NaN).

    Example:
        >>> Metric(run_id=1, key="loss", kind="epoch", epoch=1, step=16, value=0.7).kind
        'epoch'
    """

    __tablename__ = "metrics"
    __table_args__ = (
        CheckConstraint("kind IN ('epoch', 'batch')", name="kind"),
        # A run's curves by key and step; kind second so per-epoch reads skip batch rows.
        Index("ix_metrics_run_id_kind_key_step", "run_id", "kind", "key", "step"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    epoch: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float)
    wall_time: Mapped[float] = mapped_column(Float)


class MetricSummary(Base):
    """Final and best value of one metric of one run, kept current on every insert.

    Listing or sorting 10,000 runs by a metric reads this table, never `metrics`.
    `direction` is "min" for loss-like keys and "max" for accuracy-like ones.

    Example:
        >>> MetricSummary(run_id=1, kind="epoch", key="val_accuracy", direction="max").direction
        'max'
    """

    __tablename__ = "metric_summaries"
    __table_args__ = (
        CheckConstraint("direction IN ('min', 'max')", name="direction"),
        # Leaderboards walk these in order and stop at the limit; run_id last makes
        # the index order total, so no sort is needed even without planner statistics.
        Index("ix_metric_summaries_key_best_value", "kind", "key", "best_value", "run_id"),
        Index("ix_metric_summaries_key_final_value", "kind", "key", "final_value", "run_id"),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    count: Mapped[int] = mapped_column(Integer, default=0)
    final_value: Mapped[float | None] = mapped_column(Float)
    final_epoch: Mapped[int | None] = mapped_column(Integer)
    final_step: Mapped[int | None] = mapped_column(Integer)
    best_value: Mapped[float | None] = mapped_column(Float)
    best_epoch: Mapped[int | None] = mapped_column(Integer)
    best_step: Mapped[int | None] = mapped_column(Integer)


class Checkpoint(Base):
    """A run's weights after an epoch as `.npz` bytes, with optimizer and resume state.

    Example:
        >>> Checkpoint(run_id=1, epoch=2, weights=b"", sha256="", size_bytes=0).epoch
        2
    """

    __tablename__ = "checkpoints"
    __table_args__ = (Index("ix_checkpoints_run_id_epoch", "run_id", "epoch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    epoch: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer, default=0)
    weights: Mapped[bytes] = mapped_column(LargeBinary)
    optimizer_state: Mapped[bytes | None] = mapped_column(LargeBinary)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    optimizer_sha256: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    monitor: Mapped[str | None] = mapped_column(String(200))
    monitor_value: Mapped[float | None] = mapped_column(Float)
    is_best: Mapped[bool] = mapped_column(Boolean, default=False)
    is_last: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LayerStat(Base):
    """Per-epoch health of one layer: weight norm, gradient norm and update ratio.

    Example:
        >>> LayerStat(run_id=1, epoch=1, layer="dense", position=0, weight_norm=3.2).layer
        'dense'
    """

    __tablename__ = "layer_stats"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    weight_norm: Mapped[float | None] = mapped_column(Float)
    grad_norm: Mapped[float | None] = mapped_column(Float)
    update_ratio: Mapped[float | None] = mapped_column(Float)


class Tag(Base):
    """A key/value label on a run.

    Example:
        >>> Tag(run_id=1, key="baseline", value="").key
        'baseline'
    """

    __tablename__ = "tags"
    __table_args__ = (Index("ix_tags_key_value", "key", "value"),)

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class Note(Base):
    """A free-text note a person attached to a run.

    Example:
        >>> Note(run_id=1, text="lr too high").text
        'lr too high'
    """

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_run_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LogLine(Base):
    """One line of a run's log (what training printed, warnings, errors).

    Example:
        >>> LogLine(run_id=1, level="INFO", message="Epoch 1/2").level
        'INFO'
    """

    __tablename__ = "log_lines"
    __table_args__ = (Index("ix_log_lines_run_id_id", "run_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    level: Mapped[str] = mapped_column(String(16), default="INFO")
    message: Mapped[str] = mapped_column(Text)


class Environment(Base):
    """Where a run executed: Python, platform, BLAS and package versions.

    Example:
        >>> Environment(run_id=1, python="3.11.7", platform="Linux", info={}).python
        '3.11.7'
    """

    __tablename__ = "environments"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    python: Mapped[str] = mapped_column(String(100))
    platform: Mapped[str] = mapped_column(String(300))
    numpy: Mapped[str | None] = mapped_column(String(50))
    blas: Mapped[str | None] = mapped_column(String(300))
    info: Mapped[dict[str, Any]] = mapped_column(JSON)
    captured_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Worker(Base):
    """A background worker process that claims and executes queued runs.

    Example:
        >>> Worker(id="host:123:ab12", host="host", pid=123, slots=1).slots
        1
    """

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    slots: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
