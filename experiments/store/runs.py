"""Store methods for experiments, sweeps, runs and their params, tags and notes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from experiments.store.core import (
    StoreCore,
    chunks,
    filter_runs,
    load_run,
    require_run,
    resolve_in,
    run_record,
    run_select,
    touch_run,
)
from experiments.store.errors import InvalidStateError, NotFoundError
from experiments.store.models import Experiment, Note, Param, Run, Sweep, Tag, utcnow
from experiments.store.names import readable_name
from experiments.store.params import (
    ParamValue,
    decode_param,
    encode_param,
    flatten_params,
    spec_hash,
)
from experiments.store.records import ExperimentRecord, NoteRecord, RunRecord, SweepRecord

RUNS = Run.__table__


class RunsMixin(StoreCore):
    """Creating, reading, listing and deleting runs; experiments, sweeps, tags and notes.

    Example:
        >>> run = store.create_run("demo", {"fit": {"epochs": 1}})
        >>> store.get_run(run.name).status
        'queued'
    """

    # ---- experiments -------------------------------------------------------------

    def ensure_experiment(self, name: str, description: str | None = None) -> ExperimentRecord:
        """The experiment with this name, created if missing (its description updated if given).

        Args:
            name: the experiment's name.
            description: a new description, or None to keep the current one.

        Example:
            >>> store.ensure_experiment("shapes_cnn", "CNN on shapes").name
            'shapes_cnn'
        """
        with self._write() as session:
            experiment = _ensure_experiment(session, name, description)
            runs = session.scalar(
                select(func.count(Run.id)).where(Run.experiment_id == experiment.id)
            )
            return _experiment_record(experiment, int(runs or 0))

    def list_experiments(self) -> list[ExperimentRecord]:
        """Every experiment with its number of runs, by name.

        Example:
            >>> [e.name for e in store.list_experiments()]
            ['mnist_mlp', 'shapes_cnn']
        """
        counts = (
            select(Run.experiment_id, func.count(Run.id).label("n"))
            .group_by(Run.experiment_id)
            .subquery()
        )
        with self._read() as session:
            rows = session.execute(
                select(Experiment, func.coalesce(counts.c.n, 0))
                .outerjoin(counts, counts.c.experiment_id == Experiment.id)
                .order_by(Experiment.name)
            ).all()
            return [_experiment_record(e, n) for e, n in rows]

    # ---- sweeps ------------------------------------------------------------------

    def create_sweep(
        self, experiment: str, name: str, method: str, config: Mapping[str, Any]
    ) -> SweepRecord:
        """Record a sweep; its runs are created with `create_run(..., sweep_id=sweep.id)`.

        Args:
            experiment: the experiment's name (created if missing).
            name: a label for the sweep.
            method: "grid" or "random".
            config: the `[sweep]` table as launched.

        Example:
            >>> store.create_sweep("shapes_cnn", "lr-grid", "grid", {"method": "grid"}).id
            1
        """
        with self._write() as session:
            experiment_row = _ensure_experiment(session, experiment, None)
            sweep = Sweep(
                experiment_id=experiment_row.id, name=name, method=method, config=dict(config)
            )
            session.add(sweep)
            session.flush()
            return _sweep_record(sweep, experiment_row.name)

    def get_sweep(self, sweep_id: int) -> SweepRecord:
        """One sweep by id.

        Args:
            sweep_id: the sweep's id.

        Example:
            >>> store.get_sweep(1).method
            'grid'
        """
        with self._read() as session:
            row = session.execute(
                select(Sweep, Experiment.name).join(Experiment).where(Sweep.id == sweep_id)
            ).first()
            if row is None:
                raise NotFoundError(f"no sweep has id {sweep_id}; list them with the sweeps view")
            return _sweep_record(row[0], row[1])

    def list_sweeps(self, experiment: str | None = None) -> list[SweepRecord]:
        """Sweeps, newest first, optionally of one experiment.

        Args:
            experiment: only this experiment's sweeps when given.

        Example:
            >>> [s.name for s in store.list_sweeps("shapes_cnn")]
            ['lr-grid']
        """
        statement = select(Sweep, Experiment.name).join(Experiment).order_by(Sweep.id.desc())
        if experiment is not None:
            statement = statement.where(Experiment.name == experiment)
        with self._read() as session:
            return [_sweep_record(s, e) for s, e in session.execute(statement).all()]

    # ---- runs --------------------------------------------------------------------

    def create_run(
        self,
        experiment: str,
        spec: Mapping[str, Any],
        *,
        name: str | None = None,
        description: str | None = None,
        seed: int | None = None,
        priority: int = 0,
        epochs_total: int | None = None,
        parent_run_id: int | None = None,
        sweep_id: int | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RunRecord:
        """Queue a run of a resolved spec; its params are flattened and stored with it.

        Args:
            experiment: the experiment's name (created if missing).
            spec: the fully resolved spec as plain JSON-compatible data.
            name: a unique readable name; generated (`brave-otter-12`) when None.
            description: the experiment's description, updated when given.
            seed: the run's random seed.
            priority: larger runs first; equal priorities run oldest first.
            epochs_total: the planned number of epochs, for progress.
            parent_run_id: the run this one reruns.
            sweep_id: the sweep this run is a trial of.
            tags: key/value tags to attach.

        Example:
            >>> run = store.create_run("demo", {"fit": {"epochs": 2}}, seed=0, epochs_total=2)
            >>> run.status
            'queued'
        """
        if name is not None:
            _check_run_name(name)
        spec_dict = dict(spec)
        params = flatten_params(spec_dict)
        try:
            with self._write() as session:
                experiment_id = _ensure_experiment_id(session, experiment, description)
                if name is not None and session.scalar(select(Run.id).where(Run.name == name)):
                    raise InvalidStateError(
                        f"a run named {name!r} already exists; choose another name"
                    )
                now = utcnow()
                # Core statements: creating 10,000 runs must not pay for the unit of work.
                run_id = session.execute(
                    insert(RUNS)
                    .values(
                        experiment_id=experiment_id,
                        name=name or f"pending-{uuid.uuid4().hex}",
                        status="queued",
                        spec=spec_dict,
                        spec_hash=spec_hash(spec_dict),
                        seed=seed,
                        priority=priority,
                        created_at=now,
                        updated_at=now,
                        epochs_done=0,
                        epochs_total=epochs_total,
                        current_batch=0,
                        cancel_requested=False,
                        parent_run_id=parent_run_id,
                        sweep_id=sweep_id,
                        attempt=1,
                    )
                    .returning(RUNS.c.id)
                ).scalar_one()
                if name is None:
                    session.execute(
                        update(RUNS)
                        .where(RUNS.c.id == run_id)
                        .values(name=_free_name(session, run_id))
                    )
                _insert_params(session, run_id, params)
                if tags:
                    session.execute(
                        insert(Tag.__table__),
                        [{"run_id": run_id, "key": k, "value": str(v)} for k, v in tags.items()],
                    )
                return load_run(session, run_id)
        except IntegrityError as exc:
            raise InvalidStateError(
                f"could not queue the run ({exc.orig}); check that the parent run and the "
                "sweep exist and that no other run took the name"
            ) from exc

    def get_run(self, ref: int | str) -> RunRecord:
        """One run by id or name, with its spec.

        Args:
            ref: the run's id or name.

        Example:
            >>> store.get_run("brave-otter-12").id
            12
        """
        with self._read() as session:
            return load_run(session, resolve_in(session, ref))

    def list_runs(
        self,
        *,
        experiment: str | None = None,
        status: str | Sequence[str] | None = None,
        sweep_id: int | None = None,
        where: ColumnElement[bool] | None = None,
        order_by: Sequence[ColumnElement[Any]] | None = None,
        limit: int | None = None,
        offset: int = 0,
        updated_since: dt.datetime | None = None,
        with_spec: bool = False,
    ) -> list[RunRecord]:
        """Runs matching the filters, newest first unless `order_by` says otherwise.

        Args:
            experiment: only runs of this experiment.
            status: one status or several.
            sweep_id: only trials of this sweep.
            where: an extra condition built from `experiments.store.fields`
                (`metric_value("val_accuracy", "best") > 0.9`).
            order_by: sort expressions (`metric_value("val_loss").asc()`); run id
                descending breaks ties.
            limit: at most this many runs.
            offset: skip this many runs first.
            updated_since: only runs changed at or after this time (live views
                poll with the last time they saw, minus a few seconds of overlap).
            with_spec: include each run's spec.

        Example:
            >>> [r.name for r in store.list_runs(status="running", limit=5)]
            ['brave-otter-12']
        """
        statement = filter_runs(
            run_select(with_spec=with_spec), experiment, status, sweep_id, where, updated_since
        )
        statement = statement.order_by(*(order_by or ()), Run.id.desc()).offset(offset)
        if limit is not None:
            statement = statement.limit(limit)
        with self._read() as session:
            return [run_record(row) for row in session.execute(statement).all()]

    def count_runs(
        self,
        *,
        experiment: str | None = None,
        status: str | Sequence[str] | None = None,
        sweep_id: int | None = None,
        where: ColumnElement[bool] | None = None,
    ) -> int:
        """How many runs match the same filters as `list_runs`.

        Args:
            experiment: only runs of this experiment.
            status: one status or several.
            sweep_id: only trials of this sweep.
            where: an extra condition built from `experiments.store.fields`.

        Example:
            >>> store.count_runs(status="queued")
            3
        """
        statement = select(func.count(Run.id)).join_from(
            Run, Experiment, Run.experiment_id == Experiment.id
        )
        statement = filter_runs(statement, experiment, status, sweep_id, where, None)
        with self._read() as session:
            return int(session.scalar(statement) or 0)

    def status_counts(self, experiment: str | None = None) -> dict[str, int]:
        """The number of runs in each status (statuses with no run are left out).

        Args:
            experiment: only count this experiment's runs.

        Example:
            >>> store.status_counts()
            {'completed': 4, 'queued': 2}
        """
        statement = (
            select(Run.status, func.count(Run.id))
            .join_from(Run, Experiment, Run.experiment_id == Experiment.id)
            .group_by(Run.status)
            .order_by(Run.status)
        )
        if experiment is not None:
            statement = statement.where(Experiment.name == experiment)
        with self._read() as session:
            return {status: int(n) for status, n in session.execute(statement).all()}

    def run_ids(self) -> set[int]:
        """The ids of every run (a live view compares it to spot deleted runs).

        Example:
            >>> store.run_ids()
            {1, 2, 3}
        """
        with self._read() as session:
            return set(session.scalars(select(Run.id)).all())

    def delete_run(self, run_id: int) -> None:
        """Delete a run and everything recorded about it (metrics, checkpoints, logs...).

        Args:
            run_id: the run's id.

        Example:
            >>> store.delete_run(12)
        """
        with self._write() as session:
            run = load_run(session, run_id)
            if run.status == "running":
                raise InvalidStateError(
                    f"run {run.name} is running; cancel it and wait for it to stop before deleting"
                )
            session.execute(delete(Run).where(Run.id == run_id))

    # ---- params ------------------------------------------------------------------

    def run_params(self, run_id: int) -> dict[str, ParamValue]:
        """A run's flattened params with their original types, by key.

        Args:
            run_id: the run's id.

        Example:
            >>> store.run_params(12)["fit.batch_size"]
            64
        """
        return self.params_for([run_id]).get(run_id, {})

    def params_for(self, run_ids: Iterable[int]) -> dict[int, dict[str, ParamValue]]:
        """The flattened params of several runs at once: `{run_id: {key: value}}`.

        Args:
            run_ids: the runs' ids.

        Example:
            >>> store.params_for([1, 2])[2]["compile.optimizer.learning_rate"]
            0.001
        """
        ids = list(run_ids)
        result: dict[int, dict[str, ParamValue]] = {i: {} for i in ids}
        with self._read() as session:
            for chunk in chunks(ids):
                rows = session.execute(
                    select(Param.run_id, Param.key, Param.value_text, Param.value_type)
                    .where(Param.run_id.in_(chunk))
                    .order_by(Param.run_id, Param.key)
                ).all()
                for run_id, key, text, value_type in rows:
                    result[run_id][key] = decode_param(text, value_type)
        return result

    # ---- tags and notes ----------------------------------------------------------

    def set_tag(self, run_id: int, key: str, value: str = "") -> None:
        """Tag a run (replacing the tag's previous value).

        Args:
            run_id: the run's id.
            key: the tag key.
            value: the tag value ("" for a plain label).

        Example:
            >>> store.set_tag(12, "stage", "final")
        """
        if not key:
            raise ValueError("a tag needs a non-empty key, as in KEY=VALUE")
        with self._write() as session:
            require_run(session, run_id)
            session.merge(Tag(run_id=run_id, key=key, value=value))
            touch_run(session, run_id)

    def remove_tag(self, run_id: int, key: str) -> bool:
        """Remove a tag; return whether the run had it.

        Args:
            run_id: the run's id.
            key: the tag key.

        Example:
            >>> store.remove_tag(12, "stage")
            True
        """
        with self._write() as session:
            result = session.execute(delete(Tag).where(Tag.run_id == run_id, Tag.key == key))
            touch_run(session, run_id)
            return bool(result.rowcount)

    def tags(self, run_id: int) -> dict[str, str]:
        """A run's tags, by key.

        Args:
            run_id: the run's id.

        Example:
            >>> store.tags(12)
            {'stage': 'final'}
        """
        return self.tags_for([run_id]).get(run_id, {})

    def tags_for(self, run_ids: Iterable[int]) -> dict[int, dict[str, str]]:
        """The tags of several runs at once: `{run_id: {key: value}}`.

        Args:
            run_ids: the runs' ids.

        Example:
            >>> store.tags_for([12])
            {12: {'stage': 'final'}}
        """
        ids = list(run_ids)
        result: dict[int, dict[str, str]] = {i: {} for i in ids}
        with self._read() as session:
            for chunk in chunks(ids):
                rows = session.execute(
                    select(Tag.run_id, Tag.key, Tag.value)
                    .where(Tag.run_id.in_(chunk))
                    .order_by(Tag.run_id, Tag.key)
                ).all()
                for run_id, key, value in rows:
                    result[run_id][key] = value
        return result

    def add_note(self, run_id: int, text: str) -> NoteRecord:
        """Attach a note to a run.

        Args:
            run_id: the run's id.
            text: the note.

        Example:
            >>> store.add_note(12, "diverged after lr warmup").text
            'diverged after lr warmup'
        """
        if not text.strip():
            raise ValueError("a note needs some text; pass it as the NOTE argument")
        with self._write() as session:
            require_run(session, run_id)
            note = Note(run_id=run_id, text=text, created_at=utcnow())
            session.add(note)
            session.flush()
            touch_run(session, run_id)
            return NoteRecord(note.id, run_id, note.text, note.created_at)

    def notes(self, run_id: int) -> list[NoteRecord]:
        """A run's notes, oldest first.

        Args:
            run_id: the run's id.

        Example:
            >>> [n.text for n in store.notes(12)]
            ['diverged after lr warmup']
        """
        with self._read() as session:
            notes = session.scalars(select(Note).where(Note.run_id == run_id).order_by(Note.id))
            return [NoteRecord(n.id, n.run_id, n.text, n.created_at) for n in notes]


def _ensure_experiment_id(session: Session, name: str, description: str | None) -> int:
    if not name or not name.strip():
        raise ValueError("an experiment needs a non-empty name; set [experiment] name in the spec")
    table = Experiment.__table__
    row = session.execute(
        select(table.c.id, table.c.description).where(table.c.name == name)
    ).first()
    if row is None:
        values = {"name": name, "description": description or "", "created_at": utcnow()}
        # Two processes may create the same experiment at once on PostgreSQL.
        dialect_insert = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        session.execute(
            dialect_insert(table).values(**values).on_conflict_do_nothing(index_elements=["name"])
        )
        return session.execute(select(table.c.id).where(table.c.name == name)).scalar_one()
    if description is not None and description != row.description:
        session.execute(update(table).where(table.c.id == row.id).values(description=description))
    return row.id


def _ensure_experiment(session: Session, name: str, description: str | None) -> Experiment:
    return session.get_one(Experiment, _ensure_experiment_id(session, name, description))


def _experiment_record(experiment: Experiment, run_count: int) -> ExperimentRecord:
    return ExperimentRecord(
        experiment.id, experiment.name, experiment.description, experiment.created_at, run_count
    )


def _sweep_record(sweep: Sweep, experiment: str) -> SweepRecord:
    return SweepRecord(
        sweep.id, experiment, sweep.name, sweep.method, sweep.config, sweep.created_at
    )


def _check_run_name(name: str) -> None:
    if not name.strip() or name.strip().isdigit():
        raise ValueError(
            f"run name {name!r} is empty or all digits, which reads as a run id; "
            "use letters, e.g. 'baseline-lr3e-4'"
        )


def _free_name(session: Session, run_id: int) -> str:
    for candidate in (readable_name(run_id), f"run-{run_id}"):
        if session.scalar(select(Run.id).where(Run.name == candidate)) is None:
            return candidate
    return f"run-{run_id}-{uuid.uuid4().hex[:6]}"


def _insert_params(session: Session, run_id: int, params: Mapping[str, ParamValue]) -> None:
    rows = []
    for key, value in params.items():
        text, number, value_type = encode_param(value)
        rows.append(
            {
                "run_id": run_id,
                "key": key,
                "value_text": text,
                "value_num": number,
                "value_type": value_type,
            }
        )
    if rows:
        session.execute(insert(Param.__table__), rows)
