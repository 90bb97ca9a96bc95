"""RMSprop: divide the gradient by a running root mean square of recent gradients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.tensor import Variable
from engine.optimizers.optimizer import LearningRate, Optimizer


class RMSprop(Optimizer):
    """RMSprop with Keras's update, epsilon inside the square root.

    `v = rho * v + (1 - rho) * g**2`; the step is
    `learning_rate * g / sqrt(v + epsilon)` (centered: `sqrt(v - a**2 + epsilon)`
    with `a` the running mean gradient). With momentum,
    `mom = momentum * mom + step; w -= mom`, else `w -= step`.

    Args:
        learning_rate: a float, schedule or callable; defaults to 0.001.
        rho: discount factor of the running averages.
        momentum: plain (not Nesterov) momentum; 0 disables it.
        epsilon: small constant added inside the square root.
        centered: normalize by the estimated variance instead of the second moment.
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, use_ema, ...).

    Example:
        >>> model.compile(optimizer=RMSprop(learning_rate=1e-3, centered=True), loss="mse")
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        name: str | None = "rmsprop",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list: Sequence[Variable]) -> None:
        """Create velocities, momentums (if momentum > 0), then average gradients (if centered)."""
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = (
            self.add_optimizer_variables(var_list, "momentum") if self.momentum > 0 else []
        )
        self._average_gradients = (
            self.add_optimizer_variables(var_list, "average_gradient") if self.centered else []
        )

    def update_step(self, gradient: np.ndarray, variable: Variable, learning_rate: float) -> None:
        index = self._get_variable_index(variable)
        var = variable.value
        rho = self.rho
        tmp = self._scratch(var)
        velocity = self._velocities[index].value
        velocity *= rho
        np.square(gradient, out=tmp)
        tmp *= 1 - rho
        velocity += tmp
        if self.centered:
            average = self._average_gradients[index].value
            average *= rho
            average += np.multiply(gradient, 1 - rho, out=tmp)
            np.subtract(velocity, np.square(average, out=tmp), out=tmp)
            tmp += self.epsilon
        else:
            np.add(velocity, self.epsilon, out=tmp)
        increment = np.sqrt(tmp, out=tmp)
        np.divide(gradient, increment, out=increment)
        increment *= learning_rate
        if self.momentum > 0:
            momentum = self._momentums[index].value
            momentum *= self.momentum
            momentum += increment
            var -= momentum
        else:
            var -= increment

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "rho": self.rho,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "centered": self.centered,
            }
        )
        return config
