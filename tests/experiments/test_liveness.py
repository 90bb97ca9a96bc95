"""keep_alive: a run's heartbeat stays fresh while no training batch ends."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from experiments import clock
from experiments.liveness import keep_alive
from experiments.store import open_store

START = dt.datetime(2025, 3, 14, 9, 0, tzinfo=dt.UTC)


def test_heartbeat_stays_fresh_during_a_long_pause(tmp_path):
    # The store stamps beats with the clock in use: a pause is the clock moving on,
    # and a beat is waited for, not hoped for within a wall-clock sleep.
    now = [START]
    with clock.use_clock(lambda: now[0]):
        store = open_store(f"sqlite:///{tmp_path / 'k.db'}")
        run = store.create_run("demo", {"fit": {"epochs": 1}}, epochs_total=1)
        claimed = store.claim_run(run.id, "w")
        assert claimed.started_at == START
        with keep_alive(store, run.id, interval=0.05):
            # A long validation pass: no batch, no tracking heartbeat.
            now[0] = START + dt.timedelta(seconds=0.6)
            deadline = time.monotonic() + 30
            while store.get_run(run.id).heartbeat_at != now[0]:
                assert time.monotonic() < deadline, "no beat during the pause"
                time.sleep(0.01)
            beat = store.get_run(run.id).heartbeat_at
            assert beat > claimed.started_at + dt.timedelta(seconds=0.4)
            assert store.interrupt_stale_runs(0.5) == []
        beat = store.get_run(run.id).heartbeat_at
        # A beat after the block would record this later time.
        now[0] += dt.timedelta(seconds=0.2)
        time.sleep(0.2)
        assert store.get_run(run.id).heartbeat_at == beat, "no beat after the block"
        assert store.interrupt_stale_runs(0.1) == [run.id]


class _CountingStore:
    """Passes heartbeats to the store, and says when `wanted` of them have been made."""

    def __init__(self, store: Any, wanted: int) -> None:
        self.store, self.wanted, self.calls = store, wanted, 0
        self.enough = threading.Event()

    def heartbeat(self, run_id: int) -> Any:
        reply = self.store.heartbeat(run_id)
        self.calls += 1
        if self.calls >= self.wanted:
            self.enough.set()
        return reply


def test_beating_a_queued_or_finished_run_changes_nothing(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'k.db'}")
    run = store.create_run("demo", {"fit": {"epochs": 1}}, epochs_total=1)
    counting = _CountingStore(store, wanted=3)
    with keep_alive(counting, run.id, interval=0.02):
        # Beats really happened (on a slow machine a fixed sleep may see none).
        assert counting.enough.wait(timeout=30), "keep_alive never beat"
    after = store.get_run(run.id)
    assert after.status == "queued" and after.heartbeat_at is None
