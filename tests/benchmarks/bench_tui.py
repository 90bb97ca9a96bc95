"""Benchmark: the dashboard on a database of 10,000 runs.

Fills a temporary SQLite database in bulk (runs and their metric summaries,
written with SQLAlchemy Core in one transaction: the store's one-run-at-a-time
API would take minutes), then opens the dashboard headless and reports:

- open time: from starting the app to the table showing its first page of
  runs (the newest 500; the database filters and sorts the rest);
- refresh tick time: event-loop time spent applying one tick's changes, while
  a thread changes a run's status every 100 ms (the database read itself runs
  in a worker thread, off the event loop).

Run: `python tests/benchmarks/bench_tui.py [--runs 10000] [--ticks 20]`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert
from textual.widgets import DataTable

from experiments.store import forget_stores, get_engine, open_store
from experiments.store.models import Experiment, MetricSummary, Run
from kerastui.tui import KerastuiApp
from kerastui.tui.screens.dashboard import DashboardScreen

METRICS = (("loss", "min"), ("accuracy", "max"), ("val_loss", "min"), ("val_accuracy", "max"))


def fill(url: str, runs: int, queued: int, seed: int = 0) -> None:
    """Write `runs` runs (the newest `queued` of them queued, the rest completed) in bulk."""
    open_store(url)  # creates the schema
    engine = get_engine(url)
    rng = np.random.default_rng(seed)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(Experiment), [{"id": i + 1, "name": f"experiment-{i}"} for i in range(10)]
        )
        rows, summaries = [], []
        for i in range(1, runs + 1):
            done = i <= runs - queued
            started = now - dt.timedelta(seconds=(runs - i) * 60 + 30)
            rows.append(
                {
                    "id": i,
                    "experiment_id": i % 10 + 1,
                    "name": f"bench-run-{i}",
                    "status": "completed" if done else "queued",
                    "spec": {},
                    "created_at": started,
                    "updated_at": now - dt.timedelta(hours=1),
                    "started_at": started if done else None,
                    "finished_at": started + dt.timedelta(seconds=25) if done else None,
                    "epochs_done": 10 if done else 0,
                    "epochs_total": 10,
                }
            )
            if done:
                accuracy = float(rng.uniform(0.5, 0.99))
                for key, direction in METRICS:
                    value = accuracy if "accuracy" in key else 1 - accuracy
                    summaries.append(
                        {
                            "run_id": i,
                            "kind": "epoch",
                            "key": key,
                            "direction": direction,
                            "count": 10,
                            "final_value": value,
                            "final_epoch": 10,
                            "final_step": 80,
                            "best_value": value,
                            "best_epoch": 10,
                            "best_step": 80,
                        }
                    )
        connection.execute(insert(Run), rows)
        connection.execute(insert(MetricSummary), summaries)


async def measure(url: str, runs: int, ticks: int, queued: list[int]) -> None:
    handler_times: list[tuple[bool, float, int]] = []
    show = DashboardScreen._show

    def timed_show(self: DashboardScreen, message) -> None:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        show(self, message)
        handler_times.append((message.full, time.perf_counter() - start, len(message.runs)))

    DashboardScreen._show = timed_show  # type: ignore[method-assign]
    app = KerastuiApp(url, interval=0.25, start_worker=None)
    store = app.store
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        table = screen.query_one("#runs", DataTable)
        while not handler_times or screen.total < runs:
            await pilot.pause(0.01)
        opened = time.perf_counter() - started
        full_handler = handler_times[0][1]
        stop = threading.Event()

        def change_statuses() -> None:
            for run_id in queued:
                if stop.wait(0.1):
                    return
                store.request_cancel(run_id)

        changer = threading.Thread(target=change_statuses)
        changer.start()
        while len(handler_times) < ticks + 1:
            await pilot.pause(0.05)
        stop.set()
        changer.join()
        page = table.row_count
        cancelled = sum(1 for run_id in queued if "cancelled" in str(table.get_row(str(run_id))[3]))
    ticks_ms = [t * 1000 for full, t, _ in handler_times[1:] if not full]
    changed = [n for full, _, n in handler_times[1:] if not full]
    print(f"runs in the database: {runs}")
    print(
        f"dashboard open (start -> first {page} rows shown, total known): {opened:.2f} s "
        "(goal < 1 s)"
    )
    print(f"  of which the full table fill on the event loop: {full_handler * 1000:.0f} ms")
    print(
        f"refresh tick, event-loop time over {len(ticks_ms)} ticks: "
        f"median {statistics.median(ticks_ms):.1f} ms, max {max(ticks_ms):.1f} ms "
        f"(goal < 50 ms); runs changed per tick: median {statistics.median(changed):.0f}"
    )
    print(f"status changes shown: {cancelled}/{len(queued)} queued runs seen cancelled")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        start = time.perf_counter()
        queued = 40
        fill(url, args.runs, queued)
        print(f"filled {args.runs} runs in {time.perf_counter() - start:.1f} s")
        forget_stores()
        ids = list(range(args.runs - queued + 1, args.runs + 1))
        asyncio.run(measure(url, args.runs, args.ticks, ids))
        forget_stores()
    return 0


if __name__ == "__main__":
    sys.exit(main())
