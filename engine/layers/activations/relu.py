"""`ReLU`: the rectified linear unit, optionally capped, leaky and thresholded."""

from __future__ import annotations

from typing import Any

from engine import activations
from engine.layers.layer import Layer


class ReLU(Layer):
    """Rectified linear unit layer.

    Computes `max_value` where `x >= max_value`, `x` where
    `threshold <= x < max_value`, and `negative_slope * (x - threshold)` below
    the threshold; with the defaults that is `max(x, 0)`.

    Args:
        max_value: the saturation value (>= 0); no cap when None.
        negative_slope: the slope below the threshold (>= 0).
        threshold: the value below which the unit is damped (>= 0).

    Example:
        >>> layer = ReLU(max_value=10, negative_slope=0.5)
        >>> layer(np.array([-10.0, -5.0, 0.0, 5.0, 10.0], "float32")).numpy()
        array([-5. , -2.5,  0. ,  5. , 10. ], dtype=float32)
    """

    def __init__(
        self,
        max_value: float | None = None,
        negative_slope: float = 0.0,
        threshold: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0.0:
            raise ValueError(f"ReLU max_value must be >= 0 or None, got max_value={max_value}.")
        if negative_slope is None or negative_slope < 0.0:
            raise ValueError(
                f"ReLU negative_slope must be >= 0, got negative_slope={negative_slope}."
            )
        if threshold is None or threshold < 0.0:
            raise ValueError(f"ReLU threshold must be >= 0, got threshold={threshold}.")
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold
        self.supports_masking = True
        self.built = True

    def call(self, inputs: Any) -> Any:
        return activations.relu(
            inputs,
            negative_slope=self.negative_slope,
            max_value=self.max_value,
            threshold=self.threshold,
        )

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "max_value": self.max_value,
                "negative_slope": self.negative_slope,
                "threshold": self.threshold,
            }
        )
        return config
