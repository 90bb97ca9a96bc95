"""keep_alive: a run's heartbeat stays fresh while no training batch ends."""

from __future__ import annotations

import datetime as dt
import time

from experiments.liveness import keep_alive
from experiments.store import open_store


def test_heartbeat_stays_fresh_during_a_long_pause(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'k.db'}")
    run = store.create_run("demo", {"fit": {"epochs": 1}}, epochs_total=1)
    claimed = store.claim_run(run.id, "w")
    with keep_alive(store, run.id, interval=0.05):
        # A long validation pass: no batch, no tracking heartbeat.
        time.sleep(0.6)
        beat = store.get_run(run.id).heartbeat_at
        assert beat is not None and beat > claimed.started_at + dt.timedelta(seconds=0.4)
        assert store.interrupt_stale_runs(0.5) == []
    beat = store.get_run(run.id).heartbeat_at
    time.sleep(0.2)
    assert store.get_run(run.id).heartbeat_at == beat, "no beat after the block"
    assert store.interrupt_stale_runs(0.1) == [run.id]


def test_beating_a_queued_or_finished_run_changes_nothing(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'k.db'}")
    run = store.create_run("demo", {"fit": {"epochs": 1}}, epochs_total=1)
    with keep_alive(store, run.id, interval=0.02):
        time.sleep(0.1)
    after = store.get_run(run.id)
    assert after.status == "queued" and after.heartbeat_at is None
