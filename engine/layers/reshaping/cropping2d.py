"""`Cropping2D`: remove rows and columns at the edges of images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.layers.layer import Layer
from engine.layers.reshaping.zero_padding2d import spatial_pairs
from engine.ops import numpy as onp
from engine.ops.conv import check_data_format


class Cropping2D(Layer):
    """Crops `(batch, height, width, channels)` inputs along height and width.

    Args:
        cropping: an int (the same on all four sides), `(symmetric_height_crop,
            symmetric_width_crop)` or `((top_crop, bottom_crop), (left_crop, right_crop))`.
        data_format: `"channels_last"` or None; `"channels_first"` is rejected.

    Example:
        >>> x = np.zeros((2, 28, 28, 3), "float32")
        >>> Cropping2D(cropping=((2, 2), (4, 4)))(x).shape
        (2, 24, 20, 3)
    """

    def __init__(
        self,
        cropping: int | Sequence[Any] = ((0, 0), (0, 0)),
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.data_format = check_data_format(data_format)
        self.cropping = spatial_pairs(cropping, "cropping", "Cropping2D")

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 4:
            raise ValueError(
                "Cropping2D expects inputs of rank 4 (batch, height, width, channels), got "
                f"shape {tuple(input_shape)}."
            )
        self.compute_output_shape(input_shape)
        self.built = True

    def call(self, inputs: Any) -> Any:
        height, width = inputs.shape[1:3]
        self.compute_output_shape(inputs.shape)
        (top, bottom), (left, right) = self.cropping
        return onp.getitem(
            inputs, (slice(None), slice(top, height - bottom), slice(left, width - right))
        )

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        spatial = []
        for n, crop in zip(input_shape[1:3], self.cropping):
            if n is not None and sum(crop) >= n:
                raise ValueError(
                    f"Cropping2D cropping {self.cropping} removes every row or column of "
                    f"inputs of shape {tuple(input_shape)}; crop less."
                )
            spatial.append(None if n is None else n - sum(crop))
        return (input_shape[0], *spatial, input_shape[3])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"cropping": self.cropping, "data_format": self.data_format})
        return config
