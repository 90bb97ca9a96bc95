"""`UnitNormalization`: scale each sample to unit L2 norm."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.layers.layer import Layer
from engine.ops.normalization import unit_normalization


class UnitNormalization(Layer):
    """Scales each input vector to an L2 norm of 1 over `axis`.

    Computes `x * rsqrt(max(sum(x**2), 1e-12))`, so all-zero vectors stay zero.

    Args:
        axis: the axis or axes holding each vector; -1 is the last.

    Example:
        >>> UnitNormalization()(np.array([[3.0, 4.0]], "float32")).numpy()
        array([[0.6, 0.8]], dtype=float32)
    """

    def __init__(self, axis: int | list[int] | tuple[int, ...] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and all(_is_int(a) for a in axis):
            self.axis: int | list[int] = [int(a) for a in axis]
        elif _is_int(axis):
            self.axis = int(axis)
        else:
            raise TypeError(
                f"UnitNormalization axis must be an int or a list/tuple of ints, got {axis!r}."
            )
        self.supports_masking = True
        self.built = True

    def call(self, inputs: Any) -> Any:
        return unit_normalization(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["axis"] = self.axis
        return config


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
