"""`RandomCrop`: a random window in training, the central window at inference."""

from __future__ import annotations

from typing import Any

from engine.backend.tensor import Tensor
from engine.layers.preprocessing.image_preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
)
from engine.layers.preprocessing.image_preprocessing.transforms import resize_bilinear
from engine.ops import numpy as onp


class RandomCrop(BaseImagePreprocessingLayer):
    """Crops images to `(height, width)`: at a random place in training, centred otherwise.

    In training, when the images are at least the target size, one random
    window position is drawn per batch (as in Keras, every image of the batch
    is cropped at the same place). At inference, and in training when an image
    is smaller than the target, the layer takes the largest central window
    with the target's aspect ratio and resizes it bilinearly to
    `(height, width)`, so the output always has the target size.

    Args:
        height: the output height.
        width: the output width.
        seed: an int for a reproducible, independent stream of positions.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    Example:
        >>> layer = RandomCrop(2, 2, seed=0)
        >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
        >>> layer(x, training=True).shape
        (1, 2, 2, 1)
    """

    def __init__(
        self,
        height: int,
        width: int,
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        for name, value in (("height", height), ("width", width)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"RandomCrop {name} must be a positive integer, got {value!r}.")
        self.height = height
        self.width = width

    def transform_images(self, images: Tensor, training: bool) -> Tensor:
        in_height, in_width = images.shape[1:3]
        if training and in_height >= self.height and in_width >= self.width:
            top = int(self.generator.integers(0, in_height - self.height + 1))
            left = int(self.generator.integers(0, in_width - self.width + 1))
            return onp.getitem(
                images, (slice(None), slice(top, top + self.height), slice(left, left + self.width))
            )
        # The largest central window with the target aspect ratio.
        crop_height = max(min(in_height, int(in_width * self.height / self.width)), 1)
        crop_width = max(min(in_width, int(in_height * self.width / self.height)), 1)
        top = (in_height - crop_height) // 2
        left = (in_width - crop_width) // 2
        window = onp.getitem(
            images, (slice(None), slice(top, top + crop_height), slice(left, left + crop_width))
        )
        if (crop_height, crop_width) == (self.height, self.width):
            return window
        return resize_bilinear(window, self.height, self.width)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = list(input_shape)
        h_axis, w_axis = self._height_width(shape)
        shape[h_axis], shape[w_axis] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"height": self.height, "width": self.width})
        return config
