"""`Subtract` and its functional form `subtract`."""

from __future__ import annotations

from typing import Any

from engine.layers.merging.base_merge import Merge
from engine.ops import numpy as onp


class Subtract(Merge):
    """Subtracts two tensors: `inputs[0] - inputs[1]`.

    Example:
        >>> a = np.full((1, 2), 5.0, "float32")
        >>> Subtract()([a, np.ones((1, 2), "float32")]).numpy()
        array([[4., 4.]], dtype=float32)
    """

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(
                f"A Subtract layer must be called on exactly 2 inputs, got {len(input_shape)}."
            )

    def _merge_function(self, inputs: list[Any]) -> Any:
        if len(inputs) != 2:
            raise ValueError(
                f"A Subtract layer must be called on exactly 2 inputs, got {len(inputs)}."
            )
        return onp.subtract(inputs[0], inputs[1])


def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Subtract`: `subtract([a, b])` is `a - b`.

    Args:
        inputs: exactly two tensors.
        **kwargs: `Subtract` layer arguments such as `name`.
    """
    return Subtract(**kwargs)(inputs)
