"""`ActivityRegularization`: add an L1/L2 penalty on the activity passing through."""

from __future__ import annotations

from typing import Any

from engine import regularizers
from engine.layers.layer import Layer


class ActivityRegularization(Layer):
    """Returns its inputs unchanged and adds `l1 * sum(|x|) + l2 * sum(x**2)` to the loss.

    Args:
        l1: the L1 factor (>= 0).
        l2: the L2 factor (>= 0).

    Example:
        >>> layer = ActivityRegularization(l1=0.1)
        >>> _ = layer(np.array([[1.0, -2.0]], "float32"))
        >>> float(layer.losses[0])
        0.3...
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.supports_masking = True
        self.l1 = l1
        self.l2 = l2
        self.built = True

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update({"l1": self.l1, "l2": self.l2})
        return config
