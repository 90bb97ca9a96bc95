"""Store methods for metrics: batched inserts, the per-run summary, histories, live reads.

`log_metrics` writes a whole batch of rows in one transaction (one executemany)
and folds them into `metric_summaries` in the same transaction, so the final
and best value of every metric is always current without scanning `metrics`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, delete, insert, select, update
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


class MetricsMixin(StoreCore):
    """Metric rows, their summaries, and the reads that curves and leaderboards need."""

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
        values = [_row_values(run_id, row, now) for row in rows]
        if not values:
            return 0
        with self._write() as session:
            session.execute(insert(_METRIC_TABLE), values)
            _fold_into_summaries(session, run_id, values)
            if any(v["kind"] == "epoch" for v in values):
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
        each poll reads only new rows.

        Args:
            run_id: the run's id.
            after_id: the last id already seen (0 for everything).
            kind: only "epoch" or only "batch" rows.
            keys: only these metrics.
            limit: at most this many rows.

        Example:
            >>> points = store.metrics_since(12, after_id=last_seen, kind="batch")
        """
        statement = (
            select(_METRIC_TABLE)
            .where(_METRIC_TABLE.c.run_id == run_id, _METRIC_TABLE.c.id > after_id)
            .order_by(_METRIC_TABLE.c.id)
        )
        if kind is not None:
            statement = statement.where(_METRIC_TABLE.c.kind == _check_kind(kind))
        if keys is not None:
            statement = statement.where(_METRIC_TABLE.c.key.in_(list(keys)))
        if limit is not None:
            statement = statement.limit(limit)
        with self._read() as session:
            return [MetricPoint(**row) for row in session.execute(statement).mappings()]

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
                    select(table)
                    .where(table.c.run_id.in_(chunk), table.c.kind == _check_kind(kind))
                    .order_by(table.c.run_id, table.c.key, table.c.step, table.c.id)
                )
                if keys is not None:
                    statement = statement.where(table.c.key.in_(list(keys)))
                for row in session.execute(statement).mappings():
                    point = MetricPoint(**row)
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
        self, run_ids: Iterable[int], *, kind: str = "epoch"
    ) -> dict[int, dict[str, MetricSummaryRecord]]:
        """The summaries of several runs at once: `{run_id: {key: summary}}`.

        Args:
            run_ids: the runs' ids.
            kind: "epoch" or "batch".

        Example:
            >>> store.summaries_for([11, 12])[11]["loss"].final_value
            0.31
        """
        ids = list(run_ids)
        result: dict[int, dict[str, MetricSummaryRecord]] = {i: {} for i in ids}
        with self._read() as session:
            for chunk in chunks(ids):
                rows = session.scalars(
                    select(MetricSummary)
                    .where(
                        MetricSummary.run_id.in_(chunk),
                        MetricSummary.kind == _check_kind(kind),
                    )
                    .order_by(MetricSummary.run_id, MetricSummary.key)
                )
                for summary in rows:
                    result[summary.run_id][summary.key] = _summary_record(summary)
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
        order = value.desc() if direction == "max" else value.asc()
        statement = statement.order_by(order, Run.id).limit(limit)
        with self._read() as session:
            rows = session.execute(statement).mappings().all()
            return [(run_record(row, with_spec=False), row["metric_value"]) for row in rows]

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


