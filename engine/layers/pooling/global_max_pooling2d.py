"""`GlobalMaxPooling2D`: the maximum over all pixels, per channel."""

from __future__ import annotations

from typing import Any

from engine.layers.pooling.base_global_pooling import BaseGlobalPooling
from engine.ops import pooling


class GlobalMaxPooling2D(BaseGlobalPooling):
    """Max over the height and width of `(batch, height, width, channels)` inputs.

    The gradient of each channel goes to its first maximum in row-major order.

    Args:
        data_format: `"channels_last"` or None; `"channels_first"` is rejected.
        keepdims: return `(batch, 1, 1, channels)` instead of `(batch, channels)`.

    Example:
        >>> x = np.arange(8, dtype="float32").reshape(1, 2, 2, 2)
        >>> GlobalMaxPooling2D(keepdims=True)(x).shape
        (1, 1, 1, 2)
    """

    def __init__(
        self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(pool_dimensions=2, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, inputs: Any) -> Any:
        return pooling.global_max_pool(inputs, keepdims=self.keepdims)


GlobalMaxPool2D = GlobalMaxPooling2D
