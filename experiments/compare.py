"""Comparing runs: the params that differ, metrics side by side, aligned curves, durations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from experiments.store.records import RunRecord


@dataclass
class Comparison:
    """Two or more runs side by side.

    Attributes:
        runs: the runs, in the order asked for.
        params: only the params whose values differ: `{key: {run_id: value}}`.
        same_params: how many params all runs share.
        metrics: `{key: {run_id: {"final", "best", "best_epoch"}}}` per-epoch summaries.
        best_run: `{key: run_id}` the run with the best value of each metric.
        directions: `{key: "min" | "max"}`.
        histories: `{key: {"epochs": [1, 2, ...], run_id: [value or None per epoch]}}`.
        durations: `{run_id: seconds or None}`.
    """

    runs: list[RunRecord]
    params: dict[str, dict[int, Any]] = field(default_factory=dict)
    same_params: int = 0
    metrics: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    best_run: dict[str, int] = field(default_factory=dict)
    directions: dict[str, str] = field(default_factory=dict)
    histories: dict[str, dict[Any, list[Any]]] = field(default_factory=dict)
    durations: dict[int, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (run ids as string keys)."""

        def keyed(mapping: dict[int, Any]) -> dict[str, Any]:
            return {str(k): v for k, v in mapping.items()}

        return {
            "runs": [
                {
                    "id": r.id,
                    "name": r.name,
                    "experiment": r.experiment,
                    "status": r.status,
                    "epochs_done": r.epochs_done,
                    "duration": self.durations.get(r.id),
                }
                for r in self.runs
            ],
            "params": {k: keyed(v) for k, v in self.params.items()},
            "same_params": self.same_params,
            "metrics": {k: keyed(v) for k, v in self.metrics.items()},
            "best_run": dict(self.best_run),
            "directions": dict(self.directions),
            "histories": {
                k: {str(rk): rv for rk, rv in v.items()} for k, v in self.histories.items()
            },
        }


def compare_runs(store: Any, refs: Sequence[int | str]) -> Comparison:
    """Compare two or more runs given by id or name.

    Args:
        store: the tracking store.
        refs: run ids or names (at least two, all distinct).

    Raises:
        ValueError: fewer than two distinct runs.
        RunNotFoundError: a run does not exist.

    Example:
        >>> compare_runs(store, [3, "brave-otter-4"]).params
        {'compile.optimizer.learning_rate': {3: 0.001, 4: 0.003}}
    """
    runs = [store.get_run(ref) for ref in refs]
    ids = [r.id for r in runs]
    if len(set(ids)) < 2:
        raise ValueError(
            "compare needs at least two different runs; give two or more run ids or names"
        )
    comparison = Comparison(runs=runs)
    params = store.params_for(ids)
    keys = sorted(set().union(*(params[i].keys() for i in ids)))
    for key in keys:
        values = {i: params[i].get(key) for i in ids}
        distinct = {repr(v) for v in values.values()}
        if len(distinct) > 1:
            comparison.params[key] = values
        else:
            comparison.same_params += 1
    summaries = store.summaries_for(ids)
    for run_id in ids:
        for key, summary in summaries.get(run_id, {}).items():
            if summary.kind != "epoch":
                continue
            comparison.directions[key] = summary.direction
            comparison.metrics.setdefault(key, {})[run_id] = {
                "final": summary.final_value,
                "best": summary.best_value,
                "best_epoch": summary.best_epoch,
            }
    for key, per_run in comparison.metrics.items():
        candidates = [(v["best"], i) for i, v in per_run.items() if v["best"] is not None]
        if candidates:
            pick = min if comparison.directions.get(key) == "min" else max
            comparison.best_run[key] = pick(candidates)[1]
    curves = store.histories(ids, kind="epoch")
    for key in comparison.metrics:
        epochs = sorted({p.epoch for i in ids for p in curves.get(i, {}).get(key, [])})
        aligned: dict[Any, list[Any]] = {"epochs": epochs}
        for run_id in ids:
            by_epoch = {p.epoch: p.value for p in curves.get(run_id, {}).get(key, [])}
            aligned[run_id] = [by_epoch.get(e) for e in epochs]
        comparison.histories[key] = aligned
    comparison.durations = {
        r.id: (r.duration.total_seconds() if r.duration is not None else None) for r in runs
    }
    return comparison
