"""`Permute`: reorder the non-batch axes of each sample."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.layers.layer import Layer
from engine.ops import numpy as onp


class Permute(Layer):
    """Permutes the axes of each sample by `dims` (1-based; the batch axis stays first).

    Args:
        dims: the new order of the axes, a permutation of `1..rank-1`; e.g.
            `(2, 1)` swaps the two axes of `(batch, steps, features)` inputs.

    Example:
        >>> Permute((2, 1))(np.zeros((2, 10, 64), "float32")).shape
        (2, 64, 10)
    """

    def __init__(self, dims: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(
                f"Permute dims must be a permutation of 1..{len(self.dims)} (the batch axis 0 "
                f"is not included), got dims={tuple(dims)}."
            )

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(
                f"Permute(dims={self.dims}) expects inputs of rank {len(self.dims) + 1}, got "
                f"shape {tuple(input_shape)}."
            )
        self.built = True

    def call(self, inputs: Any) -> Any:
        return onp.transpose(inputs, (0, *self.dims))

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["dims"] = list(self.dims)
        return config
