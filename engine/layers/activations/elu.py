"""`ELU`: the exponential linear unit."""

from __future__ import annotations

from typing import Any

from engine.layers.layer import Layer
from engine.ops.nn import elu


class ELU(Layer):
    """Exponential linear unit: `x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise.

    Args:
        alpha: the scale of the negative part.

    Example:
        >>> ELU()(np.array([-1.0, 0.0, 2.0], "float32")).numpy()
        array([-0.63212055,  0.        ,  2.        ], dtype=float32)
    """

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = alpha
        self.supports_masking = True
        self.built = True

    def call(self, inputs: Any) -> Any:
        return elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        # Keras 3 omits alpha here, which loses it on reload; keeping it round-trips.
        config = super().get_config()
        config["alpha"] = self.alpha
        return config
