"""Polynomial learning rate decay to an end rate, optionally cycling."""

from __future__ import annotations

import math
from typing import Any

from engine.optimizers.schedules.learning_rate_schedule import (
    LearningRateSchedule,
    check_positive_steps,
    step_to_float,
)


class PolynomialDecay(LearningRateSchedule):
    """Decay from `initial_learning_rate` to `end_learning_rate` over `decay_steps`.

    `(initial - end) * (1 - step / decay_steps) ** power + end`, with the step
    capped at `decay_steps`. With `cycle=True` the horizon is instead the first
    multiple of `decay_steps` that is at least the step (`decay_steps` at step 0).

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive number of steps to reach `end_learning_rate`.
        end_learning_rate: the final rate.
        power: the power of the polynomial (1.0 is linear).
        cycle: restart the decay after each `decay_steps` horizon.
        name: a name for the schedule, kept in its config.

    Example:
        >>> schedule = PolynomialDecay(0.1, decay_steps=10000, end_learning_rate=0.01, power=0.5)
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: float,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
        name: str = "PolynomialDecay",
    ) -> None:
        check_positive_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step: Any) -> float:
        step = step_to_float(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            multiplier = 1.0 if step == 0 else math.ceil(step / decay_steps)
            decay_steps *= multiplier
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        initial, end = float(self.initial_learning_rate), float(self.end_learning_rate)
        return (initial - end) * (1.0 - p) ** float(self.power) + end

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }
