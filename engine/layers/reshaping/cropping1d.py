"""`Cropping1D`: remove steps at the start and end of a sequence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.layers.layer import Layer
from engine.ops import numpy as onp
from engine.ops.conv import standardize_tuple


class Cropping1D(Layer):
    """Crops `(batch, steps, features)` inputs along the steps axis.

    Args:
        cropping: an int (the same number of steps off both ends) or
            `(left_crop, right_crop)`.

    Example:
        >>> x = np.arange(6, dtype="float32").reshape(1, 3, 2)
        >>> Cropping1D(cropping=1)(x).numpy()
        array([[[2., 3.]]], dtype=float32)
    """

    def __init__(self, cropping: int | Sequence[int] = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = standardize_tuple(cropping, 2, "cropping", allow_zero=True)

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 3:
            raise ValueError(
                "Cropping1D expects inputs of rank 3 (batch, steps, features), got shape "
                f"{tuple(input_shape)}."
            )
        self.compute_output_shape(input_shape)
        self.built = True

    def call(self, inputs: Any) -> Any:
        steps = inputs.shape[1]
        self.compute_output_shape(inputs.shape)
        start, end = self.cropping
        return onp.getitem(inputs, (slice(None), slice(start, steps - end)))

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        steps = input_shape[1]
        if steps is not None and sum(self.cropping) >= steps:
            raise ValueError(
                f"Cropping1D cropping {self.cropping} removes all {steps} steps of inputs of "
                f"shape {tuple(input_shape)}; crop fewer steps."
            )
        length = None if steps is None else steps - sum(self.cropping)
        return (input_shape[0], length, input_shape[2])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["cropping"] = self.cropping
        return config
