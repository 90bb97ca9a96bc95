"""The base class of learning rate schedules and the step conversion they share."""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from engine.backend.tensor import unwrap


class LearningRateSchedule(abc.ABC):
    """A learning rate that changes with the optimizer step.

    Subclasses implement `__call__(step)`, returning the learning rate for the
    zero-based optimizer step, and `get_config()` so that they can be saved. An
    optimizer given a schedule as its `learning_rate` evaluates it at its
    `iterations` count before every update.

    Example:
        >>> class InverseStep(LearningRateSchedule):
        ...     def __init__(self, initial_learning_rate):
        ...         self.initial_learning_rate = initial_learning_rate
        ...     def __call__(self, step):
        ...         return self.initial_learning_rate / (float(step) + 1)
        ...     def get_config(self):
        ...         return {"initial_learning_rate": self.initial_learning_rate}
        >>> optimizer = engine.optimizers.SGD(learning_rate=InverseStep(0.1))
    """

    @abc.abstractmethod
    def __call__(self, step: Any) -> float:
        """Return the learning rate at `step` (an int, array or the iterations Variable)."""

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a JSON-able dict.

        Raises:
            TypeError: the subclass did not override it, so it cannot be saved.
        """
        raise TypeError(
            f"Learning rate schedule {type(self).__name__!r} cannot be serialized: "
            "override get_config() to return its constructor arguments."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        """Rebuild a schedule from the output of `get_config()`."""
        return cls(**config)


def step_to_float(step: Any) -> float:
    """Return an optimizer step (int, NumPy scalar, Tensor or Variable) as a Python float."""
    value = unwrap(step)
    if np.ndim(value) != 0:
        raise ValueError(
            f"A learning rate schedule takes a scalar step, got shape {np.shape(value)}."
        )
    return float(value)


def check_positive_steps(name: str, value: Any) -> None:
    """Raise a ValueError unless `value` (a number of steps) is > 0."""
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0, got {name}={value!r}.")
