"""The trials of a `[sweep]`: one dict of dotted-path overrides per run to queue."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from experiments.spec.schema import SweepParameter, SweepTable


def _grid_values(param: SweepParameter) -> list[Any]:
    if param.distribution == "choice":
        return list(param.values or [])
    # A grid accepts only enumerable parameters: choices and int ranges.
    low, high = int(param.low or 0), int(param.high or 0)
    return list(range(low, high + 1, param.step))


def _sample(param: SweepParameter, rng: np.random.Generator) -> Any:
    if param.distribution == "choice":
        values = list(param.values or [])
        return values[int(rng.integers(len(values)))]
    low, high = float(param.low or 0.0), float(param.high or 0.0)
    if param.distribution == "uniform":
        return float(rng.uniform(low, high))
    if param.distribution == "log_uniform":
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    count = (int(high) - int(low)) // param.step + 1
    return int(low) + param.step * int(rng.integers(count))


def sweep_trials(sweep: SweepTable) -> list[dict[str, Any]]:
    """The overrides of each trial, in order: the grid's combinations, or random draws.

    A grid enumerates every combination (choices, and int ranges by `step`),
    the first parameter varying slowest, capped at `max_runs` when set. A
    random search draws `max_runs` trials from the distributions with a
    generator seeded by the sweep's `seed`, so the same spec gives the same trials.

    Args:
        sweep: a validated `[sweep]` table.

    Example:
        >>> sweep = SweepTable(method="grid", parameters={"fit.batch_size": [32, 64]})
        >>> sweep_trials(sweep)
        [{'fit.batch_size': 32}, {'fit.batch_size': 64}]
    """
    paths = list(sweep.parameters)
    if sweep.method == "grid":
        grids = [_grid_values(sweep.parameters[p]) for p in paths]
        combos = itertools.product(*grids)
        if sweep.max_runs is not None:
            combos = itertools.islice(combos, sweep.max_runs)
        return [dict(zip(paths, combo)) for combo in combos]
    rng = np.random.default_rng(sweep.seed)
    return [
        {p: _sample(sweep.parameters[p], rng) for p in paths} for _ in range(sweep.max_runs or 0)
    ]
