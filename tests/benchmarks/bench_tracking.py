"""Benchmark: the cost of tracking a training run in the database.

Trains the shapes_cnn example's model (the Keras CIFAR-10 CNN, batch 64) twice
from the same weights, in one process, alternating epoch by epoch: once plain,
once with the runner's TrackingCallback writing to a SQLite store (per-batch
metrics, per-epoch metrics, layer statistics with gradient norms, a checkpoint
every epoch, heartbeats and cancel checks). Prints images/s for both, the
wall-clock overhead, and the time spent inside the tracking code itself (the
steadier figure on a busy machine). Goal: <= 3%. Each epoch is its own `fit`
call here, so the once-per-run hooks (train begin/end) run once per epoch: the
figures are pessimistic.

Run: python tests/benchmarks/bench_tracking.py [--samples 4096] [--rounds 3]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from typing import Any

from engine.backend import naming
from experiments.data import prepare_data
from experiments.runner import compile_model
from experiments.spec import load_spec, resolve
from experiments.store import open_store
from experiments.tracking import TrackingCallback

_HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_train_batch_end",
    "on_epoch_end",
    "on_train_end",
    "_observe_gradients",
)


def instrument(tracker: TrackingCallback) -> dict[str, float]:
    """Time every hook of `tracker` (instance attributes shadow its methods).

    Returns:
        Seconds spent so far, in total (`"seconds"`) and per hook, updated as it runs.
    """
    spent = {"seconds": 0.0, **dict.fromkeys(_HOOKS, 0.0)}
    for name in _HOOKS:
        method = getattr(tracker, name)

        @functools.wraps(method)
        def timed(*args: Any, _method: Any = method, _name: str = name, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                spent["seconds"] += elapsed
                spent[_name] += elapsed

        setattr(tracker, name, timed)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    overrides = {
        "data.limit": str(args.samples),
        "data.validation": "none",
        "fit.epochs": str(args.rounds),
    }
    spec = load_spec("shapes_cnn", overrides)
    data = prepare_data(spec.data)
    naming.clear_session()
    plain = compile_model(spec, data)
    tracked = compile_model(spec, data)
    tracked.set_weights(plain.get_weights())

    store = open_store(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    run = store.create_run("bench_tracking", resolve(spec), epochs_total=args.rounds)
    store.claim_run(run.id, "bench")
    tracker = TrackingCallback(store, run.id, spec.tracking, args.rounds, "loss")
    spent = instrument(tracker)

    fit = {"batch_size": spec.fit.batch_size, "verbose": 0}
    plain.fit(data.x_train[:256], data.y_train[:256], epochs=1, **fit)  # warm-up
    times: dict[str, list[float]] = {"plain": [], "tracked": []}
    tracked_spent: list[float] = []
    for epoch in range(args.rounds):
        start = time.perf_counter()
        plain.fit(data.x_train, data.y_train, epochs=1, **fit)
        times["plain"].append(time.perf_counter() - start)

        before = spent["seconds"]
        start = time.perf_counter()
        tracked.fit(
            data.x_train,
            data.y_train,
            initial_epoch=epoch,
            epochs=epoch + 1,
            callbacks=[tracker],
            **fit,
        )
        times["tracked"].append(time.perf_counter() - start)
        tracked_spent.append(spent["seconds"] - before)

    n = len(data.x_train)
    plain_s = statistics.median(times["plain"])
    tracked_s = statistics.median(times["tracked"])
    inside = statistics.median(s / t for s, t in zip(tracked_spent, times["tracked"]))
    rows = store.query_readonly(f"SELECT count(*) FROM metrics WHERE run_id = {run.id}").rows
    print(f"shapes_cnn, {n} images, batch {spec.fit.batch_size}, {args.rounds} epochs each")
    print(f"plain:   {n / plain_s:8.0f} images/s")
    print(f"tracked: {n / tracked_s:8.0f} images/s   ({rows[0][0]} metric rows written)")
    print(f"wall-clock overhead: {100 * (tracked_s / plain_s - 1):+.2f}%")
    print(f"time inside tracking: {100 * inside:.2f}% of a tracked epoch (goal <= 3%)")
    total = sum(times["tracked"])
    parts = ", ".join(f"{name} {100 * spent[name] / total:.2f}%" for name in _HOOKS)
    print(f"  by hook: {parts}")
    per_epoch = 1000 * spent["on_epoch_end"] / args.rounds
    per_batch = 1000 * spent["on_train_batch_end"] / (args.rounds * -(-n // spec.fit.batch_size))
    print(f"  per epoch end: {per_epoch:.1f} ms; per batch: {per_batch:.2f} ms")


if __name__ == "__main__":
    main()
