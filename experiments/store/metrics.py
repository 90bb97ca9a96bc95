"""Store methods for metrics: batched inserts, the per-run summary, histories, live reads.

`log_metrics` writes a whole batch of rows in one transaction (one executemany)
and folds them into `metric_summaries` in the same transaction, so the final
and best value of every metric is always current without scanning `metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, and_, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from experiments.store.core import (
    StoreCore,
    chunks,
    filter_runs,
    require_run,
    run_record,
    run_select,
    touch_run,
)
from experiments.store.direction import Direction, is_better, metric_direction
from experiments.store.models import (
    METRIC_KINDS,
    Checkpoint,
    Experiment,
    LayerStat,
    Metric,
    MetricSummary,
    Run,
)
from experiments.store.records import MetricPoint, MetricRow, MetricSummaryRecord, RunRecord

_METRIC_TABLE = Metric.__table__
# The metric columns in `MetricPoint` field order: rows become points positionally,
# which is several times faster than through mappings for 100,000-row histories.
_POINT = tuple(_METRIC_TABLE.c[name] for name in MetricPoint._fields)
_SUMMARIES = MetricSummary.__table__
_SUMMARY_FIELDS = tuple(_SUMMARIES.c[name] for name in MetricSummaryRecord._fields)


class MetricsMixin(StoreCore):
    """Metric rows, their summaries, and the reads that curves and leaderboards need.

    Example:
        >>> store.log_metrics(run.id, [MetricRow("val_loss", 0.4, epoch=1, step=8, kind="epoch")])
        1
        >>> store.metric_summaries(run.id)["val_loss"].best_value
        0.4
    """

    def log_metrics(self, run_id: int, rows: Iterable[MetricRow | Mapping[str, Any]]) -> int:
        """Insert metric rows in one transaction and update the run's summaries.

        Rows may be `MetricRow`s or mappings with the same keys. Values are
        stored as floats; NaN becomes NULL (it counts for "final" but never for
        "best"). One process writes a given run's metrics at a time (its runner).

        Args:
            run_id: the run's id.
            rows: the rows, in the order they were observed.

        Returns:
            How many rows were written.

        Example:
            >>> store.log_metrics(12, [MetricRow("loss", 0.7, epoch=1, step=1)])
            1
        """
        now = time.time()
        values = [_row_tuple(run_id, row, now) for row in rows]
        if not values:
            return 0
        with self._write_for(run_id) as session:
            _insert_rows(session.connection(), values)
            _fold_into_summaries(session, run_id, values)
            if any(v[_KIND] == "epoch" for v in values):
                touch_run(session, run_id)
        return len(values)

    def metrics_since(
        self,
        run_id: int,
        after_id: int = 0,
        *,
        kind: str | None = None,
        keys: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[MetricPoint]:
        """A run's metric rows with an id greater than `after_id`, oldest first.

        Live views keep the largest id they have shown and pass it back, so
        each poll reads only the rows written since (a poll costs what is new,
        not what the run logged before). Read a run's history with
        `after_id=0`, then poll with the last id returned.

        Args:
            run_id: the run's id.
            after_id: the last id already seen (0 for everything).
            kind: only "epoch" or only "batch" rows.
            keys: only these metrics.
            limit: at most this many rows.

        Example:
            >>> points = store.metrics_since(12, after_id=last_seen, kind="batch")
        """
        table = _METRIC_TABLE
        if after_id > 0:
            # A poll wants the few newest rows: walk the primary key from after_id.
            # `run_id + 0` keeps the planner off the run index, which would scan
            # every row the run ever logged.
            statement = select(*_POINT).where(table.c.id > after_id, table.c.run_id + 0 == run_id)
        else:
            statement = select(*_POINT).where(table.c.run_id == run_id)
        statement = statement.order_by(table.c.id)
        if kind is not None:
            statement = statement.where(_METRIC_TABLE.c.kind == _check_kind(kind))
        if keys is not None:
            statement = statement.where(_METRIC_TABLE.c.key.in_(list(keys)))
        if limit is not None:
            statement = statement.limit(limit)
        with self._read() as session:
            return [MetricPoint(*row) for row in session.execute(statement).all()]

    def metric_history(
        self, run_id: int, *, kind: str = "epoch", keys: Sequence[str] | None = None
    ) -> dict[str, list[MetricPoint]]:
        """A run's metric curves: `{key: [points by step]}`.

        Args:
            run_id: the run's id.
            kind: "epoch" (one point per epoch) or "batch".
            keys: only these metrics; all when None.

        Example:
            >>> [p.value for p in store.metric_history(12)["val_loss"]]
            [0.71, 0.52, 0.44]
        """
        return self.histories([run_id], kind=kind, keys=keys)[run_id]

    def histories(
        self,
        run_ids: Iterable[int],
        *,
        kind: str = "epoch",
        keys: Sequence[str] | None = None,
    ) -> dict[int, dict[str, list[MetricPoint]]]:
        """Metric curves of several runs, for overlaid plots: `{run_id: {key: points}}`.

        Args:
            run_ids: the runs' ids.
            kind: "epoch" or "batch".
            keys: only these metrics; all when None.

        Example:
            >>> curves = store.histories([11, 12], keys=["val_accuracy"])
        """
        ids = list(run_ids)
        result: dict[int, dict[str, list[MetricPoint]]] = {i: {} for i in ids}
        table = _METRIC_TABLE
        with self._read() as session:
            for chunk in chunks(ids):
                statement = (
                    select(*_POINT)
                    .where(table.c.run_id.in_(chunk), table.c.kind == _check_kind(kind))
                    .order_by(table.c.run_id, table.c.key, table.c.step, table.c.id)
                )
                if keys is not None:
                    statement = statement.where(table.c.key.in_(list(keys)))
                for row in session.execute(statement).all():
                    point = MetricPoint(*row)
                    result[point.run_id].setdefault(point.key, []).append(point)
        return result

    def epoch_history(self, run_id: int) -> list[dict[str, Any]]:
        """A run's per-epoch logs as Keras' `History` would show them, one dict per epoch.

        Args:
            run_id: the run's id.

        Example:
            >>> store.epoch_history(12)[0]
            {'epoch': 1, 'accuracy': 0.61, 'loss': 0.93, 'val_accuracy': 0.7, 'val_loss': 0.8}
        """
        epochs: dict[int, dict[str, Any]] = {}
        for key, points in sorted(self.metric_history(run_id, kind="epoch").items()):
            for point in points:
                epochs.setdefault(point.epoch, {"epoch": point.epoch})[key] = point.value
        return [epochs[e] for e in sorted(epochs)]

    def metric_summaries(
        self, run_id: int, *, kind: str = "epoch"
    ) -> dict[str, MetricSummaryRecord]:
        """A run's final and best value of every metric: `{key: summary}`.

        Args:
            run_id: the run's id.
            kind: "epoch" or "batch".

        Example:
            >>> store.metric_summaries(12)["val_accuracy"].best_epoch
            7
        """
        return self.summaries_for([run_id], kind=kind)[run_id]

    def summaries_for(
        self,
        run_ids: Iterable[int] | None = None,
        *,
        keys: Sequence[str] | None = None,
        kind: str = "epoch",
    ) -> dict[int, dict[str, MetricSummaryRecord]]:
        """The summaries of several runs at once: `{run_id: {key: summary}}`.

        Args:
            run_ids: the runs' ids; every run's when None (a table of all runs
                reads them in one query).
            keys: only these metrics; all when None.
            kind: "epoch" or "batch".

        Example:
            >>> store.summaries_for([11, 12])[11]["loss"].final_value
            0.31
        """
        base = (
            select(*_SUMMARY_FIELDS)
            .where(_SUMMARIES.c.kind == _check_kind(kind))
            .order_by(_SUMMARIES.c.run_id, _SUMMARIES.c.key)
        )
        if keys is not None:
            base = base.where(_SUMMARIES.c.key.in_(list(keys)))
        ids = None if run_ids is None else list(run_ids)
        statements = (
            [base]
            if ids is None
            else [base.where(_SUMMARIES.c.run_id.in_(chunk)) for chunk in chunks(ids)]
        )
        result: dict[int, dict[str, MetricSummaryRecord]] = {i: {} for i in ids or ()}
        with self._read() as session:
            for statement in statements:
                for row in session.execute(statement).all():
                    summary = MetricSummaryRecord(*row)
                    result.setdefault(summary.run_id, {})[summary.key] = summary
        return result

    def metric_keys(self, *, kind: str = "epoch", experiment: str | None = None) -> list[str]:
        """Every metric name recorded (for sort menus and filter completion), sorted.

        Args:
            kind: "epoch" or "batch".
            experiment: only metrics of this experiment's runs.

        Example:
            >>> store.metric_keys()
            ['accuracy', 'loss', 'val_accuracy', 'val_loss']
        """
        statement = (
            select(MetricSummary.key)
            .where(MetricSummary.kind == _check_kind(kind))
            .distinct()
            .order_by(MetricSummary.key)
        )
        if experiment is not None:
            statement = (
                statement.join(Run, Run.id == MetricSummary.run_id)
                .join(Experiment, Experiment.id == Run.experiment_id)
                .where(Experiment.name == experiment)
            )
        with self._read() as session:
            return list(session.scalars(statement))

    def leaderboard(
        self,
        metric: str,
        *,
        which: Literal["best", "final"] = "best",
        kind: str = "epoch",
        limit: int = 20,
        experiment: str | None = None,
        status: str | Sequence[str] | None = None,
        where: ColumnElement[bool] | None = None,
        direction: Direction | None = None,
    ) -> list[tuple[RunRecord, float]]:
        """The top runs by one metric, best first, read from the summary table.

        Args:
            metric: the metric name (`val_accuracy`).
            which: rank by each run's "best" or "final" value.
            kind: "epoch" or "batch".
            limit: how many runs.
            experiment: only this experiment's runs.
            status: only runs in this status (or these statuses).
            where: an extra condition from `experiments.store.fields`.
            direction: "max" or "min"; guessed from the metric name when None.
                Equal values rank the newer run first when maximising, the
                older first when minimising (the order the index holds them in).

        Example:
            >>> [(r.name, v) for r, v in store.leaderboard("val_accuracy", limit=2)]
            [('brave-otter-12', 0.93), ('calm-heron-9', 0.91)]
        """
        if which not in ("best", "final"):
            raise ValueError(f"leaderboard ranks by 'best' or 'final', not {which!r}")
        direction = direction or metric_direction(metric)
        value = MetricSummary.best_value if which == "best" else MetricSummary.final_value
        statement = (
            run_select(with_spec=False)
            .add_columns(value.label("metric_value"))
            .join(
                MetricSummary,
                and_(
                    MetricSummary.run_id == Run.id,
                    MetricSummary.kind == _check_kind(kind),
                    MetricSummary.key == metric,
                ),
            )
            .where(value.is_not(None))
        )
        statement = filter_runs(statement, experiment, status, None, where)
        # Both keys in the index's direction: the scan yields the final order and
        # stops after `limit` matches.
        if direction == "max":
            order = (value.desc(), MetricSummary.run_id.desc())
        else:
            order = (value.asc(), MetricSummary.run_id.asc())
        statement = statement.order_by(*order).limit(limit)
        with self._read() as session:
            return [(run_record(row), row[-1]) for row in session.execute(statement).all()]

    def rewind_run(self, run_id: int, epoch: int) -> None:
        """Forget everything a run recorded after `epoch` (to resume from that epoch's checkpoint).

        Deletes metric rows, layer statistics and checkpoints of later epochs,
        recomputes the summaries from what remains, and sets `epochs_done`.
        Per-batch rows of the dead attempt are replaced, never duplicated.

        Args:
            run_id: the run's id.
            epoch: the last epoch to keep (0 forgets every epoch).

        Example:
            >>> store.rewind_run(12, 3)
        """
        if epoch < 0:
            raise ValueError(f"cannot rewind to epoch {epoch}; epochs start at 0 (nothing kept)")
        with self._write() as session:
            require_run(session, run_id)
            session.execute(delete(Metric).where(Metric.run_id == run_id, Metric.epoch > epoch))
            session.execute(
                delete(LayerStat).where(LayerStat.run_id == run_id, LayerStat.epoch > epoch)
            )
            session.execute(
                delete(Checkpoint).where(Checkpoint.run_id == run_id, Checkpoint.epoch > epoch)
            )
            _recompute_summaries(session, run_id)
            session.execute(
                update(Run).where(Run.id == run_id).values(epochs_done=epoch, current_batch=0)
            )
            touch_run(session, run_id)


# Positions in a metric row tuple, in the order of `_COLUMNS`.
_COLUMNS = ("run_id", "key", "kind", "epoch", "step", "value", "wall_time")
_KEY, _KIND, _EPOCH, _STEP, _VALUE = 1, 2, 3, 4, 5
_RowTuple = tuple[int, str, str, int, int, float | None, float]


def _insert_rows(connection: Connection, rows: list[_RowTuple]) -> None:
    """Write metric rows the fastest way each backend offers, inside the open transaction."""
    columns = ", ".join(_COLUMNS)
    if connection.dialect.name == "postgresql":
        # COPY streams rows ~10x faster than an executemany of INSERTs.
        with (
            connection.connection.cursor() as cursor,
            cursor.copy(f"COPY metrics ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    # Straight to sqlite3's executemany: SQLAlchemy's per-row parameter
    # processing would cost more than SQLite's insert itself.
    placeholders = ", ".join("?" * len(_COLUMNS))
    connection.exec_driver_sql(f"INSERT INTO metrics ({columns}) VALUES ({placeholders})", rows)


@dataclass
class _Summary:
    """The summary of one (kind, key) over some rows, mergeable into a stored one."""

    direction: Direction
    count: int
    final: tuple[float | None, int, int]
    best: tuple[float, int, int] | None

    @classmethod
    def of(cls, key: str, rows: Sequence[Sequence[Any]]) -> _Summary:
        direction = metric_direction(key)
        # max() keeps the first of equal positions: scan backwards so the latest row wins.
        last = max(reversed(rows), key=itemgetter(_EPOCH, _STEP))
        observed = [r for r in rows if r[_VALUE] is not None]
        pick = min if direction == "min" else max
        # min()/max() keep the first of equal values: the earliest best stays best.
        best = pick(observed, key=itemgetter(_VALUE)) if observed else None
        return cls(
            direction=direction,
            count=len(rows),
            final=(last[_VALUE], last[_EPOCH], last[_STEP]),
            best=None if best is None else (best[_VALUE], best[_EPOCH], best[_STEP]),
        )

    def merged_with(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """The stored summary's columns updated with these rows (which came after it)."""
        merged = dict(stored)
        value, epoch, step = self.final
        if stored["final_epoch"] is None or (epoch, step) >= (
            stored["final_epoch"],
            stored["final_step"],
        ):
            merged.update(final_value=value, final_epoch=epoch, final_step=step)
        if self.best is not None and is_better(self.best[0], stored["best_value"], self.direction):
            best_value, best_epoch, best_step = self.best
            merged.update(best_value=best_value, best_epoch=best_epoch, best_step=best_step)
        merged["count"] = stored["count"] + self.count
        return merged

    def as_values(self, run_id: int, kind: str, key: str) -> dict[str, Any]:
        best_value, best_epoch, best_step = self.best or (None, None, None)
        return {
            "run_id": run_id,
            "kind": kind,
            "key": key,
            "direction": self.direction,
            "count": self.count,
            "final_value": self.final[0],
            "final_epoch": self.final[1],
            "final_step": self.final[2],
            "best_value": best_value,
            "best_epoch": best_epoch,
            "best_step": best_step,
        }


def _row_tuple(run_id: int, row: MetricRow | Mapping[str, Any], now: float) -> _RowTuple:
    if isinstance(row, MetricRow):
        key, value, epoch, step, kind, wall_time = (
            row.key,
            row.value,
            row.epoch,
            row.step,
            row.kind,
            row.wall_time,
        )
    else:
        try:
            key, value, epoch, step = row["key"], row["value"], row["epoch"], row["step"]
        except KeyError as exc:
            raise ValueError(
                f"metric row {dict(row)!r} lacks {exc.args[0]!r}; rows need key, value, "
                "epoch and step (kind and wall_time are optional)"
            ) from None
        kind, wall_time = row.get("kind", "batch"), row.get("wall_time")
    if kind not in METRIC_KINDS:
        raise ValueError(f"metric kind {kind!r} of {key!r} is unknown; use 'batch' or 'epoch'")
    if value is not None:
        value = float(value)
        if value != value:  # NaN: SQLite cannot store it, so both backends store NULL
            value = None
    return (
        run_id,
        key,
        kind,
        int(epoch),
        int(step),
        value,
        now if wall_time is None else float(wall_time),
    )


def _summarise(rows: Iterable[Sequence[Any]]) -> dict[tuple[str, str], _Summary]:
    groups: dict[tuple[str, str], list[Sequence[Any]]] = {}
    for row in rows:
        groups.setdefault((row[_KIND], row[_KEY]), []).append(row)
    return {slot: _Summary.of(slot[1], group) for slot, group in groups.items()}


_SUMMARY_UPDATE = (
    update(_SUMMARIES)
    .where(
        _SUMMARIES.c.run_id == bindparam("b_run_id"),
        _SUMMARIES.c.kind == bindparam("b_kind"),
        _SUMMARIES.c.key == bindparam("b_key"),
    )
    .values(
        {
            name: bindparam(name)
            for name in (
                "count",
                "final_value",
                "final_epoch",
                "final_step",
                "best_value",
                "best_epoch",
                "best_step",
            )
        }
    )
)


def _fold_into_summaries(session: Session, run_id: int, rows: list[_RowTuple]) -> None:
    summaries = _summarise(rows)
    keys = sorted({key for _, key in summaries})
    stored = {
        (row["kind"], row["key"]): row
        for row in session.execute(
            select(_SUMMARIES).where(_SUMMARIES.c.run_id == run_id, _SUMMARIES.c.key.in_(keys))
        ).mappings()
    }
    fresh, changed = [], []
    for (kind, key), summary in summaries.items():
        previous = stored.get((kind, key))
        if previous is None:
            fresh.append(summary.as_values(run_id, kind, key))
        else:
            merged = summary.merged_with(previous)
            changed.append(merged | {"b_run_id": run_id, "b_kind": kind, "b_key": key})
    if fresh:
        session.execute(insert(_SUMMARIES), fresh)
    if changed:
        session.execute(_SUMMARY_UPDATE, changed)


def _recompute_summaries(session: Session, run_id: int) -> None:
    session.execute(delete(MetricSummary).where(MetricSummary.run_id == run_id))
    table = _METRIC_TABLE
    rows = session.execute(
        select(*(table.c[name] for name in _COLUMNS))
        .where(table.c.run_id == run_id)
        .order_by(table.c.id)
    ).all()
    summaries = _summarise(rows)
    if summaries:
        session.execute(
            insert(_SUMMARIES),
            [s.as_values(run_id, kind, key) for (kind, key), s in summaries.items()],
        )


def _check_kind(kind: str) -> str:
    if kind not in METRIC_KINDS:
        raise ValueError(f"metric kind {kind!r} is unknown; use 'epoch' or 'batch'")
    return kind
