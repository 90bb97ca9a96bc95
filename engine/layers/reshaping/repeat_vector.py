"""`RepeatVector`: repeat each input vector `n` times along a new time axis."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from engine.backend.tensor import Tensor
from engine.layers.layer import Layer
from engine.ops.core import as_array, record


def repeat_vector(x: Any, n: int) -> Tensor:
    """`(batch, features)` -> `(batch, n, features)`, as one tape entry."""
    a = as_array(x)
    out = np.repeat(a[:, None, :], n, axis=1)
    return record(out, (x,), lambda g, needs: (g.sum(axis=1),))


class RepeatVector(Layer):
    """Repeats each sample's vector `n` times: `(batch, features)` -> `(batch, n, features)`.

    Args:
        n: the number of repetitions.

    Example:
        >>> RepeatVector(3)(np.zeros((2, 32), "float32")).shape
        (2, 3, 32)
    """

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            self.n = operator.index(n)
        except TypeError:
            raise TypeError(f"RepeatVector n must be an integer, got {n!r}.") from None

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 2:
            raise ValueError(
                f"RepeatVector expects 2D inputs (batch, features), got shape {tuple(input_shape)}."
            )
        self.built = True

    def call(self, inputs: Any) -> Any:
        return repeat_vector(inputs, self.n)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["n"] = self.n
        return config
