"""`RandomTranslation`: random shifts of each image, active only in training."""

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


class RandomTranslation(BaseImagePreprocessingLayer):
    """Randomly translates each image during training; identity at inference.

    Args:
        height_factor: the vertical shift as a fraction of the height: a number
            `f` for a shift drawn from `[-f, f]`, or a pair `(lower, upper)`.
            Positive values shift the image down.
        width_factor: the same for the horizontal shift; positive shifts right.
        fill_mode: how the uncovered area is filled: `"reflect"` (default,
            `d c b a | a b c d | d c b a`), `"wrap"`, `"constant"` or `"nearest"`.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        seed: an int for a reproducible, independent stream of shifts.
        fill_value: the value of the uncovered area when `fill_mode="constant"`.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    Example:
        >>> layer = RandomTranslation((0.5, 0.5), 0.0, fill_mode="constant", seed=0)
        >>> x = np.arange(1, 5, dtype="float32").reshape(1, 4, 1, 1)
        >>> layer(x, training=True).numpy().ravel().tolist()
        [0.0, 0.0, 1.0, 2.0]
    """

    def __init__(
        self,
        height_factor: float | tuple[float, float],
        width_factor: float | tuple[float, float],
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
        self.width_lower, self.width_upper = parse_factor(width_factor, "width_factor")
        check_fill_and_interpolation(fill_mode, interpolation)
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    def transform_images(self, images: Tensor, training: bool) -> Tensor:
        if not training:
            return images
        batch, height, width = images.shape[:3]
        dy = self.generator.uniform(self.height_lower, self.height_upper, batch) * height
        dx = self.generator.uniform(self.width_lower, self.width_upper, batch) * width
        ones, zeros = np.ones(batch), np.zeros(batch)
        # Output pixel (x, y) reads the input at (x - dx, y - dy).
        transforms = np.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)
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
