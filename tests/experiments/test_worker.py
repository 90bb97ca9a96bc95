"""The background worker: claims, child processes, kill -9, graceful stop, resume, auto-start."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from experiments import worker as worker_module
from experiments.store import open_store
from experiments.submit import submit
from experiments.worker import (
    blas_threads_per_slot,
    ensure_worker,
    start_detached,
    stop_workers,
    worker_log_path,
)
from tests.experiments.spec_helpers import mlp_raw

REPO = Path(__file__).resolve().parents[2]


def slow_spec(
    epochs: int = 3, seconds: float = 0.2, limit: int = 256, **hold: Any
) -> dict[str, Any]:
    """A spirals MLP sleeping `seconds` per step; `hold`: `slow_mlp`'s hold_at, reached, release."""
    raw = mlp_raw()
    raw["model"] = {
        "builder": "tests.experiments.worker_models:slow_mlp",
        "args": {"seconds": seconds, **hold},
    }
    raw["data"]["limit"] = limit
    raw["fit"]["epochs"] = epochs
    raw["fit"]["seed"] = 7
    return raw


def start_worker(url: str, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-P", "-m", "experiments.worker", "--db", url, *extra],
        cwd=REPO,
        env=worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def worker_env() -> dict[str, str]:
    """The test builders live in tests/: workers run with -P, so put the repo on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'kerastui.db'}"
    from experiments.store import forget_stores

    forget_stores()


def epoch_history(store: Any, run_id: int) -> list[dict[str, float]]:
    return [dict(row) for row in store.epoch_history(run_id)]


def test_blas_threads_are_divided_between_slots():
    assert blas_threads_per_slot(1, cores=2) == 2
    assert blas_threads_per_slot(2, cores=2) == 1
    assert blas_threads_per_slot(4, cores=2) == 1


def test_four_workers_execute_twenty_runs_exactly_once_losing_no_row(db_url: str):
    store = open_store(db_url)
    ids = [submit(mlp_raw(), store, {"fit.seed": str(i), "fit.epochs": "2"}) for i in range(20)]
    workers = [start_worker(db_url, "--idle-exit", "2") for _ in range(4)]
    try:
        for w in workers:
            assert w.wait(timeout=400) == 0, w.stderr.read().decode()[-2000:]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    for run_id in ids:
        run = store.get_run(run_id)
        assert run.status == "completed", (run.status, run.error)
        assert run.attempt == 1
        assert len(epoch_history(store, run_id)) == 2
    # Identical specs but for the seed write identical numbers of metric rows.
    counts = {len(store.metrics_since(run_id, 0)) for run_id in ids}
    assert len(counts) == 1 and counts.pop() > 0
    stderr = b"".join(w.stderr.read() for w in workers)
    assert b"database is locked" not in stderr
    assert len({store.get_run(i).worker_id for i in ids}) > 1


# 8 training steps per epoch: the 11th is the third batch of the second epoch.
MID_SECOND_EPOCH = 11


def held_spec(folder: Path, **kwargs: Any) -> tuple[dict[str, Any], Path, Path]:
    """A slow spec whose training holds mid second epoch until the release file exists.

    Returns the spec, the file the held step creates, and the release file. A run
    that holds cannot finish before the test has acted on it, however fast the
    machine; the same spec with the release file present trains straight through.
    """
    reached, release = folder / "reached", folder / "release"
    hold = {"hold_at": MID_SECOND_EPOCH, "reached": str(reached), "release": str(release)}
    return slow_spec(**kwargs, **hold), reached, release


def test_kill_minus_9_interrupts_the_run_and_resume_matches_an_uninterrupted_run(
    sqlite_url: str, tmp_path: Path
):
    store = open_store(sqlite_url)
    spec, reached, release = held_spec(tmp_path)
    run_id = submit(spec, store)
    worker = start_worker(sqlite_url)
    try:
        wait_for(reached.exists, 120, "the middle of the second epoch")
        assert len(epoch_history(store, run_id)) == 1
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        run = store.get_run(run_id)
        assert run.status == "running"
        time.sleep(2.5)
        # The child died with its worker: the heartbeat goes stale and whoever looks interrupts it.
        assert store.interrupt_stale_runs(timeout=2.0) == [run_id]
        assert store.get_run(run_id).status == "interrupted"
        beat = store.get_run(run_id).heartbeat_at
        time.sleep(1.5)
        assert store.get_run(run_id).heartbeat_at == beat, "an orphaned child kept training"
    finally:
        if worker.poll() is None:
            worker.kill()
        release.touch()
    store.requeue_run(run_id)
    second = start_worker(sqlite_url, "--idle-exit", "1")
    assert second.wait(timeout=240) == 0, second.stderr.read().decode()[-2000:]
    assert store.get_run(run_id).status == "completed"
    reference = submit(spec, store)
    third = start_worker(sqlite_url, "--idle-exit", "1")
    assert third.wait(timeout=240) == 0
    resumed, expected = epoch_history(store, run_id), epoch_history(store, reference)
    assert len(resumed) == len(expected) == 3
    for got, want in zip(resumed, expected):
        for key in ("loss", "accuracy"):
            assert got[key] == pytest.approx(want[key], abs=1e-6), (key, got, want)


def test_sigterm_stops_gracefully_with_a_resumable_interrupted_run(sqlite_url: str, tmp_path: Path):
    store = open_store(sqlite_url)
    # Held mid second epoch (never released): the run is training when SIGTERM comes.
    spec, reached, release = held_spec(tmp_path, epochs=20, seconds=0.05)
    run_id = submit(spec, store)
    worker = start_worker(sqlite_url)
    try:
        wait_for(reached.exists, 120, "the middle of the second epoch")
        assert len(epoch_history(store, run_id)) == 1
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
        release.touch()
    run = store.get_run(run_id)
    assert run.status == "interrupted"
    assert store.list_checkpoints(run_id)
    assert not store.list_workers(alive_only=True)


def test_ensure_worker_starts_one_detached_worker_that_exits_when_idle(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
):
    store = open_store(sqlite_url)
    run_id = submit(mlp_raw(), store, {"fit.epochs": "1"})
    # start_detached returns once the worker has registered, or after `wait` seconds
    # (15 by default) without that; a loaded machine can take longer to start Python,
    # and the check below needs the worker registered, so wait for that as long as it takes.
    patient = functools.partial(start_detached, wait=120)
    monkeypatch.setattr(worker_module, "start_detached", patient)
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = worker_env()["PYTHONPATH"]
    try:
        pid = ensure_worker(sqlite_url)
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = saved
    assert pid is not None
    assert ensure_worker(sqlite_url) is None  # one is alive: no second worker
    wait_for(lambda: store.get_run(run_id).status == "completed", 120, "the run")
    assert worker_log_path(sqlite_url).exists()
    assert stop_workers(sqlite_url) == [pid]
    wait_for(lambda: not store.list_workers(alive_only=True), 30, "the worker to stop")


def test_a_crashing_child_fails_the_run_not_the_worker(sqlite_url: str):
    store = open_store(sqlite_url)
    raw = mlp_raw()
    raw["model"] = {
        "builder": "tests.experiments.runner_models:trapped_mlp",
        "args": {"at": 2, "action": "raise"},
    }
    bad = submit(raw, store)
    good = submit(mlp_raw(), store, {"fit.epochs": "1"})
    worker = start_worker(sqlite_url, "--idle-exit", "1")
    assert worker.wait(timeout=120) == 0
    assert store.get_run(bad).status == "failed"
    assert "boom" in (store.get_run(bad).error or "")
    assert store.get_run(good).status == "completed"


def test_zero_slots_is_refused():
    from experiments.worker import Worker

    with pytest.raises(ValueError, match="at least one slot"):
        Worker("sqlite:///:memory:", slots=0)
