"""Cosine learning rate decay with an optional linear warmup."""

from __future__ import annotations

import math
from typing import Any

from engine.optimizers.schedules.learning_rate_schedule import (
    LearningRateSchedule,
    check_positive_steps,
    step_to_float,
)


class CosineDecay(LearningRateSchedule):
    """Cosine decay (SGDR without restarts), optionally after a linear warmup.

    Without `warmup_target` the rate goes from `initial_learning_rate` to
    `initial_learning_rate * alpha` along half a cosine over `decay_steps`.
    With it, the rate first rises linearly from `initial_learning_rate` to
    `warmup_target` over `warmup_steps`, then decays from `warmup_target` to
    `warmup_target * alpha` over the next `decay_steps`.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive number of steps to decay over.
        alpha: the final rate as a fraction of the rate the decay starts from.
        name: a name for the schedule, kept in its config.
        warmup_target: the rate reached at the end of the warmup; None skips warmup.
        warmup_steps: the number of warmup steps.

    Example:
        >>> schedule = CosineDecay(0.0, decay_steps=1000, warmup_target=0.1, warmup_steps=100)
        >>> schedule(50)
        0.05
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: float,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: float | None = None,
        warmup_steps: float = 0,
    ) -> None:
        check_positive_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step: float, decay_from: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / float(self.decay_steps)))
        alpha = float(self.alpha)
        return decay_from * ((1.0 - alpha) * cosine + alpha)

    def __call__(self, step: Any) -> float:
        step = step_to_float(step)
        initial = float(self.initial_learning_rate)
        if self.warmup_target is None:
            return self._decay(min(step, float(self.decay_steps)), initial)
        target = float(self.warmup_target)
        warmup_steps = float(self.warmup_steps)
        step = min(step, float(self.decay_steps) + warmup_steps)
        if step < warmup_steps:
            return (target - initial) * (step / warmup_steps) + initial
        return self._decay(step - warmup_steps, target)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }
