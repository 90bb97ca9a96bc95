"""`Masking`: mark timesteps whose features all equal a padding value as masked."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.layers.layer import Layer
from engine.ops import numpy as onp
from engine.ops.core import as_array


class Masking(Layer):
    """Masks timesteps where every feature equals `mask_value`.

    The output is the input with those timesteps zeroed, and carries the
    boolean mask `(batch, timesteps)` that mask-aware layers (RNNs, pooling,
    attention) use to skip them.

    Args:
        mask_value: the padding value.

    Example:
        >>> x = np.array([[[1.0, 2.0], [0.0, 0.0]]], "float32")
        >>> Masking()(x)._keras_mask.tolist()
        [[True, False]]
    """

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True
        self.built = True

    def _keep(self, inputs: Any) -> np.ndarray:
        return np.any(np.asarray(as_array(inputs)) != self.mask_value, axis=-1, keepdims=True)

    def call(self, inputs: Any) -> Any:
        keep = self._keep(inputs)
        dtype = inputs.dtype if np.dtype(inputs.dtype).kind == "f" else np.dtype(self.dtype)
        return onp.multiply(inputs, keep.astype(dtype))

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return self._keep(inputs)[..., 0]

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
