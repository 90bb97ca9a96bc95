"""A learning rate that is constant between step boundaries."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from typing import Any

from engine.optimizers.schedules.learning_rate_schedule import LearningRateSchedule, step_to_float


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while `step <= boundaries[0]`, `values[i]` on `(boundaries[i-1], boundaries[i]]`.

    After the last boundary the rate is `values[-1]`.

    Args:
        boundaries: strictly increasing step numbers.
        values: one more rate than there are boundaries.
        name: a name for the schedule, kept in its config.

    Example:
        >>> schedule = PiecewiseConstantDecay([100, 110], [1.0, 0.5, 0.1])
        >>> schedule(100), schedule(101), schedule(111)
        (1.0, 0.5, 0.1)
    """

    def __init__(
        self,
        boundaries: Sequence[float],
        values: Sequence[float],
        name: str = "PiecewiseConstant",
    ) -> None:
        boundaries = list(boundaries)
        values = list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                f"PiecewiseConstantDecay needs one more value than boundaries, got "
                f"{len(boundaries)} boundaries and {len(values)} values."
            )
        if any(b >= c for b, c in itertools.pairwise(boundaries)):
            raise ValueError(
                f"PiecewiseConstantDecay boundaries must be strictly increasing, got {boundaries}."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step: Any) -> float:
        # bisect_left finds how many boundaries lie strictly below the step, which
        # makes each interval closed on its right end as in Keras.
        return float(self.values[bisect.bisect_left(self.boundaries, step_to_float(step))])

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}
