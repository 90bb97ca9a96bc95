"""`RandomRotation`: random rotations about the image centre, active only in training."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.tensor import Tensor
from engine.layers.preprocessing.image_preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
    check_fill_and_interpolation,
    parse_factor,
)
from engine.layers.preprocessing.image_preprocessing.transforms import affine_transform


class RandomRotation(BaseImagePreprocessingLayer):
    """Randomly rotates each image during training; identity at inference.

    Args:
        factor: the rotation as a fraction of a full turn: a number `f` for an
            angle drawn from `[-f * 360, f * 360]` degrees, or a pair
            `(lower, upper)`. Positive angles rotate counter-clockwise.
        fill_mode: how the uncovered corners are filled: `"reflect"` (default),
            `"wrap"`, `"constant"` or `"nearest"`.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        seed: an int for a reproducible, independent stream of angles.
        fill_value: the value of the uncovered area when `fill_mode="constant"`.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    Example:
        >>> layer = RandomRotation((0.25, 0.25), interpolation="nearest")
        >>> x = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
        >>> layer(x, training=True).numpy()[0, :, :, 0].tolist()  # np.rot90
        [[1.0, 3.0], [0.0, 2.0]]
    """

    def __init__(
        self,
        factor: float | tuple[float, float],
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = parse_factor(factor, "factor")
        check_fill_and_interpolation(fill_mode, interpolation)
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    def transform_images(self, images: Tensor, training: bool) -> Tensor:
        if not training:
            return images
        batch, height, width = images.shape[:3]
        lower, upper = self.factor
        angle = self.generator.uniform(lower * 2 * np.pi, upper * 2 * np.pi, batch)
        cos, sin = np.cos(angle), np.sin(angle)
        # Rotate about the centre of the pixel grid, ((width - 1) / 2, (height - 1) / 2).
        x_offset = ((width - 1) - (cos * (width - 1) - sin * (height - 1))) / 2
        y_offset = ((height - 1) - (sin * (width - 1) + cos * (height - 1))) / 2
        zeros = np.zeros(batch)
        transforms = np.stack([cos, -sin, x_offset, sin, cos, y_offset, zeros, zeros], axis=1)
        return affine_transform(
            images, transforms, self.interpolation, self.fill_mode, self.fill_value
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "factor": list(self.factor),
                "fill_mode": self.fill_mode,
                "fill_value": self.fill_value,
                "interpolation": self.interpolation,
            }
        )
        return config
