"""Stochastic gradient descent with optional (Nesterov) momentum."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.tensor import Variable
from engine.optimizers.optimizer import LearningRate, Optimizer


class SGD(Optimizer):
    """Gradient descent, with Keras's momentum form.

    Without momentum: `w -= learning_rate * g`. With momentum the velocity
    carries the learning rate: `v = momentum * v - learning_rate * g; w += v`,
    and with Nesterov `w += momentum * v - learning_rate * g`.

    Args:
        learning_rate: a float, schedule or callable; defaults to 0.01.
        momentum: in [0, 1]; 0 is plain gradient descent.
        nesterov: use Nesterov momentum.
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, use_ema, ...).

    Example:
        >>> optimizer = SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
        >>> model.compile(optimizer=optimizer, loss="mse")
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        name: str | None = "SGD",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if (
            isinstance(momentum, bool)
            or not isinstance(momentum, (int, float))
            or not 0 <= momentum <= 1
        ):
            raise ValueError(f"`momentum` must be a float in [0, 1], got {momentum!r}.")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def build(self, var_list: Sequence[Variable]) -> None:
        """Create one momentum slot per variable (only when `momentum` is not 0)."""
        if self.built:
            return
        super().build(var_list)
        self.momentums = (
            self.add_optimizer_variables(var_list, "momentum") if self.momentum != 0 else []
        )

    def update_step(self, gradient: np.ndarray, variable: Variable, learning_rate: float) -> None:
        var = variable.value
        step = np.multiply(gradient, learning_rate, out=self._scratch(var))
        if self.momentum == 0:
            var -= step
            return
        m = self.momentums[self._get_variable_index(variable)].value
        m *= self.momentum
        m -= step
        if self.nesterov:
            update = np.multiply(m, self.momentum, out=self._scratch(var, 1))
            update -= step
            var += update
        else:
            var += m

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
