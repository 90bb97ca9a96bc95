"""`MaxPooling1D`: max over windows of steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.layers.pooling.base_pooling import BasePooling


class MaxPooling1D(BasePooling):
    """Max pooling over the steps of `(batch, steps, features)` inputs.

    With `padding="valid"` the output has `(steps - pool_size) // strides + 1`
    steps; with `"same"` it has `ceil(steps / strides)`, the windows padded with
    `-inf` (the odd step at the end). A mask on the inputs is not carried over:
    the output has fewer steps than the mask.

    Args:
        pool_size: the window size.
        strides: the window step; None means `pool_size`.
        padding: `"valid"` or `"same"`.
        data_format: `"channels_last"` or None; `"channels_first"` is rejected.

    Example:
        >>> x = np.array([1.0, 2.0, 3.0, 4.0, 5.0], "float32").reshape(1, 5, 1)
        >>> MaxPooling1D(pool_size=2, strides=1)(x).numpy().ravel()
        array([2., 3., 4., 5.], dtype=float32)
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
            pool_mode="max",
            padding=padding,
            data_format=data_format,
            name=name,
            **kwargs,
        )


MaxPool1D = MaxPooling1D
