"""Adagrad: per-parameter rates shrinking with the sum of squared gradients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.tensor import Variable
from engine.optimizers.optimizer import LearningRate, Optimizer


class Adagrad(Optimizer):
    """Adagrad with Keras's update: `acc += g**2; w -= learning_rate * g / sqrt(acc + epsilon)`.

    Args:
        learning_rate: a float, schedule or callable; defaults to 0.001.
        initial_accumulator_value: the starting value of the accumulators (>= 0).
        epsilon: small constant added inside the square root.
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, use_ema, ...).

    Example:
        >>> model.compile(optimizer=Adagrad(learning_rate=0.01), loss="mse")
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if initial_accumulator_value < 0:
            raise ValueError(
                f"`initial_accumulator_value` must be >= 0, got {initial_accumulator_value}."
            )
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list: Sequence[Variable]) -> None:
        """Create one accumulator per variable, filled with `initial_accumulator_value`."""
        if self.built:
            return
        super().build(var_list)
        self._accumulators = self.add_optimizer_variables(
            var_list, "accumulator", initializer=float(self.initial_accumulator_value)
        )

    def update_step(self, gradient: np.ndarray, variable: Variable, learning_rate: float) -> None:
        accumulator = self._accumulators[self._get_variable_index(variable)].value
        var = variable.value
        tmp = self._scratch(var)
        accumulator += np.square(gradient, out=tmp)
        denominator = np.add(accumulator, self.epsilon, out=tmp)
        np.sqrt(denominator, out=denominator)
        update = np.divide(gradient, denominator, out=tmp)
        update *= learning_rate
        var -= update

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}
        )
        return config
