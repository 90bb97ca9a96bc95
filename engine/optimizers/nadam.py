"""Nadam: Adam with Nesterov momentum and Dozat's momentum schedule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.config import floatx
from engine.backend.tensor import Variable
from engine.optimizers.optimizer import LearningRate, Optimizer


class Nadam(Optimizer):
    """Nadam with Keras's momentum cache.

    At step `t`, `u_t = beta_1 * (1 - 0.5 * 0.96**t)` and the running product
    `u_product *= u_t` (a state variable). After the Adam moment updates,
    `m_hat = u_{t+1} * m / (1 - u_product * u_{t+1}) + (1 - u_t) * g / (1 - u_product)`,
    `v_hat = v / (1 - beta_2**t)`, `w -= learning_rate * m_hat / (sqrt(v_hat) + epsilon)`.
    This equals PyTorch's `NAdam` with `momentum_decay=1.0` (its default 0.004
    decays the momentum far more slowly).

    Args:
        learning_rate: a float, schedule or callable; defaults to 0.001.
        beta_1: decay rate of the first moment.
        beta_2: decay rate of the second moment.
        epsilon: small constant for numerical stability.
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, use_ema, ...).

    Example:
        >>> model.compile(optimizer=Nadam(learning_rate=2e-3), loss="mse")
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        name: str | None = "nadam",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list: Sequence[Variable]) -> None:
        """Create momentums, velocities, then the scalar momentum-cache product."""
        if self.built:
            return
        var_list = list(var_list)
        dtype = var_list[0].dtype if var_list else floatx()
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._u_product = self.add_variable((), initializer="ones", dtype=dtype, name="u_product")

    def _momentum_cache(self, step: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96**step)

    def _backend_update_step(
        self, grads: list[np.ndarray], variables: list[Variable], learning_rate: float
    ) -> None:
        # The product advances once per step, before any variable is updated.
        self._u_product.value *= self._momentum_cache(self._update_count() + 1)
        super()._backend_update_step(grads, variables, learning_rate)

    def update_step(self, gradient: np.ndarray, variable: Variable, learning_rate: float) -> None:
        index = self._get_variable_index(variable)
        step = self._update_count() + 1
        u_t = self._momentum_cache(step)
        u_t_1 = self._momentum_cache(step + 1)
        u_product_t = float(self._u_product.value)
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = self.beta_2**step

        m = self._momentums[index].value
        v = self._velocities[index].value
        var = variable.value
        tmp = self._scratch(var)
        m_hat = self._scratch(var, 1)

        np.subtract(gradient, m, out=tmp)
        tmp *= 1 - self.beta_1
        m += tmp
        np.square(gradient, out=tmp)
        tmp -= v
        tmp *= 1 - self.beta_2
        v += tmp
        np.multiply(m, u_t_1 / (1 - u_product_t_1), out=m_hat)
        m_hat += np.multiply(gradient, (1 - u_t) / (1 - u_product_t), out=tmp)
        denominator = np.divide(v, 1 - beta_2_power, out=tmp)
        np.sqrt(denominator, out=denominator)
        denominator += self.epsilon
        m_hat /= denominator
        m_hat *= learning_rate
        var -= m_hat

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
