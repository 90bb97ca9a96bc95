"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.tensor import Variable
from engine.optimizers.optimizer import LearningRate, Optimizer


class Adamax(Optimizer):
    """Adamax with Keras's update.

    `m += (g - m) * (1 - beta_1)`, `u = max(beta_2 * u, |g|)`,
    `w -= learning_rate * m / ((1 - beta_1**t) * (u + epsilon))`.

    Args:
        learning_rate: a float, schedule or callable; defaults to 0.001.
        beta_1: decay rate of the first moment.
        beta_2: decay rate of the weighted infinity norm.
        epsilon: small constant for numerical stability.
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, use_ema, ...).

    Example:
        >>> model.compile(optimizer=Adamax(learning_rate=2e-3), loss="mse")
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        name: str | None = "adamax",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list: Sequence[Variable]) -> None:
        """Create a momentum and a norm slot per variable, interleaved as Keras does."""
        if self.built:
            return
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])

    def update_step(self, gradient: np.ndarray, variable: Variable, learning_rate: float) -> None:
        index = self._get_variable_index(variable)
        step = self._update_count() + 1
        m = self._m[index].value
        u = self._u[index].value
        var = variable.value
        tmp = self._scratch(var)

        np.subtract(gradient, m, out=tmp)
        tmp *= 1 - self.beta_1
        m += tmp
        u *= self.beta_2
        np.maximum(u, np.abs(gradient, out=tmp), out=u)
        denominator = np.add(u, self.epsilon, out=tmp)
        update = np.divide(m, denominator, out=tmp)
        update *= learning_rate / (1 - self.beta_1**step)
        var -= update

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
