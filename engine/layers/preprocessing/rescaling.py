"""`Rescaling`: `inputs * scale + offset`, in training and at inference."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.tensor import Tensor, unwrap
from engine.layers.layer import Layer
from engine.ops import numpy as onp
from engine.ops.core import as_array, record, unbroadcast


def _serialize_number_or_array(value: Any) -> Any:
    """Numbers stay numbers; arrays take Keras's `__numpy__` form so configs stay JSON."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    arr = np.asarray(unwrap(value))
    if arr.ndim == 0:
        return arr.item()
    return {"class_name": "__numpy__", "config": {"value": arr.tolist(), "dtype": str(arr.dtype)}}


def _deserialize_number_or_array(value: Any) -> Any:
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        inner = value["config"]
        return np.asarray(inner["value"], dtype=inner.get("dtype"))
    return value


def scale_and_shift(x: Any, scale: Any, offset: Any) -> Tensor:
    """The differentiable op `x * scale + offset` (one record, gradient to `x` only)."""
    a = as_array(x)
    out = a * scale + offset
    return record(out, (x,), lambda g, n: (unbroadcast(g * scale, a.shape) if n[0] else None,))


class Rescaling(Layer):
    """Rescales inputs by `scale` and shifts them by `offset`, always (not only in training).

    Typical uses: `Rescaling(1 / 255)` maps `[0, 255]` pixels to `[0, 1]`;
    `Rescaling(1 / 127.5, offset=-1)` maps them to `[-1, 1]`. Integer inputs
    (e.g. uint8 images) come out as floats of the layer's dtype.

    Args:
        scale: a number, or an array broadcast against the inputs (e.g. one
            scale per channel).
        offset: a number or an array, added after scaling.

    Example:
        >>> layer = Rescaling(1 / 255)
        >>> layer(np.array([[0, 255]], "uint8")).numpy().tolist()
        [[0.0, 1.0]]
    """

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self.supports_masking = True
        self.built = True

    def _as_dtype(self, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # Python numbers are weak in NumPy, so float32 inputs stay float32.
            return float(value)
        return np.asarray(unwrap(value), dtype=self.dtype)

    def call(self, inputs: Any) -> Any:
        x = unwrap(inputs)
        if x.dtype != np.dtype(self.dtype):
            inputs = onp.cast(inputs, self.dtype)
        return scale_and_shift(inputs, self._as_dtype(self.scale), self._as_dtype(self.offset))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "scale": _serialize_number_or_array(self.scale),
                "offset": _serialize_number_or_array(self.offset),
            }
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Rescaling:
        config = dict(config)
        config["scale"] = _deserialize_number_or_array(config["scale"])
        config["offset"] = _deserialize_number_or_array(config["offset"])
        return cls(**config)
