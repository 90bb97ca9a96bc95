"""`Multiply` and its functional form `multiply`."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.tensor import unwrap
from engine.layers.merging.base_merge import Merge, broadcast_mask
from engine.ops import numpy as onp


class Multiply(Merge):
    """Multiplies a list of tensors elementwise.

    With masks, a masked-out entry counts as 1 in the product; when every input
    is masked, positions masked in all of them come out as 0.

    Example:
        >>> Multiply()([np.full((1, 2), 2.0, "float32"), np.full((1, 2), 3.0, "float32")]).numpy()
        array([[6., 6.]], dtype=float32)
    """

    def _merge_function(self, inputs: list[Any]) -> Any:
        output = inputs[0]
        for x in inputs[1:]:
            output = onp.multiply(output, x)
        return output

    def _merge_masked(self, inputs: list[Any], masks: list[np.ndarray | None]) -> Any:
        all_masked = all(m is not None for m in masks)
        output: Any = None
        output_mask: np.ndarray | None = None
        for x, mask in zip(inputs, masks):
            if mask is not None:
                full = broadcast_mask(mask, x)
                x = onp.where(full, x, np.ones((), dtype=np.asarray(unwrap(x)).dtype))
                if all_masked:
                    output_mask = full if output_mask is None else output_mask | full
            output = x if output is None else onp.multiply(output, x)
        if output_mask is not None:
            output = onp.where(
                output_mask, output, np.zeros((), dtype=np.asarray(unwrap(output)).dtype)
            )
        return output


def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Multiply`.

    Args:
        inputs: the tensors to multiply.
        **kwargs: `Multiply` layer arguments such as `name`.
    """
    return Multiply(**kwargs)(inputs)
