"""The clock: the store records the times `use_clock` sets, and views read the same now."""

from __future__ import annotations

import datetime as dt

from experiments import clock
from experiments.store import Store

START = dt.datetime(2025, 3, 14, 9, 0, tzinfo=dt.UTC)


def test_store_records_the_times_of_the_clock_in_use(store: Store) -> None:
    current = [START]

    def at(minutes: int) -> None:
        current[0] = START + dt.timedelta(minutes=minutes)

    with clock.use_clock(lambda: current[0]):
        run_id = store.create_run("clocked", {"fit": {"epochs": 1}}, epochs_total=1).id
        at(1)
        store.mark_running(run_id, "w")
        at(5)
        note = store.add_note(run_id, "fixed times")
        assert store.get_run(run_id).duration == dt.timedelta(minutes=4)
        at(7)
        store.mark_completed(run_id)
    run = store.get_run(run_id)
    assert run.created_at == START
    assert run.started_at == START + dt.timedelta(minutes=1)
    assert note.created_at == START + dt.timedelta(minutes=5)
    assert run.finished_at == START + dt.timedelta(minutes=7)
    assert run.duration == dt.timedelta(minutes=6)


def test_clock_and_zone_are_restored_after_the_block() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    with clock.use_clock(lambda: START, zone=tokyo):
        assert clock.now() == START
        assert clock.local(START).hour == 18
        assert clock.local(START.replace(tzinfo=None)).hour == 18
    assert clock.now() > START
    assert clock.now().tzinfo is not None
    assert clock.local(START).tzinfo is not None
