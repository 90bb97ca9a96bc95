"""Store methods for the run lifecycle: claiming, status changes, heartbeats, cancel, workers.

Every status change is a conditional UPDATE (`... WHERE status IN (allowed)`),
so two processes racing to change the same run cannot both succeed: the loser
sees a False return instead of silently overwriting the winner.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, update

from experiments.store.core import StoreCore, load_run, require_run
from experiments.store.errors import InvalidStateError, NotFoundError, RunNotFoundError
from experiments.store.models import Run, UTCDateTime, Worker, utcnow
from experiments.store.records import RunRecord, WorkerRecord

DEFAULT_HEARTBEAT_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class HeartbeatReply:
    """What a running run learns from its heartbeat.

    Args:
        cancel_requested: someone asked the run to stop; finish the batch,
            checkpoint, then `mark_cancelled`.
        lost: the run is no longer `running` (it was marked interrupted after a
            missed heartbeat, or deleted): stop without writing anything more.

    Example:
        >>> HeartbeatReply(cancel_requested=False, lost=False).should_stop
        False
    """

    cancel_requested: bool
    lost: bool

    @property
    def should_stop(self) -> bool:
        """Whether the run should stop training now."""
        return self.cancel_requested or self.lost


class QueueMixin(StoreCore):
    """The run lifecycle: queued -> running -> completed/failed/cancelled/interrupted.

    Example:
        >>> run = store.claim_next_run(worker_id)
        >>> store.mark_completed(run.id)
        True
    """

    def claim_next_run(self, worker_id: str) -> RunRecord | None:
        """Atomically take the next queued run (highest priority, then oldest) for a worker.

        Any number of workers may call this at once: each queued run is handed
        to exactly one of them. SQLite serialises claims with `BEGIN IMMEDIATE`;
        PostgreSQL skips rows another claimer holds (`FOR UPDATE SKIP LOCKED`).

        Args:
            worker_id: the claiming worker's id (from `register_worker`).

        Returns:
            The claimed run, now `running`, or None when nothing is queued.

        Example:
            >>> run = store.claim_next_run(worker.id)
        """
        with self._write() as session:
            run_id = session.scalar(
                select(Run.id)
                .where(Run.status == "queued")
                .order_by(Run.priority.desc(), Run.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if run_id is None or not _start(session, run_id, worker_id):
                return None
            return load_run(session, run_id)

    def claim_run(self, run_id: int, worker_id: str) -> RunRecord | None:
        """Atomically take one specific queued run (a foreground `kerastui run`).

        Args:
            run_id: the run's id.
            worker_id: the executing process's id.

        Returns:
            The run, now `running`, or None when it was not queued any more.

        Example:
            >>> store.claim_run(12, "laptop:4242:fg").status
            'running'
        """
        with self._write() as session:
            require_run(session, run_id)
            if not _start(session, run_id, worker_id):
                return None
            return load_run(session, run_id)

    def heartbeat(
        self,
        run_id: int,
        *,
        epochs_done: int | None = None,
        current_batch: int | None = None,
        batches_per_epoch: int | None = None,
        epochs_total: int | None = None,
    ) -> HeartbeatReply:
        """Record that a run is alive, with its progress; learn whether to stop.

        Args:
            run_id: the run's id.
            epochs_done: epochs finished so far.
            current_batch: batches done in the current epoch.
            batches_per_epoch: batches in one epoch.
            epochs_total: planned epochs.

        Example:
            >>> store.heartbeat(12, epochs_done=1, current_batch=40).should_stop
            False
        """
        values: dict[str, Any] = {}
        for column, value in (
            ("epochs_done", epochs_done),
            ("current_batch", current_batch),
            ("batches_per_epoch", batches_per_epoch),
            ("epochs_total", epochs_total),
        ):
            if value is not None:
                values[column] = value
        now = utcnow()
        runs = Run.__table__  # Core: the runner beats every second, keep it cheap
        with self._write() as session:
            result = session.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.status == "running")
                .values(heartbeat_at=now, updated_at=now, **values)
            )
            cancel = session.scalar(select(runs.c.cancel_requested).where(runs.c.id == run_id))
            return HeartbeatReply(cancel_requested=bool(cancel), lost=result.rowcount == 0)

    def mark_running(self, run_id: int, worker_id: str) -> bool:
        """Move a queued run to running (what `claim_run` does, without reading it back).

        Args:
            run_id: the run's id.
            worker_id: the executing process's id.

        Example:
            >>> store.mark_running(12, "laptop:4242:fg")
            True
        """
        with self._write() as session:
            require_run(session, run_id)
            return _start(session, run_id, worker_id)

    def mark_completed(self, run_id: int) -> bool:
        """Finish a running run successfully; False if it was not running.

        Args:
            run_id: the run's id.

        Example:
            >>> store.mark_completed(12)
            True
        """
        return self._finish(run_id, "completed", ("running",))

    def mark_failed(self, run_id: int, error: str, traceback: str | None = None) -> bool:
        """Finish a queued or running run as failed, with the error and its traceback.

        Args:
            run_id: the run's id.
            error: one line saying what went wrong (`loss became NaN at epoch 3, batch 7`).
            traceback: the formatted traceback, if an exception caused it.

        Example:
            >>> store.mark_failed(12, "loss became NaN at epoch 3, batch 7")
            True
        """
        return self._finish(
            run_id, "failed", ("running", "queued"), error=error, traceback=traceback
        )

    def mark_cancelled(self, run_id: int) -> bool:
        """Finish a queued or running run as cancelled (after its last checkpoint).

        Args:
            run_id: the run's id.

        Example:
            >>> store.mark_cancelled(12)
            True
        """
        return self._finish(run_id, "cancelled", ("running", "queued"))

    def mark_interrupted(self, run_id: int, reason: str | None = None) -> bool:
        """Finish a running run as interrupted (its process stopped; it can be resumed).

        Args:
            run_id: the run's id.
            reason: why, e.g. "worker stopped by SIGTERM".

        Example:
            >>> store.mark_interrupted(12, "worker stopped by SIGTERM")
            True
        """
        return self._finish(run_id, "interrupted", ("running",), error=reason)

    def request_cancel(self, run_id: int) -> str:
        """Cancel a run: a queued one at once, a running one at its next batch.

        Args:
            run_id: the run's id.

        Returns:
            The run's status afterwards: "cancelled" for a queued run, "running"
            for a running one (which stops within a batch).

        Example:
            >>> store.request_cancel(12)
            'running'
        """
        now = utcnow()
        with self._write() as session:
            run = load_run(session, run_id)
            if run.status == "queued":
                session.execute(
                    update(Run)
                    .where(Run.id == run_id, Run.status == "queued")
                    .values(status="cancelled", finished_at=now, updated_at=now)
                )
                return "cancelled"
            if run.status == "running":
                session.execute(
                    update(Run)
                    .where(Run.id == run_id)
                    .values(cancel_requested=True, updated_at=now)
                )
                return "running"
            raise InvalidStateError(
                f"run {run.name} is {run.status}; only queued or running runs can be cancelled"
            )

    def is_cancel_requested(self, run_id: int) -> bool:
        """Whether someone asked this run to stop.

        Args:
            run_id: the run's id.

        Example:
            >>> store.is_cancel_requested(12)
            False
        """
        with self._read() as session:
            flag = session.scalar(select(Run.cancel_requested).where(Run.id == run_id))
            if flag is None:
                raise RunNotFoundError(f"no run has id {run_id}; it may have been deleted")
            return bool(flag)

    def requeue_run(self, run_id: int, *, priority: int | None = None) -> RunRecord:
        """Queue an interrupted, cancelled or failed run again, to resume it.

        The run keeps its id, params, metrics and checkpoints; its attempt
        counter goes up and its error is cleared. The runner resumes from the
        last checkpoint (after `rewind_run` drops what the dead attempt wrote
        past it).

        Args:
            run_id: the run's id.
            priority: a new priority; the old one when None.

        Example:
            >>> store.requeue_run(12).attempt
            2
        """
        values: dict[str, Any] = {
            "status": "queued",
            "attempt": Run.attempt + 1,
            "error": None,
            "traceback": None,
            "cancel_requested": False,
            "worker_id": None,
            "finished_at": None,
            "heartbeat_at": None,
            "updated_at": utcnow(),
        }
        if priority is not None:
            values["priority"] = priority
        resumable = ("interrupted", "cancelled", "failed")
        with self._write() as session:
            run = load_run(session, run_id)
            result = session.execute(
                update(Run).where(Run.id == run_id, Run.status.in_(resumable)).values(**values)
            )
            if result.rowcount == 0:
                raise InvalidStateError(
                    f"run {run.name} is {run.status}; only interrupted, cancelled or failed "
                    "runs can be resumed (rerun makes a new run from any run)"
                )
            return load_run(session, run_id)

    def interrupt_stale_runs(
        self, timeout: float = DEFAULT_HEARTBEAT_TIMEOUT, *, now: dt.datetime | None = None
    ) -> list[int]:
        """Mark running runs whose heartbeat is older than `timeout` seconds as interrupted.

        Whoever notices first (any worker, any UI) may call this; each stale run
        changes status once.

        Args:
            timeout: seconds without a heartbeat after which a run is dead.
            now: the current time (tests pass it; the clock otherwise).

        Returns:
            The ids of the runs it interrupted.

        Example:
            >>> store.interrupt_stale_runs(30.0)
            [12]
        """
        now = now or utcnow()
        cutoff = now - dt.timedelta(seconds=timeout)
        stale = and_(
            Run.status == "running", func.coalesce(Run.heartbeat_at, Run.started_at) < cutoff
        )
        reason = f"no heartbeat for {timeout:g} s: its process died or lost the database"
        with self._write() as session:
            ids = list(session.scalars(select(Run.id).where(stale).order_by(Run.id)))
            if ids:
                session.execute(
                    update(Run)
                    .where(Run.id.in_(ids), stale)
                    .values(status="interrupted", error=reason, finished_at=now, updated_at=now)
                )
            return ids

    def queue_length(self) -> int:
        """How many runs are queued.

        Example:
            >>> store.queue_length()
            2
        """
        with self._read() as session:
            return int(
                session.scalar(select(func.count(Run.id)).where(Run.status == "queued")) or 0
            )

    # ---- workers -----------------------------------------------------------------

    def register_worker(
        self, *, slots: int = 1, host: str | None = None, pid: int | None = None, **info: Any
    ) -> WorkerRecord:
        """Record a worker process that is starting; its id names it in runs and heartbeats.

        Args:
            slots: how many runs it executes at once.
            host: its machine's name; this machine's when None.
            pid: its process id; this process's when None.
            **info: anything else worth showing (JSON-compatible), e.g. `detached=True`.

        Example:
            >>> store.register_worker(slots=2).slots
            2
        """
        if slots < 1:
            raise ValueError(f"a worker needs at least 1 slot, got {slots}; pass --slots 1 or more")
        host = host or socket.gethostname()
        pid = os.getpid() if pid is None else pid
        now = utcnow()
        worker = Worker(
            id=f"{host}:{pid}:{uuid.uuid4().hex[:8]}",
            host=host,
            pid=pid,
            slots=slots,
            started_at=now,
            heartbeat_at=now,
            info=dict(info),
        )
        with self._write() as session:
            session.add(worker)
            session.flush()
            return _worker_record(worker, now, DEFAULT_HEARTBEAT_TIMEOUT)

    def worker_heartbeat(self, worker_id: str) -> bool:
        """Record that a worker is alive; False when it was stopped or never registered.

        Args:
            worker_id: the worker's id.

        Example:
            >>> store.worker_heartbeat(worker.id)
            True
        """
        with self._write() as session:
            result = session.execute(
                update(Worker)
                .where(Worker.id == worker_id, Worker.stopped_at.is_(None))
                .values(heartbeat_at=utcnow())
            )
            return result.rowcount == 1

    def stop_worker(self, worker_id: str) -> None:
        """Record that a worker exited.

        Args:
            worker_id: the worker's id.

        Example:
            >>> store.stop_worker(worker.id)
        """
        with self._write() as session:
            result = session.execute(
                update(Worker)
                .where(Worker.id == worker_id, Worker.stopped_at.is_(None))
                .values(stopped_at=utcnow())
            )
            if result.rowcount == 0 and session.get(Worker, worker_id) is None:
                raise NotFoundError(f"no worker has id {worker_id!r}")

    def list_workers(
        self,
        *,
        alive_only: bool = False,
        host: str | None = None,
        timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
    ) -> list[WorkerRecord]:
        """Registered workers, newest first, each marked alive or not.

        A worker is alive when it has not stopped and its heartbeat is younger
        than `timeout` seconds.

        Args:
            alive_only: leave out stopped and silent workers.
            host: only workers on this machine.
            timeout: seconds without a heartbeat after which a worker is dead.

        Example:
            >>> [w.slots for w in store.list_workers(alive_only=True)]
            [2]
        """
        now = utcnow()
        cutoff = now - dt.timedelta(seconds=timeout)
        statement = select(Worker).order_by(Worker.started_at.desc())
        if alive_only:
            statement = statement.where(Worker.stopped_at.is_(None), Worker.heartbeat_at >= cutoff)
        if host is not None:
            statement = statement.where(Worker.host == host)
        with self._read() as session:
            return [_worker_record(w, now, timeout) for w in session.scalars(statement)]

    def prune_workers(self, older_than: float = 86_400.0) -> int:
        """Delete stopped or silent workers not heard from in `older_than` seconds.

        Args:
            older_than: seconds since the last heartbeat.

        Example:
            >>> store.prune_workers()
            0
        """
        cutoff = utcnow() - dt.timedelta(seconds=older_than)
        with self._write() as session:
            dead = session.scalars(
                select(Worker).where(or_(Worker.heartbeat_at < cutoff, Worker.stopped_at < cutoff))
            ).all()
            for worker in dead:
                session.delete(worker)
            return len(dead)

    def _finish(self, run_id: int, status: str, allowed: tuple[str, ...], **values: Any) -> bool:
        now = utcnow()
        with self._write() as session:
            require_run(session, run_id)
            result = session.execute(
                update(Run)
                .where(Run.id == run_id, Run.status.in_(allowed))
                .values(status=status, finished_at=now, updated_at=now, **values)
            )
            return result.rowcount == 1


def _start(session: Any, run_id: int, worker_id: str) -> bool:
    now = utcnow()
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == "queued")
        .values(
            status="running",
            worker_id=worker_id,
            started_at=func.coalesce(Run.started_at, literal(now, UTCDateTime())),
            heartbeat_at=now,
            updated_at=now,
            finished_at=None,
            cancel_requested=False,
        )
    )
    return result.rowcount == 1


def _worker_record(worker: Worker, now: dt.datetime, timeout: float) -> WorkerRecord:
    alive = worker.stopped_at is None and (now - worker.heartbeat_at).total_seconds() < timeout
    return WorkerRecord(
        id=worker.id,
        host=worker.host,
        pid=worker.pid,
        slots=worker.slots,
        started_at=worker.started_at,
        heartbeat_at=worker.heartbeat_at,
        stopped_at=worker.stopped_at,
        alive=alive,
        info=dict(worker.info or {}),
    )
