"""`GlobalAveragePooling2D`: the mean over all pixels, per channel."""

from __future__ import annotations

from typing import Any

from engine.layers.pooling.base_global_pooling import BaseGlobalPooling
from engine.ops import pooling


class GlobalAveragePooling2D(BaseGlobalPooling):
    """Mean over the height and width of `(batch, height, width, channels)` inputs.

    Args:
        data_format: `"channels_last"` or None; `"channels_first"` is rejected.
        keepdims: return `(batch, 1, 1, channels)` instead of `(batch, channels)`.

    Example:
        >>> x = np.arange(8, dtype="float32").reshape(1, 2, 2, 2)
        >>> GlobalAveragePooling2D()(x).numpy()
        array([[3., 4.]], dtype=float32)
    """

    def __init__(
        self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(pool_dimensions=2, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, inputs: Any) -> Any:
        return pooling.global_average_pool(inputs, keepdims=self.keepdims)


GlobalAvgPool2D = GlobalAveragePooling2D
