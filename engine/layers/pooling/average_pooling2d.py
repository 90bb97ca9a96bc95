"""`AveragePooling2D`: mean over windows of pixels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.layers.pooling.base_pooling import BasePooling


class AveragePooling2D(BasePooling):
    """Average pooling over the height and width of `(batch, height, width, channels)` inputs.

    Output sizes follow `MaxPooling2D`; with `padding="same"` a window that
    overlaps the padding averages only its real pixels (as Keras does).

    Args:
        pool_size: the window size, an int or `(rows, cols)`.
        strides: the window step, an int or `(rows, cols)`; None means `pool_size`.
        padding: `"valid"` or `"same"`.
        data_format: `"channels_last"` or None; `"channels_first"` is rejected.

    Example:
        >>> x = np.arange(1, 10, dtype="float32").reshape(1, 3, 3, 1)
        >>> AveragePooling2D((2, 2), strides=1)(x).numpy()[0, :, :, 0]
        array([[3., 4.],
               [6., 7.]], dtype=float32)
    """

    def __init__(
        self,
        pool_size: int | Sequence[int] = (2, 2),
        strides: int | Sequence[int] | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            pool_size,
            strides,
            pool_dimensions=2,
            pool_mode="average",
            padding=padding,
            data_format=data_format,
            name=name,
            **kwargs,
        )


AvgPool2D = AveragePooling2D
