"""`AveragePooling1D`: mean over windows of steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.layers.pooling.base_pooling import BasePooling


class AveragePooling1D(BasePooling):
    """Average pooling over the steps of `(batch, steps, features)` inputs.

    Output lengths follow `MaxPooling1D`; with `padding="same"` a window that
    overlaps the padding averages only its real steps (as Keras does).

    Args:
        pool_size: the window size.
        strides: the window step; None means `pool_size`.
        padding: `"valid"` or `"same"`.
        data_format: `"channels_last"` or None; `"channels_first"` is rejected.

    Example:
        >>> x = np.array([1.0, 2.0, 3.0, 4.0, 5.0], "float32").reshape(1, 5, 1)
        >>> AveragePooling1D(pool_size=2, padding="same")(x).numpy().ravel()
        array([1.5, 3.5, 5. ], dtype=float32)
    """

    def __init__(
        self,
        pool_size: int | Sequence[int] = 2,
        strides: int | Sequence[int] | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            pool_size,
            strides,
            pool_dimensions=1,
            pool_mode="average",
            padding=padding,
            data_format=data_format,
            name=name,
            **kwargs,
        )


AvgPool1D = AveragePooling1D
