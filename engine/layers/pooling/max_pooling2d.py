"""`MaxPooling2D`: max over windows of pixels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.layers.pooling.base_pooling import BasePooling


class MaxPooling2D(BasePooling):
    """Max pooling over the height and width of `(batch, height, width, channels)` inputs.

    With `padding="valid"` each spatial size becomes `(size - pool) // stride + 1`
    (a 13-pixel map pooled by 2 drops its last row and column); with `"same"`
    it becomes `ceil(size / stride)`, the windows padded with `-inf` and the odd
    pixel at the bottom/right. The gradient of a window goes to its first
    maximum in row-major order (as in PyTorch).

    Args:
        pool_size: the window size, an int or `(rows, cols)`.
        strides: the window step, an int or `(rows, cols)`; None means `pool_size`.
        padding: `"valid"` or `"same"`.
        data_format: `"channels_last"` or None; `"channels_first"` is rejected.

    Example:
        >>> x = np.arange(1, 13, dtype="float32").reshape(1, 3, 4, 1)
        >>> MaxPooling2D((2, 2))(x).numpy()[0, :, :, 0]
        array([[6., 8.]], dtype=float32)
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
            pool_mode="max",
            padding=padding,
            data_format=data_format,
            name=name,
            **kwargs,
        )


MaxPool2D = MaxPooling2D
