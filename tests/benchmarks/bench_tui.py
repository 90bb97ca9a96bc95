"""Benchmark: the dashboard on a database of 10,000 runs.

Fills a temporary SQLite database in bulk (runs and their metric summaries,
written with SQLAlchemy Core in one transaction: the store's one-run-at-a-time
API would take minutes), then opens the dashboard headless and reports:

- open time: from starting the app to the table showing its first page of
  runs (the newest 500; the database filters and sorts the rest);
- refresh tick time: event-loop time spent applying one tick's changes, while
  a thread changes a run's status every 100 ms (the database read itself runs
  in a worker thread, off the event loop);
- grouped by experiment (`G`): time until the group rows show, the refill on
  the event loop, the database's grouping query, and tick times while runs
  change (each tick then also re-reads the groups' counts);
- the next page (`m`): time until 500 more runs show, and its refill.

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert
from textual.widgets import DataTable

from experiments.store import forget_stores, get_engine, open_store
from experiments.store.models import Experiment, MetricSummary, Run
from kerastui.tui import KerastuiApp
from kerastui.tui.formatting import METRIC_COLUMNS
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
    # (kind "full" | "more" | "tick", event-loop seconds, runs in the message)
    handler_times: list[tuple[str, float, int]] = []
    show = DashboardScreen._show

    def timed_show(self: DashboardScreen, message) -> None:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        show(self, message)
        kind = "full" if message.full else "more" if message.more else "tick"
        handler_times.append((kind, time.perf_counter() - start, len(message.runs)))

    def tick_times(since: int) -> tuple[list[float], list[int]]:
        chosen = [(t, n) for kind, t, n in handler_times[since:] if kind == "tick"]
        return [t * 1000 for t, _ in chosen], [n for _, n in chosen]

    async def wait_ticks(since: int) -> None:
        while len(tick_times(since)[0]) < ticks:
            await pilot.pause(0.05)

    def changing(change: Callable[[int], Any], ids: list[int]) -> tuple[threading.Thread, Any]:
        stop = threading.Event()

        def run() -> None:
            for run_id in ids:
                if stop.wait(0.1):
                    return
                change(run_id)

        thread = threading.Thread(target=run)
        thread.start()
        return thread, stop

    DashboardScreen._show = timed_show  # type: ignore[method-assign]
    app = KerastuiApp(url, interval=0.25, start_worker=None)
    store = app.store
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one("#runs", DataTable)
        while not handler_times or screen.total < runs:
            await pilot.pause(0.01)
        opened = time.perf_counter() - started
        full_handler = handler_times[0][1]
        page = table.row_count

        mark = len(handler_times)
        changer, stop = changing(store.request_cancel, queued)
        await wait_ticks(mark)
        changer.join()
        shown = len(handler_times)
        while len(handler_times) < shown + 2:  # the ticks after the last change
            await pilot.pause(0.05)
        flat_ticks, changed = tick_times(mark)
        cancelled = sum(1 for run_id in queued if "cancelled" in str(table.get_row(str(run_id))[3]))

        # Grouped by experiment.
        query_start = time.perf_counter()
        groups = store.group_runs("experiment", metrics=METRIC_COLUMNS)
        group_query = time.perf_counter() - query_start
        mark = len(handler_times)
        started = time.perf_counter()
        screen.group("experiment")
        while not any(kind == "full" for kind, _, _ in handler_times[mark:]):
            await pilot.pause(0.01)
        grouped_open = time.perf_counter() - started
        grouped_fill = next(t for kind, t, _ in handler_times[mark:] if kind == "full")
        headers = {
            str(key.value): str(table.get_cell(key, "experiment"))
            for key in table.rows
            if str(key.value).startswith("group:")
        }
        counts_right = headers == {
            f"group:{g.key}": f"{g.runs} runs" for g in groups if f"group:{g.key}" in headers
        }
        mark = len(handler_times)
        newest = sorted(screen.records)[-ticks * 2 :]
        changer, stop = changing(lambda i: store.set_tag(i, "bench", "seen"), newest)
        await wait_ticks(mark)
        stop.set()
        changer.join()
        grouped_ticks, grouped_changed = tick_times(mark)

        # The next page.
        before = screen.loaded
        mark = len(handler_times)
        started = time.perf_counter()
        screen.action_more()
        while screen.loaded < before + screen.page_size:
            await pilot.pause(0.01)
        more_time = time.perf_counter() - started
        more_fill = next(t for kind, t, _ in handler_times[mark:] if kind == "more")
        loaded = screen.loaded

    def ticks_line(label: str, times: list[float], n: list[int]) -> str:
        return (
            f"{label}, event-loop time over {len(times)} ticks: "
            f"median {statistics.median(times):.1f} ms, max {max(times):.1f} ms "
            f"(goal < 50 ms); runs changed per tick: median {statistics.median(n):.0f}"
        )

    print(f"runs in the database: {runs}")
    print(
        f"dashboard open (start -> first {page} rows shown, total known): {opened:.2f} s "
        "(goal < 1 s)"
    )
    print(f"  of which the full table fill on the event loop: {full_handler * 1000:.0f} ms")
    print(ticks_line("refresh tick", flat_ticks, changed))
    print(f"status changes shown: {cancelled}/{len(queued)} queued runs seen cancelled")
    print(
        f"grouped by experiment ({len(groups)} groups): shown in {grouped_open:.2f} s "
        f"(goal < 1 s); refill on the event loop {grouped_fill * 1000:.0f} ms; "
        f"grouping query {group_query * 1000:.0f} ms; header counts match the database: "
        f"{counts_right}"
    )
    print(ticks_line("grouped refresh tick", grouped_ticks, grouped_changed))
    print(
        f"next page: {loaded} runs shown {more_time:.2f} s after m; "
        f"refill on the event loop {more_fill * 1000:.0f} ms"
    )


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
