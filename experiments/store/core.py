"""The part every store method shares: the engine, sessions and short transactions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from experiments.store.db import writing
from experiments.store.errors import RunNotFoundError
from experiments.store.models import Experiment, Run, utcnow
from experiments.store.records import RunRecord


class StoreCore:
    """Sessions over one engine: `_read()` for snapshots, `_write()` for short write transactions.

    On SQLite, `_write()` begins with `BEGIN IMMEDIATE`: the write lock is taken
    up front, so concurrent writers wait on the busy timeout instead of failing
    when a read lock cannot be upgraded.

    Args:
        engine: an engine from `experiments.store.db.get_engine`, already migrated.

    Example:
        >>> core = StoreCore(get_engine("sqlite:///data/kerastui.db"))
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = sessionmaker(engine, expire_on_commit=False)
        self._writer = sessionmaker(writing(engine), expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """The backend's name: "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._writer.begin() as session:
            yield session

    @contextmanager
    def _write_for(self, run_id: int) -> Iterator[Session]:
        """A write transaction adding rows that point at a run: a missing run reads as such."""
        driver_error = self.engine.dialect.loaded_dbapi.IntegrityError
        try:
            with self._write() as session:
                yield session
        except (IntegrityError, driver_error) as exc:
            with self._read() as session:
                if session.get(Run, run_id) is None:
                    raise RunNotFoundError(
                        f"no run has id {run_id}; it may have been deleted"
                    ) from exc
            raise

    def resolve_run(self, ref: int | str) -> int:
        """The id of the run with this id or name (a numeric string counts as an id).

        Args:
            ref: a run id, or a run name such as "brave-otter-12".

        Example:
            >>> store.resolve_run("brave-otter-12")
            12
        """
        with self._read() as session:
            return resolve_in(session, ref)


def resolve_in(session: Session, ref: int | str) -> int:
    """The id of the run with this id or name, within an open session.

    Args:
        session: an open session.
        ref: a run id, or a run name.
    """
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        run_id = session.scalar(select(Run.id).where(Run.id == int(ref)))
    else:
        run_id = session.scalar(select(Run.id).where(Run.name == ref))
    if run_id is None:
        raise RunNotFoundError(
            f"no run has id or name {ref!r}; `kerastui runs` lists the runs in this database"
        )
    return run_id


def run_record(row: Sequence[Any]) -> RunRecord:
    """A detached record from a row of `run_select()`, built positionally.

    Positional construction keeps listing 10,000 runs fast (no per-row mapping).

    Args:
        row: a result row whose first columns are those of `run_select()`.
    """
    return RunRecord(*row[:_RECORD_WIDTH])


def run_select(*, with_spec: bool = True) -> Select[Any]:
    """Runs joined to their experiment's name, one column per `RunRecord` field in order.

    Args:
        with_spec: select the spec JSON; without it listings stay light and the
            records' `spec` is None.
    """
    columns = []
    for name in RunRecord._fields:
        if name == "experiment":
            columns.append(Experiment.name.label("experiment"))
        elif name == "spec" and not with_spec:
            columns.append(null().label("spec"))
        else:
            columns.append(Run.__table__.c[name])
    return select(*columns).join_from(Run, Experiment, Run.experiment_id == Experiment.id)


_RECORD_WIDTH = len(RunRecord._fields)


def require_run(session: Session, run_id: int) -> None:
    """Raise `RunNotFoundError` unless a run with this id exists.

    Args:
        session: an open session.
        run_id: the run's id.
    """
    if session.scalar(select(Run.id).where(Run.id == run_id)) is None:
        raise RunNotFoundError(
            f"no run has id {run_id}; `kerastui runs` lists the runs in this database"
        )


def load_run(session: Session, run_id: int) -> RunRecord:
    """The record of one run by id, raising `RunNotFoundError` when it does not exist.

    Args:
        session: an open session.
        run_id: the run's id.
    """
    row = session.execute(run_select().where(Run.id == run_id)).first()
    if row is None:
        raise RunNotFoundError(
            f"no run has id {run_id}; `kerastui runs` lists the runs in this database"
        )
    return run_record(row)


def touch_run(session: Session, run_id: int) -> None:
    """Mark a run changed now, so live views polling `updated_since` pick it up.

    Args:
        session: an open write session.
        run_id: the run's id.
    """
    table = Run.__table__
    session.execute(update(table).where(table.c.id == run_id).values(updated_at=utcnow()))


def chunks(ids: Sequence[int], size: int = 500) -> Iterator[list[int]]:
    """Slices of at most `size` ids: IN lists stay under SQLite's bound-parameter limit.

    Args:
        ids: the ids.
        size: the largest slice.
    """
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def filter_runs(
    statement: Any,
    experiment: str | None = None,
    status: str | Sequence[str] | None = None,
    sweep_id: int | None = None,
    where: ColumnElement[bool] | None = None,
    updated_since: dt.datetime | None = None,
) -> Any:
    """A select over runs (joined to experiments) narrowed by the common run filters.

    Args:
        statement: the select to narrow.
        experiment: only runs of this experiment.
        status: one status or several.
        sweep_id: only trials of this sweep.
        where: an extra condition built from `experiments.store.fields`.
        updated_since: only runs changed at or after this time.
    """
    if experiment is not None:
        statement = statement.where(Experiment.name == experiment)
    if isinstance(status, str):
        statement = statement.where(Run.status == status)
    elif status is not None:
        statement = statement.where(Run.status.in_(list(status)))
    if sweep_id is not None:
        statement = statement.where(Run.sweep_id == sweep_id)
    if updated_since is not None:
        statement = statement.where(Run.updated_at >= updated_since)
    if where is not None:
        statement = statement.where(where)
    return statement
