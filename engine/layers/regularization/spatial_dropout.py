"""`SpatialDropout1D` and `SpatialDropout2D`: dropout of whole feature maps."""

from __future__ import annotations

from typing import Any

from engine.layers.regularization.dropout import Dropout
from engine.ops.conv import check_data_format


class BaseSpatialDropout(Dropout):
    """Dropout that keeps or drops each channel of a sample as a whole.

    The drop mask has shape `(batch, 1, ..., 1, channels)` and broadcasts over
    the spatial axes; kept channels are scaled by `1 / (1 - rate)` and the layer
    is the identity outside training, like `Dropout`.

    Args:
        rate: the fraction of channels to drop, in [0, 1].
        seed: an int for a reproducible, independent stream of masks; None
            follows the global generator (`engine.utils.set_random_seed`).
        rank: the input rank the layer accepts (3 for 1D, 4 for 2D).

    Example:
        >>> layer = BaseSpatialDropout(0.5, rank=3, seed=0)
        >>> layer(np.ones((1, 4, 2), "float32")).shape
        (1, 4, 2)
    """

    def __init__(self, rate: float, seed: int | None = None, rank: int = 3, **kwargs: Any) -> None:
        super().__init__(rate, noise_shape=(None, *(1,) * (rank - 2), None), seed=seed, **kwargs)
        self._rank = rank
        # Dropout accepts any rank and builds at once; build here checks the rank.
        self.built = False

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != self._rank:
            layout = "steps" if self._rank == 3 else "height, width"
            raise ValueError(
                f"{type(self).__name__} expects inputs of rank {self._rank} (batch, {layout}, "
                f"channels), got shape {tuple(input_shape)}."
            )
        self.built = True

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["noise_shape"]
        return config


class SpatialDropout1D(BaseSpatialDropout):
    """Drops whole feature channels of `(batch, steps, channels)` inputs during training.

    Neighbouring steps of a channel are strongly correlated in early
    convolution layers, so dropping single values regularizes little; this
    drops the channel at every step at once (Tompson et al., 2014).

    Args:
        rate: the fraction of channels to drop, in [0, 1].
        seed: an int for a reproducible, independent stream of masks; None
            follows the global generator (`engine.utils.set_random_seed`).

    Example:
        >>> layer = SpatialDropout1D(0.5, seed=1)
        >>> y = layer(np.ones((1, 3, 4), "float32"), training=True).numpy()
        >>> bool((y == y[:, :1]).all())  # each channel is kept or dropped at every step
        True
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, seed=seed, rank=3, **kwargs)


class SpatialDropout2D(BaseSpatialDropout):
    """Drops whole feature maps of `(batch, height, width, channels)` inputs during training.

    Args:
        rate: the fraction of feature maps to drop, in [0, 1].
        data_format: `"channels_last"` or None; `"channels_first"` is rejected.
        seed: an int for a reproducible, independent stream of masks; None
            follows the global generator (`engine.utils.set_random_seed`).

    Example:
        >>> layer = SpatialDropout2D(0.5, seed=1)
        >>> y = layer(np.ones((1, 2, 2, 4), "float32"), training=True).numpy()
        >>> sorted(set(y.ravel().tolist()))
        [0.0, 2.0]
    """

    def __init__(
        self,
        rate: float,
        data_format: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(rate, seed=seed, rank=4, **kwargs)
        self.data_format = check_data_format(data_format)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
