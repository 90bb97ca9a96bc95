"""Benchmark: the tracking store's metric insert rate and its leaderboard query.

1. Inserts metric rows through `Store.log_metrics` in batches (one transaction
   per batch, as the runner flushes them) and prints rows/s. Goal on SQLite:
   >= 100,000 rows/s (MLflow on SQLite logs about 2,000/s on the same machine).
2. Builds a database of 10,000 runs x 20 epochs x 4 metrics through the public
   API and times the leaderboard query: the best val_accuracy per run, top 20,
   among runs with `fit.batch_size = 64`. Goal: <= 100 ms. For scale it also
   times the same question answered by scanning the `metrics` table, which is
   what the summary table saves.

Run: python tests/benchmarks/bench_store.py [--runs 10000] [--rows 200000] [--postgres]
`--postgres` repeats both on a scratch database of the PostgreSQL server at
127.0.0.1:5432 (created and dropped by the script).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text

from experiments.store import MetricRow, Store, forget_stores, open_store
from experiments.store.fields import param_value

METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def insert_rate(
    store: Store, total_rows: int, batch: int, rounds: int
) -> list[tuple[float, float]]:
    """(wall, CPU) rows per second of `log_metrics` with `batch` rows per call, once per round."""
    rates = []
    for _ in range(rounds):
        run = store.create_run("insert-bench", {"fit": {"batch_size": 32}})
        steps = batch // len(METRICS)
        calls = max(total_rows // batch, 1)
        payloads = [
            [
                MetricRow(key, 1.0 / (step + 1), epoch=c + 1, step=c * steps + step + 1)
                for step in range(steps)
                for key in METRICS
            ]
            for c in range(calls)
        ]
        wall, cpu = time.perf_counter(), time.process_time()
        written = sum(store.log_metrics(run.id, rows) for rows in payloads)
        rates.append(
            (written / (time.perf_counter() - wall), written / (time.process_time() - cpu))
        )
    return rates


def raw_sqlite_rate(path: Path, total_rows: int, batch: int) -> float:
    """Rows per second of bare sqlite3 executemany into the same table and index: the ceiling."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute(
        "CREATE TABLE metrics (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, "
        "key VARCHAR(200) NOT NULL, kind VARCHAR(8) NOT NULL, epoch INTEGER NOT NULL, "
        "step INTEGER NOT NULL, value FLOAT, wall_time FLOAT NOT NULL)"
    )
    connection.execute("CREATE INDEX ix ON metrics (run_id, key, step)")
    steps = batch // len(METRICS)
    now = time.time()
    start = time.perf_counter()
    for c in range(max(total_rows // batch, 1)):
        rows = [
            (1, key, "batch", c + 1, c * steps + step + 1, 1.0 / (step + 1), now)
            for step in range(steps)
            for key in METRICS
        ]
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT INTO metrics (run_id, key, kind, epoch, step, value, wall_time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        connection.execute("COMMIT")
    rate = max(total_rows // batch, 1) * batch / (time.perf_counter() - start)
    connection.close()
    return rate


def build_runs(store: Store, runs: int, epochs: int, seed: int = 0) -> None:
    """Fill the store with `runs` runs of `epochs` logged epochs each."""
    rng = np.random.default_rng(seed)
    for i in range(runs):
        spec = {
            "data": {"name": "shapes", "limit": 512},
            "compile": {
                "optimizer": {
                    "type": ("adam", "sgd", "rmsprop")[i % 3],
                    "learning_rate": float(10 ** rng.uniform(-4, -1)),
                },
                "loss": "categorical_crossentropy",
            },
            "fit": {"epochs": epochs, "batch_size": (32, 64, 128, 256)[i % 4], "seed": i},
        }
        run = store.create_run(f"experiment-{i % 10}", spec, seed=i, epochs_total=epochs)
        ceiling = rng.uniform(0.5, 0.99)
        curve = ceiling * (1 - np.exp(-np.arange(1, epochs + 1) / rng.uniform(2, 8)))
        noise = rng.normal(0, 0.01, (2, epochs))
        rows = []
        for epoch in range(epochs):
            accuracy = float(curve[epoch] + noise[0, epoch])
            values = (1 - accuracy, accuracy, 1.1 - accuracy, accuracy + noise[1, epoch])
            step = (epoch + 1) * 8
            rows += [
                MetricRow(key, float(v), epoch + 1, step, "epoch")
                for key, v in zip(METRICS, values)
            ]
        store.log_metrics(run.id, rows)


def time_query(query: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median milliseconds of `query` after one warm-up call, and its last result."""
    result = query()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = query()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def leaderboard(store: Store) -> list[tuple[str, float]]:
    """The benchmark's question through the store API."""
    top = store.leaderboard(
        "val_accuracy", limit=20, where=param_value("fit.batch_size", numeric=True) == 64
    )
    return [(run.name, value) for run, value in top]


SCAN_SQL = """
SELECT r.name, max(m.value) AS best
FROM metrics m
JOIN runs r ON r.id = m.run_id
JOIN params p ON p.run_id = r.id AND p.key = 'fit.batch_size' AND p.value_num = 64
WHERE m.key = 'val_accuracy' AND m.kind = 'epoch'
GROUP BY r.name
ORDER BY best DESC
LIMIT 20
"""


def scan_leaderboard(store: Store) -> list[tuple[str, float]]:
    """The same question answered from the raw metric rows, without the summary table."""
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(SCAN_SQL))]


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A scratch PostgreSQL database, dropped afterwards."""
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    name = f"kerastui_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
    finally:
        forget_stores()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def bench(url: str, label: str, args: argparse.Namespace, scratch: Path | None) -> None:
    store = open_store(url)
    print(f"\n== {label} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores) ==")
    for batch in (1_000, 10_000):
        rates = insert_rate(store, args.rows, batch, args.rounds)
        wall = statistics.median(r[0] for r in rates)
        cpu = statistics.median(r[1] for r in rates)
        line = (
            f"log_metrics, {batch:>6,} rows per call: {wall:>9,.0f} rows/s "
            f"({cpu:>9,.0f} per CPU-second)"
        )
        if scratch is not None:
            raw = raw_sqlite_rate(scratch / f"raw-{batch}.db", args.rows, batch)
            line += f"; bare sqlite3 executemany: {raw:>9,.0f} rows/s"
        print(line)
    print("goal: >= 100,000 rows/s on SQLite")
    wall, cpu = time.perf_counter(), time.process_time()
    build_runs(store, args.runs, args.epochs)
    rows = args.runs * args.epochs * len(METRICS)
    print(
        f"built {args.runs:,} runs x {args.epochs} epochs x 4 metrics ({rows:,} rows) through "
        f"create_run + log_metrics in {time.perf_counter() - wall:.1f} s "
        f"({time.process_time() - cpu:.1f} s CPU)"
    )
    ms, top = time_query(lambda: leaderboard(store), args.repeats)
    print(
        f"leaderboard (best val_accuracy, batch_size = 64, top 20): {ms:7.2f} ms (goal <= 100 ms)"
    )
    scan_ms, scanned = time_query(lambda: scan_leaderboard(store), max(args.repeats // 4, 1))
    print(f"same answer by scanning the metrics table:              {scan_ms:7.2f} ms")
    same = [n for n, _ in top] == [n for n, _ in scanned]
    print(f"both give the same top 20: {same}; best: {top[0][0]} at {top[0][1]:.4f}")
    # What a dashboard over this database reads: everything once, then only changes.
    ms, runs = time_query(lambda: store.list_runs(), max(args.repeats // 4, 1))
    print(f"list_runs() of all {len(runs):,} runs:                          {ms:7.2f} ms")
    ids = [r.id for r in runs]
    ms, _ = time_query(lambda: store.summaries_for(ids), max(args.repeats // 4, 1))
    print(f"summaries_for() of all of them:                         {ms:7.2f} ms")
    recent = datetime.now(UTC) - timedelta(seconds=5)
    ms, _ = time_query(lambda: store.list_runs(updated_since=recent), args.repeats)
    print(f"list_runs(updated_since=5 s ago), a refresh tick:        {ms:7.2f} ms")
    forget_stores()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--rows", type=int, default=200_000, help="rows per insert round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--postgres", action="store_true", help="also benchmark PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bench(f"sqlite:///{Path(folder) / 'bench.db'}", "SQLite", args, Path(folder))
    if args.postgres:
        with scratch_postgres() as url:
            bench(url, "PostgreSQL", args, None)


if __name__ == "__main__":
    main()
