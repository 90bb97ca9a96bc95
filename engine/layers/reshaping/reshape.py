"""`Reshape`: give each sample a new shape."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from engine.backend.tensor import unwrap
from engine.layers.layer import Layer
from engine.ops import numpy as onp


def _validate_target(target: tuple[int, ...]) -> None:
    if sum(d == -1 for d in target) > 1 or any(d < -1 or d == 0 for d in target):
        raise ValueError(
            f"Reshape target_shape {target} must hold positive sizes and at most one -1."
        )


def _resolve(sample_shape: Sequence[int | None], target: tuple[int, ...]) -> tuple[int | None, ...]:
    """The target shape with its `-1` filled in from the sample shape (None when unknown)."""
    unknown = -1 in target
    known = math.prod(d for d in target if d != -1)
    if any(d is None for d in sample_shape):
        return tuple(None if d == -1 else d for d in target)
    size = math.prod(sample_shape)
    if unknown:
        if size % known:
            raise ValueError(
                f"Cannot reshape samples of shape {tuple(sample_shape)} ({size} values) to "
                f"{target}: {size} is not divisible by {known}."
            )
        return tuple(size // known if d == -1 else d for d in target)
    if size != known:
        raise ValueError(
            f"Cannot reshape samples of shape {tuple(sample_shape)} ({size} values) to "
            f"{target} ({known} values); the sizes must match."
        )
    return target


class Reshape(Layer):
    """Reshapes each sample to `target_shape`; the batch axis is kept.

    Args:
        target_shape: the new shape of one sample, without the batch axis; one
            entry may be `-1`, inferred from the others.

    Example:
        >>> Reshape((3, 4))(np.zeros((2, 12), "float32")).shape
        (2, 3, 4)
        >>> Reshape((-1, 2, 2))(np.zeros((2, 12), "float32")).shape
        (2, 3, 2, 2)
    """

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        _validate_target(self.target_shape)
        self.built = True

    def call(self, inputs: Any) -> Any:
        shape = unwrap(inputs).shape
        return onp.reshape(inputs, (shape[0], *_resolve(shape[1:], self.target_shape)))

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        return (input_shape[0], *_resolve(tuple(input_shape)[1:], self.target_shape))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config
