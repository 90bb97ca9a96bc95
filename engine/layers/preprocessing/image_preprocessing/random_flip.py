"""`RandomFlip`: random horizontal and/or vertical flips, active only in training."""

from __future__ import annotations

from typing import Any

from engine.backend.tensor import Tensor
from engine.layers.preprocessing.image_preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
)
from engine.layers.preprocessing.image_preprocessing.transforms import flip

HORIZONTAL = "horizontal"
VERTICAL = "vertical"
HORIZONTAL_AND_VERTICAL = "horizontal_and_vertical"
_MODES = (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL)


class RandomFlip(BaseImagePreprocessingLayer):
    """Randomly flips each image of a batch during training; identity at inference.

    Each image is flipped with probability 1/2. In `"horizontal_and_vertical"`
    mode one draw decides both flips, as in Keras, so an image is either left
    as it is or turned by 180 degrees.

    Args:
        mode: `"horizontal"` (left-right), `"vertical"` (top-bottom) or
            `"horizontal_and_vertical"` (the default).
        seed: an int for a reproducible, independent stream of flips; None
            follows the global generator (`engine.utils.set_random_seed`).
        data_format: `"channels_last"` (default) or `"channels_first"`.

    Example:
        >>> layer = RandomFlip("horizontal", seed=0)
        >>> x = np.arange(6, dtype="float32").reshape(1, 2, 3, 1)
        >>> layer(x).numpy().ravel().tolist()  # inference: unchanged
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    """

    def __init__(
        self,
        mode: str = HORIZONTAL_AND_VERTICAL,
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in _MODES:
            raise ValueError(f"RandomFlip mode must be one of {', '.join(_MODES)}, got {mode!r}.")
        self.mode = mode

    def transform_images(self, images: Tensor, training: bool) -> Tensor:
        if not training:
            return images
        flips = self.generator.random(images.shape[0]) <= 0.5
        axes = {HORIZONTAL: (2,), VERTICAL: (1,), HORIZONTAL_AND_VERTICAL: (1, 2)}[self.mode]
        return flip(images, flips, axes)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["mode"] = self.mode
        return config
