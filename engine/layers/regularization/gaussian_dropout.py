"""`GaussianDropout`: multiplicative one-centred Gaussian noise, active only in training."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.backend.random import SeedGenerator
from engine.backend.tensor import unwrap
from engine.layers.layer import Layer
from engine.ops import numpy as onp


class GaussianDropout(Layer):
    """Multiplies inputs by Gaussian noise of mean 1 during training.

    The noise's standard deviation is `sqrt(rate / (1 - rate))`, the same
    variance as inverted dropout with that `rate`. Outside training the layer
    returns its inputs unchanged.

    Args:
        rate: the equivalent drop probability, in [0, 1].
        seed: an int for a reproducible, independent noise stream; None follows
            the global generator.

    Example:
        >>> layer = GaussianDropout(0.2, seed=0)
        >>> x = np.ones((2, 3), "float32")
        >>> bool(np.all(layer(x).numpy() == 1))
        True
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(
                f"GaussianDropout rate must be a float between 0 and 1, got rate={rate}."
            )
        self.rate = rate
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        # rate == 1 would need infinite noise; Keras skips it, and so does this layer.
        if not training or not 0 < self.rate < 1:
            return inputs
        x = np.asarray(unwrap(inputs))
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(self.dtype)
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = self.seed_generator.generator.normal(1.0, stddev, size=x.shape).astype(dtype)
        return onp.multiply(inputs, noise)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
