"""`Minimum` and its functional form `minimum`."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.layers.merging.base_merge import Merge, merge_with_or_mask
from engine.ops import numpy as onp


class Minimum(Merge):
    """Elementwise minimum of a list of tensors.

    With masks, a masked-out entry is ignored (the other inputs' value is used).

    Example:
        >>> a = np.array([[1.0, 5.0]], "float32")
        >>> b = np.array([[3.0, 2.0]], "float32")
        >>> Minimum()([a, b]).numpy()
        array([[1., 2.]], dtype=float32)
    """

    def _merge_function(self, inputs: list[Any]) -> Any:
        output = inputs[0]
        for x in inputs[1:]:
            output = onp.minimum(output, x)
        return output

    def _merge_masked(self, inputs: list[Any], masks: list[np.ndarray | None]) -> Any:
        return merge_with_or_mask(onp.minimum, inputs, masks)


def minimum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Minimum`.

    Args:
        inputs: the tensors to compare.
        **kwargs: `Minimum` layer arguments such as `name`.
    """
    return Minimum(**kwargs)(inputs)
