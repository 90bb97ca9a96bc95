"""`Average` and its functional form `average`."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.tensor import unwrap
from engine.layers.merging.base_merge import Merge
from engine.ops import numpy as onp


class Average(Merge):
    """Averages a list of tensors elementwise.

    Example:
        >>> Average()([np.zeros((1, 2), "float32"), np.full((1, 2), 4.0, "float32")]).numpy()
        array([[2., 2.]], dtype=float32)
    """

    def _merge_function(self, inputs: list[Any]) -> Any:
        output = inputs[0]
        for x in inputs[1:]:
            output = onp.add(output, x)
        dtype = np.asarray(unwrap(output)).dtype
        return onp.multiply(output, np.asarray(1.0 / len(inputs), dtype=dtype))


def average(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Average`.

    Args:
        inputs: the tensors to average.
        **kwargs: `Average` layer arguments such as `name`.
    """
    return Average(**kwargs)(inputs)
