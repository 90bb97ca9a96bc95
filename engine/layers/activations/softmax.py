"""`Softmax`: the softmax activation as a layer, with mask support."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.config import floatx
from engine.backend.tensor import unwrap
from engine.layers.layer import Layer
from engine.ops import numpy as onp
from engine.ops.nn import softmax


def _large_negative_number(dtype: np.dtype) -> float:
    """A logit offset that makes masked positions' probabilities vanish (as Keras)."""
    return -3e4 if np.dtype(dtype) == np.float16 else -1e9


class Softmax(Layer):
    """Softmax activation layer: `exp(x - max(x)) / sum(exp(x - max(x)))` along `axis`.

    Args:
        axis: the axis, or a list of axes, normalised over.

    Call arguments:
        inputs: the logits.
        mask: optional boolean mask broadcastable to `inputs`; positions where it
            is False (0) get a large negative logit, so their probability is 0.

    Example:
        >>> Softmax()(np.array([1.0, 2.0, 1.0], "float32")).numpy()
        array([0.21194156, 0.5761169 , 0.21194156], dtype=float32)
        >>> Softmax()(np.array([1.0, 2.0, 1.0], "float32"), mask=np.array([1, 0, 1])).numpy()
        array([0.5, 0. , 0.5], dtype=float32)
    """

    def __init__(self, axis: int | list[int] | tuple[int, ...] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, tuple) else axis
        self.supports_masking = True
        self.built = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if mask is not None:
            dtype = np.asarray(unwrap(inputs)).dtype
            if dtype.kind != "f":
                dtype = np.dtype(floatx())
            keep = np.asarray(unwrap(mask)).astype(dtype, copy=False)
            inputs = onp.add(inputs, (1 - keep) * dtype.type(_large_negative_number(dtype)))
        if isinstance(self.axis, list):
            if len(self.axis) > 1:
                return onp.exp(
                    onp.subtract(
                        inputs, onp.logsumexp(inputs, axis=tuple(self.axis), keepdims=True)
                    )
                )
            return softmax(inputs, axis=self.axis[0])
        return softmax(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["axis"] = self.axis
        return config
