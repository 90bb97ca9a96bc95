"""`Maximum` and its functional form `maximum`."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.layers.merging.base_merge import Merge, merge_with_or_mask
from engine.ops import numpy as onp


class Maximum(Merge):
    """Elementwise maximum of a list of tensors.

    With masks, a masked-out entry is ignored (the other inputs' value is used).

    Example:
        >>> a = np.array([[1.0, 5.0]], "float32")
        >>> b = np.array([[3.0, 2.0]], "float32")
        >>> Maximum()([a, b]).numpy()
        array([[3., 5.]], dtype=float32)
    """

    def _merge_function(self, inputs: list[Any]) -> Any:
        output = inputs[0]
        for x in inputs[1:]:
            output = onp.maximum(output, x)
        return output

    def _merge_masked(self, inputs: list[Any], masks: list[np.ndarray | None]) -> Any:
        return merge_with_or_mask(onp.maximum, inputs, masks)


def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Maximum`.

    Args:
        inputs: the tensors to compare.
        **kwargs: `Maximum` layer arguments such as `name`.
    """
    return Maximum(**kwargs)(inputs)
