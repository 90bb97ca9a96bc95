"""The run lifecycle: atomic claims, status changes, heartbeats, cancel, stale runs, workers."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
from collections import Counter

import pytest
from sqlalchemy import update

from experiments.store import InvalidStateError, RunNotFoundError, Store, open_store
from experiments.store.models import Run


def _queue(store: Store, count: int, **kwargs: object) -> list[int]:
    return [store.create_run("queue", {"i": i}, **kwargs).id for i in range(count)]


def test_claims_follow_priority_then_fifo(store: Store) -> None:
    low = _queue(store, 2)
    high = _queue(store, 2, priority=5)
    order = [store.claim_next_run("w").id for _ in range(4)]
    assert order == high + low
    assert store.claim_next_run("w") is None
    claimed = store.get_run(high[0])
    assert claimed.status == "running" and claimed.worker_id == "w"
    assert claimed.started_at is not None and claimed.heartbeat_at is not None


def test_threads_claim_each_run_once(store: Store) -> None:
    ids = _queue(store, 30)
    claimed: list[int] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while (run := store.claim_next_run(name)) is not None:
            with lock:
                claimed.append(run.id)

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == ids
    assert store.status_counts() == {"running": 30}


def _claim_in_process(url: str, name: str, start: object, results: object) -> None:
    store = open_store(url)
    start.wait()  # type: ignore[attr-defined]
    mine = []
    while (run := store.claim_next_run(name)) is not None:
        mine.append(run.id)
    results.put(mine)  # type: ignore[attr-defined]


def test_processes_claim_each_run_once(db_url: str) -> None:
    store = open_store(db_url)
    ids = _queue(store, 24)
    context = multiprocessing.get_context("fork")
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(target=_claim_in_process, args=(db_url, f"p{i}", start, results))
        for i in range(4)
    ]
    for process in processes:
        process.start()
    start.set()
    claimed = [run_id for _ in processes for run_id in results.get(timeout=60)]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert Counter(claimed) == Counter(ids)
    workers = {r.worker_id for r in store.list_runs()}
    assert workers <= {f"p{i}" for i in range(4)}


def test_claim_run_takes_one_specific_queued_run(store: Store) -> None:
    first, second = _queue(store, 2)
    run = store.claim_run(second, "foreground")
    assert run is not None and run.id == second and run.status == "running"
    assert store.claim_run(second, "other") is None
    assert store.claim_next_run("w").id == first
    with pytest.raises(RunNotFoundError):
        store.claim_run(999, "w")


def test_status_transitions_are_conditional(store: Store) -> None:
    run_id = _queue(store, 1)[0]
    assert store.mark_completed(run_id) is False  # queued runs cannot complete
    assert store.mark_running(run_id, "w") is True
    assert store.mark_running(run_id, "w2") is False
    assert store.mark_completed(run_id) is True
    run = store.get_run(run_id)
    assert run.status == "completed" and run.finished_at is not None and run.is_finished
    assert run.duration is not None and run.duration >= dt.timedelta(0)
    assert store.mark_failed(run_id, "too late") is False
    assert store.mark_cancelled(run_id) is False
    assert store.mark_interrupted(run_id) is False
    with pytest.raises(RunNotFoundError):
        store.mark_completed(run_id + 100)


def test_failure_keeps_error_and_traceback(store: Store) -> None:
    run_id = _queue(store, 1)[0]
    store.claim_run(run_id, "w")
    assert store.mark_failed(run_id, "loss became NaN at epoch 3, batch 7", "Traceback ...")
    run = store.get_run(run_id)
    assert (run.status, run.error, run.traceback) == (
        "failed",
        "loss became NaN at epoch 3, batch 7",
        "Traceback ...",
    )


def test_heartbeat_records_progress_and_reports_cancel(store: Store) -> None:
    run_id = _queue(store, 1)[0]
    store.claim_run(run_id, "w")
    before = store.get_run(run_id).heartbeat_at
    reply = store.heartbeat(
        run_id, epochs_done=1, current_batch=5, batches_per_epoch=10, epochs_total=4
    )
    assert not reply.should_stop
    run = store.get_run(run_id)
    assert (run.epochs_done, run.current_batch, run.batches_per_epoch, run.epochs_total) == (
        1,
        5,
        10,
        4,
    )
    assert run.heartbeat_at >= before
    assert run.progress == pytest.approx(1.5 / 4)
    assert store.request_cancel(run_id) == "running"
    assert store.is_cancel_requested(run_id)
    reply = store.heartbeat(run_id)
    assert reply.cancel_requested and not reply.lost and reply.should_stop
    assert store.mark_cancelled(run_id)
    assert store.heartbeat(run_id).lost


def test_cancel_queued_run_and_refuse_finished(store: Store) -> None:
    run_id = _queue(store, 1)[0]
    assert store.request_cancel(run_id) == "cancelled"
    assert store.get_run(run_id).status == "cancelled"
    with pytest.raises(InvalidStateError, match="only queued or running runs can be cancelled"):
        store.request_cancel(run_id)
    assert store.claim_next_run("w") is None


def test_stale_runs_become_interrupted_once(store: Store) -> None:
    stale, fresh = _queue(store, 2)
    store.claim_run(stale, "w1")
    store.claim_run(fresh, "w2")
    with store._write() as session:
        old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=45)
        session.execute(update(Run).where(Run.id == stale).values(heartbeat_at=old))
    assert store.interrupt_stale_runs(30.0) == [stale]
    assert store.interrupt_stale_runs(30.0) == []
    run = store.get_run(stale)
    assert run.status == "interrupted" and "no heartbeat for 30 s" in run.error
    assert store.heartbeat(stale).lost
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=31)
    assert store.interrupt_stale_runs(30.0, now=later) == [fresh]


def test_requeue_resumes_as_a_new_attempt(store: Store) -> None:
    run_id = _queue(store, 1)[0]
    with pytest.raises(InvalidStateError, match="only interrupted, cancelled or failed"):
        store.requeue_run(run_id)
    store.claim_run(run_id, "w")
    store.request_cancel(run_id)
    store.mark_interrupted(run_id, "worker stopped by SIGTERM")
    run = store.requeue_run(run_id, priority=9)
    assert (run.status, run.attempt, run.priority) == ("queued", 2, 9)
    assert run.error is None and run.worker_id is None and not run.cancel_requested
    started = store.get_run(run_id).started_at
    again = store.claim_next_run("w2")
    assert again.id == run_id and again.started_at == started and again.attempt == 2


def test_queue_length(store: Store) -> None:
    ids = _queue(store, 3)
    store.claim_run(ids[0], "w")
    assert store.queue_length() == 2


def test_workers_register_beat_and_stop(store: Store) -> None:
    worker = store.register_worker(slots=2, detached=True)
    assert worker.alive and worker.slots == 2 and worker.info == {"detached": True}
    assert store.worker_heartbeat(worker.id)
    other = store.register_worker(host="elsewhere", pid=1)
    assert {w.id for w in store.list_workers(alive_only=True)} == {worker.id, other.id}
    assert [w.id for w in store.list_workers(host="elsewhere")] == [other.id]
    store.stop_worker(worker.id)
    assert not store.worker_heartbeat(worker.id)
    assert [w.id for w in store.list_workers(alive_only=True)] == [other.id]
    assert not store.list_workers(alive_only=True, timeout=0.0)
    stopped = next(w for w in store.list_workers() if w.id == worker.id)
    assert not stopped.alive and stopped.stopped_at is not None
    assert store.prune_workers(older_than=0.0) == 2
    with pytest.raises(ValueError, match="at least 1 slot"):
        store.register_worker(slots=0)
