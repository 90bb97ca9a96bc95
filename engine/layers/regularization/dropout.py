"""`Dropout`: inverted dropout, active only in training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.random import SeedGenerator
from engine.backend.tensor import unwrap
from engine.layers.layer import Layer
from engine.ops import numpy as onp


def _uniform(generator: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Uniform [0, 1) samples; generated in float32 unless float64 is asked for."""
    return generator.random(shape, dtype=np.float64 if dtype == np.float64 else np.float32)


class Dropout(Layer):
    """Randomly sets inputs to 0 with frequency `rate` during training.

    The kept inputs are scaled by `1 / (1 - rate)` ("inverted" dropout), so the
    expected sum is unchanged and inference needs no rescaling: outside
    training the layer returns its inputs as they are.

    Args:
        rate: the fraction of inputs to drop, in [0, 1].
        noise_shape: the shape of the binary mask, broadcast against the inputs;
            e.g. `(batch_size, 1, features)` drops the same features at every
            timestep. `None` entries take the inputs' size.
        seed: an int for a reproducible, independent stream of masks; None
            follows the global generator (`engine.utils.set_random_seed`).

    Example:
        >>> layer = Dropout(0.5, seed=0)
        >>> x = np.ones((2, 4), "float32")
        >>> bool(np.all(layer(x).numpy() == 1))
        True
        >>> set(layer(x, training=True).numpy().ravel().tolist()) <= {0.0, 2.0}
        True
    """

    def __init__(
        self,
        rate: float,
        noise_shape: Sequence[int | None] | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Dropout rate must be a float between 0 and 1, got rate={rate}.")
        self.rate = rate
        self.seed = seed
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not training or self.rate == 0:
            return inputs
        x = np.asarray(unwrap(inputs))
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(self.dtype)
        if self.rate == 1:
            return onp.multiply(inputs, np.zeros((), dtype=dtype))
        keep_prob = 1.0 - self.rate
        shape = self._concrete_noise_shape(x.shape)
        keep = _uniform(self.seed_generator.generator, shape, dtype) < keep_prob
        scale = keep.astype(dtype) * dtype.type(1.0 / keep_prob)
        return onp.multiply(inputs, scale)

    def _concrete_noise_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.noise_shape is None:
            return input_shape
        if len(self.noise_shape) != len(input_shape):
            raise ValueError(
                f"Dropout noise_shape {self.noise_shape} must have one entry per input axis, "
                f"got inputs of shape {input_shape}."
            )
        return tuple(n if d is None else d for d, n in zip(self.noise_shape, input_shape))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "rate": self.rate,
                "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
            }
        )
        return config