@dataclass
class _Accumulator:
    """Running summary of one (kind, key) while folding rows in."""

    direction: Direction
    count: int = 0
    final_value: float | None = None
    final_epoch: int | None = None
    final_step: int | None = None
    best_value: float | None = None
    best_epoch: int | None = None
    best_step: int | None = None

    def add(self, value: float | None, epoch: int, step: int) -> None:
        self.count += 1
        if self.final_epoch is None or (epoch, step) >= (self.final_epoch, self.final_step):
            self.final_value, self.final_epoch, self.final_step = value, epoch, step
        if value is not None and is_better(value, self.best_value, self.direction):
            self.best_value, self.best_epoch, self.best_step = value, epoch, step

    def merge_into(self, summary: MetricSummary) -> None:
        if summary.final_epoch is None or (self.final_epoch, self.final_step) >= (
            summary.final_epoch,
            summary.final_step,
        ):
            summary.final_value = self.final_value
            summary.final_epoch = self.final_epoch
            summary.final_step = self.final_step
        if self.best_value is not None and is_better(
            self.best_value, summary.best_value, summary.direction
        ):
            summary.best_value = self.best_value
            summary.best_epoch = self.best_epoch
            summary.best_step = self.best_step
        summary.count += self.count

    def as_values(self, run_id: int, kind: str, key: str) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "kind": kind,
            "key": key,
            "direction": self.direction,
            "count": self.count,
            "final_value": self.final_value,
            "final_epoch": self.final_epoch,
            "final_step": self.final_step,
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "best_step": self.best_step,
        }


def _row_values(run_id: int, row: MetricRow | Mapping[str, Any], now: float) -> dict[str, Any]:
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
        if math.isnan(value):
            value = None
    return {
        "run_id": run_id,
        "key": key,
        "kind": kind,
        "epoch": int(epoch),
        "step": int(step),
        "value": value,
        "wall_time": now if wall_time is None else float(wall_time),
    }


def _accumulate(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], _Accumulator]:
    accumulators: dict[tuple[str, str], _Accumulator] = {}
    for row in rows:
        slot = (row["kind"], row["key"])
        accumulator = accumulators.get(slot)
        if accumulator is None:
            accumulator = accumulators[slot] = _Accumulator(metric_direction(row["key"]))
        accumulator.add(row["value"], row["epoch"], row["step"])
    return accumulators


def _fold_into_summaries(session: Session, run_id: int, rows: list[dict[str, Any]]) -> None:
    accumulators = _accumulate(rows)
    keys = sorted({key for _, key in accumulators})
    existing = {
        (s.kind, s.key): s
        for s in session.scalars(
            select(MetricSummary).where(MetricSummary.run_id == run_id, MetricSummary.key.in_(keys))
        )
    }
    fresh = []
    for (kind, key), accumulator in accumulators.items():
        summary = existing.get((kind, key))
        if summary is None:
            fresh.append(accumulator.as_values(run_id, kind, key))
        else:
            accumulator.merge_into(summary)
    if fresh:
        session.execute(insert(MetricSummary), fresh)
    session.flush()


def _recompute_summaries(session: Session, run_id: int) -> None:
    session.execute(delete(MetricSummary).where(MetricSummary.run_id == run_id))
    rows = session.execute(
        select(_METRIC_TABLE.c.kind, _METRIC_TABLE.c.key, _METRIC_TABLE.c.value)
        .add_columns(_METRIC_TABLE.c.epoch, _METRIC_TABLE.c.step)
        .where(_METRIC_TABLE.c.run_id == run_id)
        .order_by(_METRIC_TABLE.c.id)
    ).mappings()
    accumulators = _accumulate(rows)
    if accumulators:
        session.execute(
            insert(MetricSummary),
            [a.as_values(run_id, kind, key) for (kind, key), a in accumulators.items()],
        )


def _summary_record(summary: MetricSummary) -> MetricSummaryRecord:
    return MetricSummaryRecord(
        run_id=summary.run_id,
        kind=summary.kind,
        key=summary.key,
        direction=summary.direction,
        count=summary.count,
        final_value=summary.final_value,
        final_epoch=summary.final_epoch,
        final_step=summary.final_step,
        best_value=summary.best_value,
        best_epoch=summary.best_epoch,
        best_step=summary.best_step,
    )


def _check_kind(kind: str) -> str:
    if kind not in METRIC_KINDS:
        raise ValueError(f"metric kind {kind!r} is unknown; use 'epoch' or 'batch'")
    return kind
