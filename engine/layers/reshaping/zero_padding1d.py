"""`ZeroPadding1D`: add zero steps at the start and end of a sequence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.layers.layer import Layer
from engine.ops import numpy as onp
from engine.ops.conv import standardize_tuple


class ZeroPadding1D(Layer):
    """Pads `(batch, steps, features)` inputs with zeros along the steps axis.

    Args:
        padding: an int (the same number of zero steps at both ends) or
            `(left_pad, right_pad)`.

    Example:
        >>> x = np.arange(1, 5, dtype="float32").reshape(1, 2, 2)
        >>> ZeroPadding1D(padding=(1, 0))(x).numpy()[0]
        array([[0., 0.],
               [1., 2.],
               [3., 4.]], dtype=float32)
    """

    def __init__(self, padding: int | Sequence[int] = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = standardize_tuple(padding, 2, "padding", allow_zero=True)

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 3:
            raise ValueError(
                "ZeroPadding1D expects inputs of rank 3 (batch, steps, features), got shape "
                f"{tuple(input_shape)}."
            )
        self.built = True

    def call(self, inputs: Any) -> Any:
        return onp.pad(inputs, ((0, 0), self.padding, (0, 0)))

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        steps = input_shape[1]
        length = None if steps is None else steps + sum(self.padding)
        return (input_shape[0], length, input_shape[2])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["padding"] = self.padding
        return config
