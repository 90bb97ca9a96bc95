"""Sweeps: launching one run per trial of a `[sweep]`, and stopping hopeless trials early.

`launch` queues a spec: one run, or, when the spec has a `[sweep]`, one run per
trial (grid combinations or seeded random draws from `sweep_trials`), grouped
under a sweep record that keeps the `[sweep]` table. `MedianStopping` is the
callback the runner adds to a trial whose sweep has `[sweep.early_stopping]`:
after `warmup_epochs`, a trial whose best value so far is worse than the median
of the other trials' best values at the same epoch stops (and completes).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

from engine.callbacks import Callback
from experiments.spec import resolve, sweep_trials
from experiments.store.direction import metric_direction
from experiments.submit import prepare_run_spec, submit


def launch(
    spec: Any,
    store: Any,
    overrides: Mapping[str, Any] | None = None,
    *,
    priority: int = 0,
    sweep_name: str | None = None,
    parent_run_id: int | None = None,
) -> list[int]:
    """Queue a spec's run, or every trial of its sweep; return the run ids in order.

    Every trial is validated before anything is written, so an invalid trial
    (say a batch size the model refuses) queues nothing.

    Args:
        spec: a spec path, example name, dict or `ExperimentSpec`.
        store: the tracking store.
        overrides: dotted-path overrides applied to every trial.
        priority: the runs' queue priority.
        sweep_name: a label for the sweep (the experiment name when None).
        parent_run_id: the run these runs rerun (with edits), if any: every run
            queued records it as its parent.

    Raises:
        SpecError: the spec or one of its trials is invalid; nothing was written.

    Example:
        >>> launch("shapes_sweep", store, {"fit.epochs": "1"})
        [7, 8, 9, 10, 11, 12]
    """
    base = prepare_run_spec(spec, overrides)
    if base.sweep is None:
        return [submit(base, store, priority=priority, parent_run_id=parent_run_id)]
    raw = resolve(base)
    trials = sweep_trials(base.sweep)
    validated = [prepare_run_spec(raw, trial) for trial in trials]
    config = base.sweep.model_dump(mode="json")
    config["trials"] = trials
    sweep = store.create_sweep(
        base.experiment.name, sweep_name or base.experiment.name, base.sweep.method, config
    )
    return [
        submit(trial, store, priority=priority, sweep_id=sweep.id, parent_run_id=parent_run_id)
        for trial in validated
    ]


class MedianStopping(Callback):
    """Stop a sweep trial whose best value so far is worse than the other trials' median.

    Args:
        store: the tracking store.
        run_id: this trial's run.
        sweep_id: its sweep.
        metric: the metric compared (`val_loss`).
        mode: "min", "max" or "auto" (from the metric's name).
        warmup_epochs: never stop before this many epochs.
        min_trials: other trials that must have reached the epoch before comparing.
    """

    def __init__(
        self,
        store: Any,
        run_id: int,
        sweep_id: int,
        metric: str = "val_loss",
        mode: str = "auto",
        warmup_epochs: int = 1,
        min_trials: int = 3,
    ) -> None:
        super().__init__()
        self.store = store
        self.run_id = run_id
        self.sweep_id = sweep_id
        self.metric = metric
        self.direction = metric_direction(metric) if mode == "auto" else mode
        self.warmup_epochs = warmup_epochs
        self.min_trials = min_trials
        self.best: float | None = None
        self.stopped_epoch: int | None = None

    def _better(self, a: float, b: float) -> bool:
        return a < b if self.direction == "min" else a > b

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self.metric)
        if value is None:
            return
        value = float(value)
        if self.best is None or self._better(value, self.best):
            self.best = value
        done = epoch + 1
        if done < self.warmup_epochs:
            return
        others = [r.id for r in self.store.list_runs(sweep_id=self.sweep_id) if r.id != self.run_id]
        curves = self.store.histories(others, kind="epoch", keys=[self.metric]) if others else {}
        bests = []
        for run_id in others:
            points = [
                p.value
                for p in curves.get(run_id, {}).get(self.metric, [])
                if p.epoch <= done and p.value is not None
            ]
            if any(p.epoch == done for p in curves.get(run_id, {}).get(self.metric, [])):
                bests.append(min(points) if self.direction == "min" else max(points))
        if len(bests) < self.min_trials:
            return
        median = statistics.median(bests)
        if self._better(median, self.best):
            self.stopped_epoch = done
            self.model.stop_training = True
            self.store.append_logs(
                self.run_id,
                [
                    f"stopped by the median rule after epoch {done}: best {self.metric} "
                    f"{self.best:.4g} is worse than the median {median:.4g} of {len(bests)} trials"
                ],
            )


def early_stopping_for(store: Any, run: Any) -> MedianStopping | None:
    """The median-stopping callback for a trial whose sweep asks for one, else None."""
    if run.sweep_id is None:
        return None
    rule = (store.get_sweep(run.sweep_id).config or {}).get("early_stopping")
    if not rule:
        return None
    return MedianStopping(
        store,
        run.id,
        run.sweep_id,
        metric=rule.get("metric", "val_loss"),
        mode=rule.get("mode", "auto"),
        warmup_epochs=int(rule.get("warmup_epochs", 1)),
        min_trials=int(rule.get("min_trials", 3)),
    )
