"""`LeakyReLU`: a rectifier with a small slope for negative inputs."""

from __future__ import annotations

import warnings
from typing import Any

from engine.layers.layer import Layer
from engine.ops.nn import leaky_relu


class LeakyReLU(Layer):
    """Leaky rectified linear unit: `x` for `x >= 0`, `negative_slope * x` otherwise.

    Args:
        negative_slope: the slope for negative inputs (>= 0); 0.3 as in Keras 3
            (the `leaky_relu` function's default is 0.2).

    Example:
        >>> LeakyReLU(negative_slope=0.5)(np.array([-10.0, -5.0, 0.0, 5.0], "float32")).numpy()
        array([-5. , -2.5,  0. ,  5. ], dtype=float32)
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            # Keras 2 scripts spell it `alpha`; Keras 3 still accepts it with a warning.
            negative_slope = kwargs.pop("alpha")
            warnings.warn(
                "LeakyReLU argument `alpha` is deprecated; use `negative_slope` instead.",
                stacklevel=2,
            )
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError(
                "LeakyReLU negative_slope must be a float >= 0, "
                f"got negative_slope={negative_slope}."
            )
        self.negative_slope = negative_slope
        self.supports_masking = True
        self.built = True

    def call(self, inputs: Any) -> Any:
        return leaky_relu(inputs, negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config
