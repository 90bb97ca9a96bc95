"""The background worker: claims queued runs and executes each in a child process.

A worker registers itself in the database with a heartbeat, then loops:
interrupt runs whose heartbeat went stale (their process died), reap finished
children, claim queued runs (atomically, highest priority then oldest) while
it has free slots, and start one child process per claimed run. A crash or an
out-of-memory kill takes down the child, never the worker; a child dies with
its worker (Linux `PR_SET_PDEATHSIG`, plus a parent-pid watch), so no run goes
on training unseen. SIGTERM or SIGINT stops the worker gracefully: children
checkpoint the running epoch and end `interrupted`, ready to resume.

`ensure_worker(url)` starts a detached worker when none is alive for a
database; such a worker exits after a while without work.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.store import DEFAULT_HEARTBEAT_TIMEOUT, open_store
from experiments.store.db import resolve_url

logger = logging.getLogger(__name__)

_BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class _Child:
    run_id: int
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)


def blas_threads_per_slot(slots: int, cores: int | None = None) -> int:
    """BLAS threads each child gets so `slots` children do not oversubscribe the cores."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, slots))


class Worker:
    """Executes queued runs of one database, `slots` at a time, each in a child process.

    Args:
        url: the database URL (`KERASTUI_DB` or the workspace default when None).
        slots: how many runs execute at once.
        idle_timeout: exit after this many seconds with nothing running or queued
            (None: run until stopped).
        poll_interval: seconds between looks at the queue.
        stale_timeout: seconds without a heartbeat after which a run counts as dead.
        detached: recorded in the worker's info (started in the background).

    Example:
        >>> Worker("sqlite:///data/kerastui.db", slots=2).run()
    """

    def __init__(
        self,
        url: str | None = None,
        slots: int = 1,
        idle_timeout: float | None = None,
        poll_interval: float = 0.5,
        stale_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
        detached: bool = False,
    ) -> None:
        if slots < 1:
            raise ValueError(f"A worker needs at least one slot, got slots={slots}.")
        self.url = resolve_url(url).render_as_string(hide_password=False)
        self.slots = slots
        self.idle_timeout = idle_timeout
        self.poll_interval = poll_interval
        self.stale_timeout = stale_timeout
        self.detached = detached
        self.store = open_store(self.url)
        self.children: dict[int, _Child] = {}
        self.worker_id: str | None = None
        self._stopping = False
        self._signals = 0

    # Signals ---------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: Any) -> None:
        self._signals += 1
        self._stopping = True
        if self._signals == 1:
            logger.info("stopping: interrupting %d running run(s)", len(self.children))
            for child in self.children.values():
                with contextlib.suppress(ProcessLookupError):
                    child.process.send_signal(signal.SIGTERM)
        else:
            for child in self.children.values():
                with contextlib.suppress(ProcessLookupError):
                    child.process.kill()

    # Main loop ---------------------------------------------------------------------------
    def run(self) -> int:
        """Work until stopped (or idle for `idle_timeout`); return the number of runs executed."""
        record = self.store.register_worker(
            slots=self.slots, detached=self.detached, url=_display_url(self.url)
        )
        self.worker_id = record.id
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        executed = 0
        idle_since = time.monotonic()
        last_beat = last_stale_check = 0.0
        try:
            while True:
                now = time.monotonic()
                if now - last_beat >= 2.0:
                    if not self.store.worker_heartbeat(self.worker_id):
                        logger.info("worker %s was stopped from elsewhere", self.worker_id)
                        self._on_signal(signal.SIGTERM, None)
                    # A child that is still importing or loading data has not beaten
                    # yet; while its process lives, its run is alive. If this worker
                    # dies, the beats stop and so does the child (it dies with us).
                    for child in self.children.values():
                        if child.process.poll() is None:
                            self.store.heartbeat(child.run_id)
                    last_beat = now
                if now - last_stale_check >= 5.0:
                    self.store.interrupt_stale_runs(self.stale_timeout)
                    last_stale_check = now
                self._reap()
                if self._stopping:
                    if not self.children:
                        break
                    time.sleep(self.poll_interval)
                    continue
                while len(self.children) < self.slots:
                    run = self.store.claim_next_run(self.worker_id)
                    if run is None:
                        break
                    self._spawn(run.id)
                    executed += 1
                if self.children:
                    idle_since = time.monotonic()
                elif self.idle_timeout is not None and now - idle_since >= self.idle_timeout:
                    logger.info("idle for %.0f s: exiting", self.idle_timeout)
                    break
                time.sleep(self.poll_interval)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.store.stop_worker(self.worker_id)
        return executed

    def _spawn(self, run_id: int) -> None:
        env = dict(os.environ)
        threads = str(blas_threads_per_slot(self.slots))
        for var in _BLAS_VARS:
            env[var] = threads
        cmd = [
            sys.executable,
            # -P: a workspace's own experiments/ folder must not shadow the package.
            "-P",
            "-m",
            "experiments.worker",
            "--child",
            str(run_id),
            "--db",
            self.url,
            "--worker-id",
            str(self.worker_id),
            "--parent",
            str(os.getpid()),
        ]
        logger.info("run %s: starting", run_id)
        self.children[run_id] = _Child(run_id, subprocess.Popen(cmd, env=env))

    def _reap(self) -> None:
        for run_id, child in list(self.children.items()):
            code = child.process.poll()
            if code is None:
                continue
            del self.children[run_id]
            run = self.store.get_run(run_id)
            if run.status == "running" and run.worker_id == self.worker_id:
                how = f"signal {-code}" if code < 0 else f"exit code {code}"
                self.store.mark_failed(
                    run_id,
                    f"the training process died ({how}) before recording a result; "
                    "resume the run to continue from its last checkpoint",
                )
            logger.info("run %s: %s", run_id, self.store.get_run(run_id).status)


