"""`Add` and its functional form `add`."""

from __future__ import annotations

from typing import Any

from engine.layers.merging.base_merge import Merge
from engine.ops import numpy as onp


class Add(Merge):
    """Adds a list of tensors elementwise (broadcasting like NumPy).

    Example:
        >>> a, b = engine.Input((16,)), engine.Input((16,))
        >>> y = Add()([engine.layers.Dense(8)(a), engine.layers.Dense(8)(b)])
        >>> y.shape
        (None, 8)
    """

    def _merge_function(self, inputs: list[Any]) -> Any:
        output = inputs[0]
        for x in inputs[1:]:
            output = onp.add(output, x)
        return output


def add(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Add`: `add([x1, x2])` is `Add()([x1, x2])`.

    Args:
        inputs: the tensors to add.
        **kwargs: `Add` layer arguments such as `name`.
    """
    return Add(**kwargs)(inputs)
