"""`TimeDistributed`: apply a layer to every timestep of a sequence."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.tensor import unwrap
from engine.layers.layer import Layer
from engine.ops import numpy as onp


class TimeDistributed(Layer):
    """Applies `layer` to every temporal slice of its input, with shared weights.

    The input is at least 3-D, `(batch, timesteps, ...)`. The timesteps are
    folded into the batch axis, `layer` runs once on `(batch * timesteps, ...)`
    and the result is unfolded, which is the same as running it at every step.

    Args:
        layer: the layer to apply at each timestep.

    Example:
        >>> layer = TimeDistributed(Dense(8))
        >>> layer(np.ones((2, 10, 16), "float32")).shape
        (2, 10, 8)
    """

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(
                f"TimeDistributed wraps a Layer instance such as Dense(8), got {layer!r}."
            )
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    @staticmethod
    def _child_shape(input_shape: Any) -> tuple[Any, ...]:
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(
                "TimeDistributed takes inputs with at least 3 dimensions "
                f"(batch, timesteps, ...), got shape {input_shape}."
            )
        return (input_shape[0], *tuple(input_shape)[2:])

    def build(self, input_shape: Any) -> None:
        self.layer._maybe_build(self._child_shape(input_shape))
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        child = tuple(self.layer.compute_output_shape(self._child_shape(input_shape)))
        return (child[0], input_shape[1], *child[1:])

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        batch, steps = inputs.shape[0], inputs.shape[1]
        kwargs: dict[str, Any] = {}
        if mask is not None and self.layer._call_has_mask:
            m = np.asarray(unwrap(mask))
            if m.shape[:2] != (batch, steps):
                raise ValueError(
                    f"TimeDistributed takes a mask of shape ({batch}, {steps}, ...), got {m.shape}."
                )
            kwargs["mask"] = m.reshape(batch * steps, *m.shape[2:])
        if self.layer._call_has_training:
            kwargs["training"] = training
        folded = onp.reshape(inputs, (batch * steps, *inputs.shape[2:]))
        outputs = self.layer(folded, **kwargs)
        return onp.reshape(outputs, (batch, steps, *outputs.shape[1:]))

    def get_config(self) -> dict[str, Any]:
        from engine.layers import serialize

        config = super().get_config()
        config["layer"] = serialize(self.layer)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> TimeDistributed:
        from engine.layers import deserialize

        config = dict(config)
        layer = deserialize(config.pop("layer"), custom_objects=custom_objects)
        return cls(layer, **config)
