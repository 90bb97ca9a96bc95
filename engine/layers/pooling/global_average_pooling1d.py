"""`GlobalAveragePooling1D`: the mean over all (unmasked) steps, per feature."""

from __future__ import annotations

from typing import Any

from engine.layers.pooling.base_global_pooling import BaseGlobalPooling
from engine.ops import pooling


class GlobalAveragePooling1D(BaseGlobalPooling):
    """Mean over the steps of `(batch, steps, features)` inputs.

    With a mask (e.g. from `Embedding(mask_zero=True)`) only the unmasked steps
    are averaged, as in Keras, so padding does not dilute the mean; a sample
    whose steps are all masked gives NaN. The output carries no mask.

    Args:
        data_format: `"channels_last"` or None; `"channels_first"` is rejected.
        keepdims: return `(batch, 1, features)` instead of `(batch, features)`.

    Example:
        >>> x = np.array([[[1.0], [3.0], [0.0]]], "float32")
        >>> GlobalAveragePooling1D()(x, mask=np.array([[True, True, False]])).numpy()
        array([[2.]], dtype=float32)
    """

    def __init__(
        self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(pool_dimensions=1, data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        return pooling.global_average_pool(inputs, keepdims=self.keepdims, mask=mask)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None


GlobalAvgPool1D = GlobalAveragePooling1D
