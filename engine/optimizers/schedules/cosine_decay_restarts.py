"""Cosine learning rate decay with warm restarts (SGDR)."""

from __future__ import annotations

import math
from typing import Any

from engine.optimizers.schedules.learning_rate_schedule import (
    LearningRateSchedule,
    check_positive_steps,
    step_to_float,
)


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay that restarts, each period `t_mul` times longer and `m_mul` times lower.

    The first period decays the multiplier from 1 to `alpha` over
    `first_decay_steps`; period `i` (from 0) lasts `first_decay_steps * t_mul**i`
    steps and starts from `m_mul**i`.

    Args:
        initial_learning_rate: the rate at step 0.
        first_decay_steps: positive length of the first period.
        t_mul: growth factor of the period length.
        m_mul: factor applied to the starting rate at each restart.
        alpha: the minimum rate as a fraction of `initial_learning_rate`.
        name: a name for the schedule, kept in its config.

    Example:
        >>> schedule = CosineDecayRestarts(0.1, first_decay_steps=1000)
        >>> schedule(1000)  # the first restart
        0.1
    """

    def __init__(
        self,
        initial_learning_rate: float,
        first_decay_steps: float,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        alpha: float = 0.0,
        name: str = "SGDRDecay",
    ) -> None:
        check_positive_steps("first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def _restart_and_fraction(self, fraction: float) -> tuple[float, float]:
        """Which period `fraction` (of the first period) falls in, and how far into it."""
        t_mul = float(self.t_mul)
        if t_mul == 1.0:
            restart = math.floor(fraction)
            return restart, fraction - restart
        # Periods grow geometrically: the i-th starts at (1 - t_mul**i) / (1 - t_mul).
        restart = math.floor(math.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
        start = (1.0 - t_mul**restart) / (1.0 - t_mul)
        return restart, (fraction - start) / t_mul**restart

    def __call__(self, step: Any) -> float:
        fraction = step_to_float(step) / float(self.first_decay_steps)
        restart, fraction = self._restart_and_fraction(fraction)
        cosine = 0.5 * float(self.m_mul) ** restart * (1.0 + math.cos(math.pi * fraction))
        alpha = float(self.alpha)
        return float(self.initial_learning_rate) * ((1.0 - alpha) * cosine + alpha)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }
