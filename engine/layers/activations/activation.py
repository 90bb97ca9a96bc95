"""`Activation`: apply a named or given activation function as a layer."""

from __future__ import annotations

from typing import Any

from engine import activations
from engine.layers.layer import Layer


class Activation(Layer):
    """Applies an activation function to its inputs.

    Args:
        activation: an activation name from `engine.activations` (e.g. `"relu"`)
            or a callable.

    Example:
        >>> Activation("relu")(np.array([-3.0, -1.0, 0.0, 2.0], "float32")).numpy()
        array([0., 0., 0., 2.], dtype=float32)
    """

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)
        self.built = True

    def call(self, inputs: Any) -> Any:
        return self.activation(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config
