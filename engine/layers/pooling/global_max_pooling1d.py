"""`GlobalMaxPooling1D`: the maximum over all steps, per feature."""

from __future__ import annotations

from typing import Any

from engine.layers.pooling.base_global_pooling import BaseGlobalPooling
from engine.ops import pooling


class GlobalMaxPooling1D(BaseGlobalPooling):
    """Max over the steps of `(batch, steps, features)` inputs.

    Like Keras, the layer does not use a mask: masked (padding) steps take
    part in the maximum, and no mask is passed on.

    Args:
        data_format: `"channels_last"` or None; `"channels_first"` is rejected.
        keepdims: return `(batch, 1, features)` instead of `(batch, features)`.

    Example:
        >>> x = np.array([[[1.0, 6.0], [5.0, 2.0]]], "float32")
        >>> GlobalMaxPooling1D()(x).numpy()
        array([[5., 6.]], dtype=float32)
    """

    def __init__(
        self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(pool_dimensions=1, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, inputs: Any) -> Any:
        return pooling.global_max_pool(inputs, keepdims=self.keepdims)


GlobalMaxPool1D = GlobalMaxPooling1D