# Child process ------------------------------------------------------------------------------
def _die_with_parent(parent_pid: int) -> None:
    """Make the kernel kill this process when its parent dies (Linux), else watch the parent."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:
        os._exit(1)
    import threading

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(1.0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run_child(run_id: int, url: str, worker_id: str, parent_pid: int) -> int:
    """Execute one claimed run; SIGTERM/SIGINT end it `interrupted` after a checkpoint."""
    _die_with_parent(parent_pid)
    from experiments.liveness import keep_alive
    from experiments.runner import execute_run
    from experiments.tracking import RunInterrupted

    def interrupt(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise RunInterrupted(f"worker {worker_id} stopped ({signal.Signals(signum).name})")

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    store = open_store(url)
    with keep_alive(store, run_id):
        record = execute_run(run_id, store, worker_id=worker_id)
    return 0 if record.status in ("completed", "cancelled", "interrupted") else 3


# Starting and stopping workers from elsewhere --------------------------------------------------
def alive_workers(url: str | None = None, host: str | None = None) -> list[Any]:
    """Workers of this database whose heartbeat is recent (on `host` only, when given)."""
    return open_store(url).list_workers(alive_only=True, host=host)


def worker_log_path(url: str) -> Path:
    """Where a detached worker of this database writes its log."""
    resolved = resolve_url(url)
    if resolved.get_backend_name() == "sqlite" and resolved.database:
        folder = Path(resolved.database).resolve().parent / "logs"
    else:
        folder = Path.home() / ".cache" / "kerastui" / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "worker.log"


def start_detached(
    url: str | None = None, slots: int = 1, idle_timeout: float | None = 120.0, wait: float = 15.0
) -> int:
    """Start a worker in the background (its own session, log to a file); return its pid.

    Waits up to `wait` seconds for it to register, so that a launch right after
    this one sees it alive and does not start another.
    """
    full = resolve_url(url).render_as_string(hide_password=False)
    cmd = [sys.executable, "-P", "-m", "experiments.worker", "--db", full, "--slots", str(slots)]
    if idle_timeout is not None:
        cmd += ["--idle-exit", str(idle_timeout)]
    cmd.append("--detached")
    with open(worker_log_path(full), "ab") as log:
        process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    store = open_store(full)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if any(w.pid == process.pid for w in store.list_workers(alive_only=True)):
            break
        if process.poll() is not None:
            raise RuntimeError(
                f"the background worker exited at once (code {process.returncode}); "
                f"see {worker_log_path(full)}"
            )
        time.sleep(0.2)
    return process.pid


def ensure_worker(url: str | None = None, slots: int = 1) -> int | None:
    """Start a detached worker unless one is alive for this database; return the new pid or None."""
    if alive_workers(url):
        return None
    return start_detached(url, slots=slots)


def stop_workers(url: str | None = None, timeout: float = 30.0) -> list[int]:
    """Ask this machine's workers of this database to stop (SIGTERM); return their pids."""
    store = open_store(url)
    pids = []
    for worker in store.list_workers(alive_only=True, host=socket.gethostname()):
        try:
            os.kill(worker.pid, signal.SIGTERM)
            pids.append(worker.pid)
        except ProcessLookupError:
            store.stop_worker(worker.id)
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        if not any(_pid_alive(pid) for pid in pids):
            break
        time.sleep(0.2)
    return pids


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _display_url(url: str) -> str:
    return resolve_url(url).render_as_string(hide_password=True)


def _utc_stamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def main(argv: list[str] | None = None) -> int:
    """`python -m experiments.worker`: a worker (or, with --child, one run's process)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m experiments.worker")
    parser.add_argument("--db", default=None)
    parser.add_argument("--slots", type=int, default=1)
    parser.add_argument("--idle-exit", type=float, default=None)
    parser.add_argument("--detached", action="store_true")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-id", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--parent", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(message)s"
    )
    if args.child is not None:
        return run_child(args.child, args.db, args.worker_id, args.parent)
    worker = Worker(args.db, slots=args.slots, idle_timeout=args.idle_exit, detached=args.detached)
    logger.info("worker started at %s with %d slot(s)", _utc_stamp(), args.slots)
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
