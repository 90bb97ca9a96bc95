"""SQLAlchemy expressions over runs, their params and metric summaries: filter and sort hooks.

`Store.list_runs(where=..., order_by=...)` takes expressions built here; the
filter-expression parser turns `metrics.val_accuracy > 0.9 and
params.fit.batch_size = 64` into them. Every value is a bound parameter, so no
user text ever becomes SQL. Queries these expressions appear in select from
`runs` joined to `experiments`; param and metric values are correlated scalar
subqueries answered by primary-key lookups.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, exists, select

from experiments.store.models import Experiment, MetricSummary, Param, Run, Tag

RUN_FIELDS: dict[str, Any] = {
    "id": Run.id,
    "name": Run.name,
    "experiment": Experiment.name,
    "status": Run.status,
    "seed": Run.seed,
    "priority": Run.priority,
    "attempt": Run.attempt,
    "created_at": Run.created_at,
    "updated_at": Run.updated_at,
    "started_at": Run.started_at,
    "finished_at": Run.finished_at,
    "heartbeat_at": Run.heartbeat_at,
    "epochs_done": Run.epochs_done,
    "epochs_total": Run.epochs_total,
    "worker": Run.worker_id,
    "sweep": Run.sweep_id,
    "parent": Run.parent_run_id,
    "spec_hash": Run.spec_hash,
}

SummaryField = Literal["final", "best", "best_epoch", "final_epoch", "count"]
_SUMMARY_COLUMNS = {
    "final": MetricSummary.final_value,
    "best": MetricSummary.best_value,
    "best_epoch": MetricSummary.best_epoch,
    "final_epoch": MetricSummary.final_epoch,
    "count": MetricSummary.count,
}


def run_field(name: str) -> ColumnElement[Any]:
    """The column behind a run field name (`status`, `experiment`, `epochs_done`, ...).

    Args:
        name: one of `RUN_FIELDS`.

    Example:
        >>> str(run_field("status"))
        'runs.status'
    """
    try:
        return RUN_FIELDS[name]
    except KeyError:
        allowed = ", ".join(sorted(RUN_FIELDS))
        raise ValueError(f"unknown run field {name!r}; use one of {allowed}") from None


def param_value(key: str, *, numeric: bool = False) -> ColumnElement[Any]:
    """A run's value of one flattened parameter (NULL when the run lacks it).

    Args:
        key: the dotted parameter path, e.g. `fit.batch_size`.
        numeric: compare as a number (`value_num`) instead of text (`value_text`).

    Example:
        >>> expression = param_value("fit.batch_size", numeric=True) == 64
    """
    column = Param.value_num if numeric else Param.value_text
    return (
        select(column)
        .where(Param.run_id == Run.id, Param.key == key)
        .correlate(Run)
        .scalar_subquery()
    )


def metric_value(
    key: str, which: SummaryField = "final", *, kind: str = "epoch"
) -> ColumnElement[Any]:
    """A run's final or best value of one metric, read from the summary table.

    Args:
        key: the metric name (`val_accuracy`).
        which: "final", "best", "best_epoch", "final_epoch" or "count".
        kind: "epoch" (per-epoch logs) or "batch" (per-batch values).

    Example:
        >>> expression = metric_value("val_accuracy", "best") > 0.9
    """
    if which not in _SUMMARY_COLUMNS:
        raise ValueError(
            f"unknown metric summary {which!r}; use one of {', '.join(_SUMMARY_COLUMNS)}"
        )
    return (
        select(_SUMMARY_COLUMNS[which])
        .where(MetricSummary.run_id == Run.id, MetricSummary.kind == kind, MetricSummary.key == key)
        .correlate(Run)
        .scalar_subquery()
    )


def tag_value(key: str) -> ColumnElement[Any]:
    """A run's value of a tag (NULL when untagged).

    Args:
        key: the tag key.

    Example:
        >>> expression = tag_value("stage") == "final"
    """
    return (
        select(Tag.value)
        .where(Tag.run_id == Run.id, Tag.key == key)
        .correlate(Run)
        .scalar_subquery()
    )


def has_tag(key: str, value: str | None = None) -> ColumnElement[bool]:
    """Whether a run carries a tag (with the given value, if one is given).

    Args:
        key: the tag key.
        value: the value the tag must have; any value when None.

    Example:
        >>> expression = has_tag("baseline")
    """
    condition = and_(Tag.run_id == Run.id, Tag.key == key)
    if value is not None:
        condition = and_(condition, Tag.value == value)
    return exists().where(condition).correlate(Run)
