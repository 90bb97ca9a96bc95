"""`GaussianNoise`: additive zero-mean Gaussian noise, active only in training."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.random import SeedGenerator
from engine.backend.tensor import unwrap
from engine.layers.layer import Layer
from engine.ops import numpy as onp


class GaussianNoise(Layer):
    """Adds zero-centred Gaussian noise of standard deviation `stddev` during training.

    A regularizer (a form of data augmentation for real-valued inputs); outside
    training the layer returns its inputs unchanged.

    Args:
        stddev: the noise's standard deviation, in [0, 1] as in Keras.
        seed: an int for a reproducible, independent noise stream; None follows
            the global generator.

    Example:
        >>> layer = GaussianNoise(0.1, seed=0)
        >>> x = np.zeros((2, 3), "float32")
        >>> bool(np.all(layer(x).numpy() == 0)), bool(np.any(layer(x, training=True).numpy() != 0))
        (True, True)
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 <= stddev <= 1:
            raise ValueError(
                f"GaussianNoise stddev must be a float between 0 and 1, got stddev={stddev}."
            )
        self.stddev = stddev
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not training or self.stddev == 0:
            return inputs
        x = np.asarray(unwrap(inputs))
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(self.dtype)
        noise = self.seed_generator.generator.normal(0.0, self.stddev, size=x.shape).astype(dtype)
        return onp.add(inputs, noise)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config
