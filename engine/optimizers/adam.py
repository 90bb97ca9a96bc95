"""Adam: adaptive moment estimation."""

from __future__ import annotations

import collections
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from engine.backend.tensor import Variable
from engine.optimizers.optimizer import LearningRate, Optimizer

# Variables with fewer elements than this are updated together (`_update_together`),
# in groups of at most `_TOGETHER_MAX` elements: work arrays stay small, and the
# largest groups keep to what a one-by-one update ran on one thread anyway.
_TOGETHER_BELOW = 1 << 15
_TOGETHER_MAX = 1 << 17


class Adam(Optimizer):
    """Adam with Keras's update: epsilon is "epsilon hat", added after the bias correction.

    At step `t`: `m += (g - m) * (1 - beta_1)`, `v += (g**2 - v) * (1 - beta_2)`,
    `w -= learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + epsilon)`.
    (PyTorch adds its epsilon to the bias-corrected `sqrt(v)` instead.) With
    `amsgrad`, the running maximum of `v` replaces `v` in the denominator.

    Args:
        learning_rate: a float, schedule or callable; defaults to 0.001.
        beta_1: decay rate of the first moment.
        beta_2: decay rate of the second moment.
        epsilon: small constant for numerical stability.
        amsgrad: use the AMSGrad variant.
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, use_ema, ...).

    Example:
        >>> model.compile(optimizer=Adam(learning_rate=1e-3), loss="mse")
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        name: str | None = "adam",
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list: Sequence[Variable]) -> None:
        """Create momentums, then velocities, then (with amsgrad) velocity maxima."""
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def update_step(self, gradient: np.ndarray, variable: Variable, learning_rate: float) -> None:
        index = self._get_variable_index(variable)
        var = variable.value
        m = self._momentums[index].value
        v = self._velocities[index].value
        v_hat = self._velocity_hats[index].value if self.amsgrad else None
        arrays = [var, m, v, np.asarray(gradient, dtype=var.dtype), self._scratch(var)]
        update = self._kernel(learning_rate)
        self._in_blocks(update, *arrays, *([] if v_hat is None else [v_hat]), passes=11)

    def _kernel(self, learning_rate: float) -> Callable[..., None]:
        """This step's update as `update(var, m, v, g, tmp[, v_hat])` on same-shaped arrays."""
        step = self._update_count() + 1
        alpha = learning_rate * math.sqrt(1 - self.beta_2**step) / (1 - self.beta_1**step)
        b1, b2, eps = 1 - self.beta_1, 1 - self.beta_2, self.epsilon

        def update(var: np.ndarray, m: np.ndarray, v: np.ndarray, g: np.ndarray, tmp: np.ndarray,
                   *v_hat: np.ndarray) -> None:  # fmt: skip
            np.subtract(g, m, out=tmp)
            tmp *= b1
            m += tmp
            np.square(g, out=tmp)
            tmp -= v
            tmp *= b2
            v += tmp
            if v_hat:
                np.maximum(v_hat[0], v, out=v_hat[0])
                v = v_hat[0]
            denominator = np.sqrt(v, out=tmp)
            denominator += eps
            step = np.divide(m, denominator, out=tmp)
            step *= alpha
            var -= step

        return update

    def _backend_update_step(
        self, grads: list[np.ndarray], variables: list[Variable], learning_rate: float
    ) -> None:
        # Small variables are updated together, as one array per slot: one by
        # one, Adam's eleven NumPy calls on each cost more than their arithmetic.
        # The Transformer benchmark's optimizer step (18 small variables and the
        # embedding table) took 0.88 ms of the calling thread, now 0.53-0.6 ms.
        if type(self).update_step is Adam.update_step and "update_step" not in self.__dict__:
            groups = _small_groups(variables)
            for group in groups:
                self._update_together(
                    [grads[i] for i in group], [variables[i] for i in group], learning_rate
                )
            together = {i for group in groups for i in group}
            if together:
                grads = [g for i, g in enumerate(grads) if i not in together]
                variables = [v for i, v in enumerate(variables) if i not in together]
        super()._backend_update_step(grads, variables, learning_rate)

    def _update_together(
        self, grads: list[np.ndarray], variables: list[Variable], learning_rate: float
    ) -> None:
        """`update_step` on each variable, run as one update of their concatenation.

        Element by element the arithmetic is the same, so the results are too, bit
        for bit. The concatenations live in reused work arrays.
        """
        dtype = variables[0].value.dtype
        indices = [self._get_variable_index(v) for v in variables]
        slots = [[v.value for v in variables]]
        slots.append([self._momentums[i].value for i in indices])
        slots.append([self._velocities[i].value for i in indices])
        if self.amsgrad:
            slots.append([self._velocity_hats[i].value for i in indices])
        bounds = list(itertools.accumulate((a.size for a in slots[0]), initial=0))
        size = bounds[-1]
        flat = []
        for k, arrays in enumerate([*slots, grads]):
            # Work slots 1 and up: update_step's own scratch is slot 0.
            out = self._work(size, dtype, 1 + k)
            np.concatenate([a.reshape(-1) for a in arrays], out=out)
            flat.append(out)
        *state, g = flat
        update = self._kernel(learning_rate)
        update(state[0], state[1], state[2], g, self._work(size, dtype, 1 + len(flat)), *state[3:])
        for arrays, values in zip(slots, state):
            for a, start, stop in zip(arrays, bounds, bounds[1:]):
                a[...] = values[start:stop].reshape(a.shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "amsgrad": self.amsgrad,
            }
        )
        return config


def _small_groups(variables: list[Variable]) -> list[list[int]]:
    """Indices of the variables to update together: small ones, by dtype, in groups of
    at most `_TOGETHER_MAX` elements, each of two or more. A variable listed twice is
    left out (one by one, its second update starts from its first's result)."""
    counts = collections.Counter(id(v) for v in variables)
    open_groups: dict[np.dtype, tuple[list[int], int]] = {}
    groups: list[list[int]] = []
    for i, v in enumerate(variables):
        size = v.value.size
        if size >= _TOGETHER_BELOW or counts[id(v)] > 1:
            continue
        members, total = open_groups.get(v.value.dtype, ([], 0))
        if total + size > _TOGETHER_MAX:
            groups.append(members)
            members, total = [], 0
        members.append(i)
        open_groups[v.value.dtype] = (members, total + size)
    groups.extend(members for members, _ in open_groups.values())
    return [g for g in groups if len(g) > 1]
