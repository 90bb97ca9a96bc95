"""`ZeroPadding2D`: add rows and columns of zeros around images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.layers.layer import Layer
from engine.ops import numpy as onp
from engine.ops.conv import check_data_format, standardize_tuple


def spatial_pairs(value: Any, name: str, layer: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's 2D padding/cropping argument as `((top, bottom), (left, right))`.

    Args:
        value: an int (all four sides), `(symmetric_height, symmetric_width)`
            or `((top, bottom), (left, right))`.
        name: the argument's name, for error messages.
        layer: the layer's name, for error messages.
    """
    if isinstance(value, (int, np.integer)):
        pair = standardize_tuple(value, 2, name, allow_zero=True)
        return (pair, pair)
    if not isinstance(value, Sequence) or len(value) != 2:
        raise ValueError(
            f"{layer} `{name}` must be an int, a tuple of 2 ints or a tuple of 2 tuples of "
            f"2 ints ((top, bottom), (left, right)); got {value!r}."
        )
    height = standardize_tuple(value[0], 2, f"1st entry of {name}", allow_zero=True)
    width = standardize_tuple(value[1], 2, f"2nd entry of {name}", allow_zero=True)
    return (height, width)


class ZeroPadding2D(Layer):
    """Pads `(batch, height, width, channels)` inputs with rows and columns of zeros.

    Args:
        padding: an int (the same on all four sides), `(symmetric_height_pad,
            symmetric_width_pad)` or `((top_pad, bottom_pad), (left_pad, right_pad))`.
        data_format: `"channels_last"` or None; `"channels_first"` is rejected.

    Example:
        >>> x = np.ones((1, 2, 2, 1), "float32")
        >>> ZeroPadding2D(padding=((1, 0), (0, 1)))(x).numpy()[0, :, :, 0]
        array([[0., 0., 0.],
               [1., 1., 0.],
               [1., 1., 0.]], dtype=float32)
    """

    def __init__(
        self,
        padding: int | Sequence[Any] = (1, 1),
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.data_format = check_data_format(data_format)
        self.padding = spatial_pairs(padding, "padding", "ZeroPadding2D")

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 4:
            raise ValueError(
                "ZeroPadding2D expects inputs of rank 4 (batch, height, width, channels), got "
                f"shape {tuple(input_shape)}."
            )
        self.built = True

    def call(self, inputs: Any) -> Any:
        return onp.pad(inputs, ((0, 0), *self.padding, (0, 0)))

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        spatial = [
            None if n is None else n + sum(pad) for n, pad in zip(input_shape[1:3], self.padding)
        ]
        return (input_shape[0], *spatial, input_shape[3])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config
