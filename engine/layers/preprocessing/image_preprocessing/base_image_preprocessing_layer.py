"""The base of the image augmentation layers: batching, dtype, layout and factor parsing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.random import SeedGenerator
from engine.backend.tensor import Tensor, unwrap
from engine.layers.layer import Layer
from engine.layers.preprocessing.image_preprocessing.transforms import (
    FILL_MODES,
    INTERPOLATIONS,
)
from engine.ops import numpy as onp

DATA_FORMATS = ("channels_last", "channels_first")


def standardize_data_format(data_format: str | None) -> str:
    """`"channels_last"` for None, else the format itself once checked."""
    if data_format is None:
        return "channels_last"
    if data_format not in DATA_FORMATS:
        raise ValueError(
            f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}."
        )
    return data_format


def parse_factor(factor: Any, name: str) -> tuple[float, float]:
    """A factor in Keras's forms as `(lower, upper)`, each within [-1, 1].

    A single number `f` means `(-|f|, |f|)`; a pair is sorted.
    """
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(
                f"{name} must be a number or a pair of numbers in [-1, 1], got {factor!r}."
            )
        lower, upper = sorted(float(f) for f in factor)
    elif isinstance(factor, (int, float)) and not isinstance(factor, bool):
        lower, upper = -abs(float(factor)), abs(float(factor))
    else:
        raise ValueError(
            f"{name} must be a number or a pair of numbers in [-1, 1], got {factor!r}."
        )
    if lower < -1.0 or upper > 1.0:
        raise ValueError(f"{name} must lie within [-1, 1], got {factor!r}.")
    return lower, upper


def jsonable_factor(factor: Any) -> Any:
    """A factor as it reads back from JSON (pairs become lists)."""
    return list(factor) if isinstance(factor, tuple) else factor


def check_fill_and_interpolation(fill_mode: str, interpolation: str) -> None:
    """Reject unknown fill modes and interpolations with the accepted names."""
    if fill_mode not in FILL_MODES:
        raise ValueError(f"Unknown fill_mode {fill_mode!r}; use one of {', '.join(FILL_MODES)}.")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"Unknown interpolation {interpolation!r}; use one of {', '.join(INTERPOLATIONS)}."
        )


class BaseImagePreprocessingLayer(Layer):
    """Shared machinery of the image augmentation layers.

    The layer takes one image `(height, width, channels)` or a batch
    `(batch, height, width, channels)` (channels first with
    `data_format="channels_first"`), of any numeric dtype, and outputs floats
    of the layer's dtype, like Keras. Subclasses implement `transform_images`
    on a float NHWC batch; randomness comes from `self.seed_generator`, so a
    seeded layer is reproducible and an unseeded one follows
    `engine.utils.set_random_seed`.

    Args:
        seed: an int for an independent, reproducible stream of transformations.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    Example:
        >>> class Invert(BaseImagePreprocessingLayer):
        ...     def transform_images(self, images, training):
        ...         return 255.0 - images
        >>> float(Invert()(np.zeros((1, 2, 2, 1), "uint8")).numpy().max())
        255.0
    """

    def __init__(self, seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.data_format = standardize_data_format(data_format)
        self.built = True

    @property
    def generator(self) -> np.random.Generator:
        return self.seed_generator.generator

    def transform_images(self, images: Tensor, training: bool) -> Tensor:
        """Transform a float NHWC batch; subclasses override it."""
        return images

    def call(self, inputs: Any, training: bool = False) -> Any:
        x = unwrap(inputs)
        if x.ndim not in (3, 4):
            raise ValueError(
                f"{type(self).__name__} expects one image (rank 3) or a batch of images "
                f"(rank 4), got inputs of shape {x.shape}."
            )
        cast = inputs if x.dtype == np.dtype(self.dtype) else onp.cast(inputs, self.dtype)
        images = cast
        if x.ndim == 3:
            images = onp.expand_dims(images, 0)
        if self.data_format == "channels_first":
            images = onp.transpose(images, (0, 2, 3, 1))
        out = self.transform_images(images, bool(training))
        if out is images:
            return cast
        if self.data_format == "channels_first":
            out = onp.transpose(out, (0, 3, 1, 2))
        if x.ndim == 3:
            out = onp.squeeze(out, 0)
        return out

    def _height_width(self, shape: Sequence[int | None]) -> tuple[int, int]:
        """The (height, width) axes' indices for an input shape of rank 3 or 4."""
        if self.data_format == "channels_first":
            return len(shape) - 2, len(shape) - 1
        return len(shape) - 3, len(shape) - 2

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"seed": self.seed, "data_format": self.data_format})
        return config
