"""Store methods that aggregate runs by experiment or sweep in the database.

A dashboard grouping 10,000 runs must not pull them all into Python to count
them: the database groups, counts statuses and picks each group's best metric
value in two `GROUP BY` queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select

from experiments.store.core import StoreCore, filter_runs
from experiments.store.direction import metric_direction
from experiments.store.models import Experiment, MetricSummary, Run, Sweep

GroupBy = Literal["experiment", "sweep"]
GROUP_BY: tuple[GroupBy, ...] = ("experiment", "sweep")


@dataclass(frozen=True)
class RunGroup:
    """One group of runs and its aggregates.

    Attributes:
        key: the group's key: the experiment's name, or the sweep's id (None for
            runs that belong to no sweep).
        name: what to show: the experiment's name, `#id name` of a sweep, or "no sweep".
        runs: how many runs of the filter are in the group.
        statuses: `{status: count}` (statuses with no run left out).
        best: `{metric: best value}` of the runs' best values ("min" or "max" as
            the metric's name says), for the metrics asked for that any run logged.

    Example:
        >>> RunGroup("shapes_cnn", "shapes_cnn", 3, {"completed": 3}, {"val_loss": 0.2}).runs
        3
    """

    key: Any
    name: str
    runs: int
    statuses: dict[str, int] = field(default_factory=dict)
    best: dict[str, float] = field(default_factory=dict)


def group_key(by: GroupBy) -> ColumnElement[Any]:
    """The column runs are grouped by.

    Args:
        by: "experiment" or "sweep".

    Example:
        >>> str(group_key("sweep"))
        'runs.sweep_id'
    """
    if by == "experiment":
        return Experiment.name
    if by == "sweep":
        return Run.sweep_id
    raise ValueError(f"cannot group runs by {by!r}; use one of {', '.join(GROUP_BY)}")


def group_order(by: GroupBy) -> list[ColumnElement[Any]]:
    """Sort expressions that list runs group by group, in the order `group_runs` gives groups.

    Put them before the sort within groups: `list_runs(order_by=[*group_order("sweep"), ...])`.
    Runs outside any sweep come last on every database (SQLite sorts NULL first,
    PostgreSQL last).

    Args:
        by: "experiment" or "sweep".

    Example:
        >>> runs = store.list_runs(order_by=[*group_order("experiment"), metric_value("loss")])
    """
    key = group_key(by)
    return [key.is_(None), key] if by == "sweep" else [key]


class GroupsMixin(StoreCore):
    """Runs grouped by experiment or sweep, with counts and best metrics, computed by the database.

    Example:
        >>> [(g.name, g.runs) for g in store.group_runs("experiment")]
        [('mnist_mlp', 4), ('shapes_cnn', 12)]
    """

    def group_runs(
        self,
        by: GroupBy,
        *,
        where: ColumnElement[bool] | None = None,
        metrics: Sequence[str] = (),
    ) -> list[RunGroup]:
        """The groups of the runs matching `where`, in the order of their key.

        Experiments come by name; sweeps by id, with the runs outside any sweep
        last. Groups with no matching run are left out.

        Args:
            by: "experiment" or "sweep".
            where: a filter built from `experiments.store.fields` (as `list_runs` takes).
            metrics: per-epoch metrics whose best value per group to compute.

        Example:
            >>> group = store.group_runs("experiment", metrics=["val_loss"])[0]
            >>> group.statuses, group.best
            ({'completed': 2, 'queued': 1}, {'val_loss': 0.21})
        """
        key = group_key(by).label("group_key")
        base = select(key, Run.status, func.count(Run.id)).join_from(
            Run, Experiment, Run.experiment_id == Experiment.id
        )
        statuses = filter_runs(base, where=where).group_by(key, Run.status)
        best_columns = select(
            key,
            MetricSummary.key,
            func.min(MetricSummary.best_value),
            func.max(MetricSummary.best_value),
        ).join_from(Run, Experiment, Run.experiment_id == Experiment.id)
        best = (
            filter_runs(best_columns, where=where)
            .join(MetricSummary, MetricSummary.run_id == Run.id)
            .where(MetricSummary.kind == "epoch", MetricSummary.key.in_(list(metrics)))
            .group_by(key, MetricSummary.key)
        )
        counts: dict[Any, dict[str, int]] = {}
        bests: dict[Any, dict[str, float]] = {}
        with self._read() as session:
            for group, status, n in session.execute(statuses).all():
                counts.setdefault(group, {})[status] = int(n)
            if metrics:
                for group, metric, low, high in session.execute(best).all():
                    value = low if metric_direction(metric) == "min" else high
                    if value is not None:
                        bests.setdefault(group, {})[metric] = float(value)
            names: dict[Any, str] = {}
            if by == "sweep":
                ids = [k for k in counts if k is not None]
                if ids:
                    rows = session.execute(select(Sweep.id, Sweep.name).where(Sweep.id.in_(ids)))
                    names = {i: f"sweep #{i} {name}" for i, name in rows.all()}
        ordered = sorted(counts, key=lambda k: (k is None, k if k is not None else 0))
        return [
            RunGroup(
                key=group,
                name=names.get(group, f"sweep #{group}")
                if by == "sweep" and group is not None
                else ("no sweep" if group is None else str(group)),
                runs=sum(counts[group].values()),
                statuses=dict(sorted(counts[group].items())),
                best={m: bests[group][m] for m in metrics if m in bests.get(group, {})},
            )
            for group in ordered
        ]
