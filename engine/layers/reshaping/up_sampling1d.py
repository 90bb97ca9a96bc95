"""`UpSampling1D`: repeat each step of a sequence."""

from __future__ import annotations

from typing import Any

from engine.layers.layer import Layer
from engine.ops import numpy as onp


class UpSampling1D(Layer):
    """Repeats each step of `(batch, steps, features)` inputs `size` times.

    Args:
        size: the upsampling factor.

    Example:
        >>> x = np.array([[[1.0], [2.0]]], "float32")
        >>> UpSampling1D(size=2)(x).numpy().ravel()
        array([1., 1., 2., 2.], dtype=float32)
    """

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"UpSampling1D size must be a positive int, got {size!r}.")
        self.size = int(size)

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 3:
            raise ValueError(
                "UpSampling1D expects inputs of rank 3 (batch, steps, features), got shape "
                f"{tuple(input_shape)}."
            )
        self.built = True

    def call(self, inputs: Any) -> Any:
        return onp.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else steps * self.size, input_shape[2])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["size"] = self.size
        return config
