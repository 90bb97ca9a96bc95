"""`RandomZoom`: random zoom in or out on each axis, active only in training."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.tensor import Tensor
from engine.layers.preprocessing.image_preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    check_fill_and_interpolation,
    jsonable_factor,
    parse_factor,
)
from engine.layers.preprocessing.image_preprocessing.transforms import affine_transform


class RandomZoom(BaseImagePreprocessingLayer):
    """Randomly zooms each image during training; identity at inference.

    Args:
        height_factor: the vertical zoom as a fraction: a number `f` for a
            factor drawn from `[-f, f]`, or a pair `(lower, upper)`. Positive
            values zoom out (the image shrinks), negative values zoom in; 0
            leaves the image unchanged.
        width_factor: the same horizontally; None (default) zooms both axes
            by the same draw, keeping the aspect ratio.
        fill_mode: how the uncovered area is filled: `"reflect"` (default),
            `"wrap"`, `"constant"` or `"nearest"`.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        seed: an int for a reproducible, independent stream of zooms.
        fill_value: the value of the uncovered area when `fill_mode="constant"`.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    Example:
        >>> layer = RandomZoom((-0.5, -0.5), interpolation="nearest")
        >>> x = np.arange(1, 6, dtype="float32").reshape(1, 1, 5, 1)
        >>> layer(x, training=True).numpy().ravel().tolist()  # zoomed in 2x on the centre
        [2.0, 3.0, 3.0, 4.0, 4.0]
    """

    def __init__(
        self,
        height_factor: float | tuple[float, float],
        width_factor: float | tuple[float, float] | None = None,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = parse_factor(height_factor, "height_factor")
        self.width_factor = width_factor
        if width_factor is not None:
            self.width_lower, self.width_upper = parse_factor(width_factor, "width_factor")
        check_fill_and_interpolation(fill_mode, interpolation)
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    def transform_images(self, images: Tensor, training: bool) -> Tensor:
        if not training:
            return images
        batch, height, width = images.shape[:3]
        zoom_y = self.generator.uniform(1 + self.height_lower, 1 + self.height_upper, batch)
        if self.width_factor is None:
            zoom_x = zoom_y
        else:
            zoom_x = self.generator.uniform(1 + self.width_lower, 1 + self.width_upper, batch)
        # Scale about the centre of the pixel grid: a factor above 1 reads a wider
        # input window into the same output, i.e. zooms out.
        x_offset = (width - 1) / 2 * (1 - zoom_x)
        y_offset = (height - 1) / 2 * (1 - zoom_y)
        zeros = np.zeros(batch)
        transforms = np.stack(
            [zoom_x, zeros, x_offset, zeros, zoom_y, y_offset, zeros, zeros], axis=1
        )
        return affine_transform(
            images, transforms, self.interpolation, self.fill_mode, self.fill_value
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "height_factor": jsonable_factor(self.height_factor),
                "width_factor": jsonable_factor(self.width_factor),
                "fill_mode": self.fill_mode,
                "interpolation": self.interpolation,
                "fill_value": self.fill_value,
            }
        )
        return config
