"""The JSON shapes of runs that `runs --json` and `show --json` print (a documented contract).

`runs --json` prints a list of `run_summary` objects: `id`, `name`,
`experiment`, `status`, `epochs_done`, `epochs_total`, `progress` (0-1 or
null), `priority`, `seed`, `attempt`, `parent_run_id`, `sweep_id`,
`worker_id`, `created_at`, `started_at`, `finished_at` (ISO 8601, UTC),
`duration_seconds`, `error`, `params` (flat dotted keys), `metrics` (`final`
and `best` maps of metric name to value, and `best_epoch`), and `tags`.
`show --json` prints one `run_detail`: the same keys plus `spec`, `history`
(one map of metric values per epoch, with its `epoch`), `checkpoints`,
`environment`, `notes` and `traceback`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from experiments.store import MetricSummaryRecord, RunRecord, Store


def _metrics(summaries: dict[str, MetricSummaryRecord]) -> dict[str, dict[str, Any]]:
    return {
        "final": {k: s.final_value for k, s in summaries.items()},
        "best": {k: s.best_value for k, s in summaries.items()},
        "best_epoch": {k: s.best_epoch for k, s in summaries.items()},
    }


def _summary(
    run: RunRecord,
    params: dict[str, Any],
    summaries: dict[str, MetricSummaryRecord],
    tags: dict[str, str],
) -> dict[str, Any]:
    duration = run.duration
    return {
        "id": run.id,
        "name": run.name,
        "experiment": run.experiment,
        "status": run.status,
        "epochs_done": run.epochs_done,
        "epochs_total": run.epochs_total,
        "progress": run.progress,
        "priority": run.priority,
        "seed": run.seed,
        "attempt": run.attempt,
        "parent_run_id": run.parent_run_id,
        "sweep_id": run.sweep_id,
        "worker_id": run.worker_id,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_seconds": duration.total_seconds() if duration is not None else None,
        "error": run.error,
        "params": params,
        "metrics": _metrics(summaries),
        "tags": tags,
    }


def run_summaries(store: Store, runs: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """The `runs --json` objects of several runs, read with one query per kind of data.

    Args:
        store: the tracking store.
        runs: the runs, in the order to print them.
    """
    ids = [r.id for r in runs]
    params = store.params_for(ids)
    summaries = store.summaries_for(ids)
    tags = store.tags_for(ids)
    return [
        _summary(r, params.get(r.id, {}), summaries.get(r.id, {}), tags.get(r.id, {})) for r in runs
    ]


def run_detail(store: Store, run_id: int) -> dict[str, Any]:
    """The `show --json` object of one run.

    Args:
        store: the tracking store.
        run_id: the run's id.
    """
    run = store.get_run(run_id)
    detail = run_summaries(store, [run])[0]
    detail["spec"] = run.spec
    detail["history"] = store.epoch_history(run_id)
    detail["checkpoints"] = [
        {
            "id": c.id,
            "epoch": c.epoch,
            "step": c.step,
            "size_bytes": c.size_bytes,
            "is_best": c.is_best,
            "is_last": c.is_last,
            "monitor": c.monitor,
            "monitor_value": c.monitor_value,
            "created_at": c.created_at,
        }
        for c in store.list_checkpoints(run_id)
    ]
    detail["environment"] = store.environment(run_id)
    detail["notes"] = [{"text": n.text, "created_at": n.created_at} for n in store.notes(run_id)]
    detail["traceback"] = run.traceback
    return detail


def main_metric_keys(keys: Sequence[str], limit: int = 4) -> list[str]:
    """The metrics a run table shows: loss and an accuracy-like metric, training then validation.

    Args:
        keys: every metric name recorded.
        limit: at most this many.

    Example:
        >>> main_metric_keys(["accuracy", "loss", "val_accuracy", "val_loss", "lr"])
        ['loss', 'accuracy', 'val_loss', 'val_accuracy']
    """
    train = [k for k in keys if not k.startswith("val_")]
    first = ["loss"] if "loss" in train else []
    others = [k for k in train if k != "loss"]
    first += ([k for k in others if "acc" in k] or others)[:1]
    chosen = first + [f"val_{k}" for k in first if f"val_{k}" in keys]
    return chosen[:limit]
