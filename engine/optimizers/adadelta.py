"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.tensor import Variable
from engine.optimizers.optimizer import LearningRate, Optimizer


class Adadelta(Optimizer):
    """Adadelta, with a learning rate scaling the update as in Keras (and PyTorch).

    `acc_g = rho * acc_g + (1 - rho) * g**2`,
    `delta = -sqrt(acc_d + epsilon) / sqrt(acc_g + epsilon) * g`,
    `acc_d = rho * acc_d + (1 - rho) * delta**2`, `w += learning_rate * delta`.
    Use `learning_rate=1.0` for the paper's form.

    Args:
        learning_rate: a float, schedule or callable; defaults to 0.001.
        rho: decay rate of the running averages.
        epsilon: small constant added inside the square roots.
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, use_ema, ...).

    Example:
        >>> model.compile(optimizer=Adadelta(learning_rate=1.0), loss="mse")
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        rho: float = 0.95,
        epsilon: float = 1e-7,
        name: str | None = "adadelta",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list: Sequence[Variable]) -> None:
        """Create the squared-gradient accumulators, then the squared-update accumulators."""
        if self.built:
            return
        super().build(var_list)
        self._accumulated_grads = self.add_optimizer_variables(var_list, "accumulated_grad")
        self._accumulated_delta_vars = self.add_optimizer_variables(
            var_list, "accumulated_delta_var"
        )

    def update_step(self, gradient: np.ndarray, variable: Variable, learning_rate: float) -> None:
        index = self._get_variable_index(variable)
        rho, epsilon = self.rho, self.epsilon
        accumulated_grad = self._accumulated_grads[index].value
        accumulated_delta = self._accumulated_delta_vars[index].value
        var = variable.value
        tmp = self._scratch(var)
        step = self._scratch(var, 1)

        accumulated_grad *= rho
        np.square(gradient, out=tmp)
        tmp *= 1 - rho
        accumulated_grad += tmp
        # `step` is -delta: sqrt(acc_d + eps) * g / sqrt(acc_g + eps).
        np.sqrt(np.add(accumulated_delta, epsilon, out=step), out=step)
        step *= gradient
        step /= np.sqrt(np.add(accumulated_grad, epsilon, out=tmp), out=tmp)
        accumulated_delta *= rho
        np.square(step, out=tmp)
        tmp *= 1 - rho
        accumulated_delta += tmp
        step *= learning_rate
        var -= step

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
