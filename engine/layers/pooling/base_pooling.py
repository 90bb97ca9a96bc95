"""`BasePooling`: what the windowed max and average pooling layers share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.layers.layer import Layer
from engine.ops import pooling
from engine.ops.conv import check_data_format, standardize_padding, standardize_tuple


class BasePooling(Layer):
    """Windowed pooling over the spatial axes of channels-last inputs.

    Args:
        pool_size: the window size, an int or one int per spatial axis.
        strides: the window step, an int or one per axis; None means `pool_size`.
        pool_dimensions: the number of spatial axes (1 or 2).
        pool_mode: `"max"` or `"average"`.
        padding: `"valid"` or `"same"` (case-insensitive).
        data_format: `"channels_last"` or None; `"channels_first"` is rejected.

    Example:
        >>> layer = BasePooling(2, None, pool_dimensions=1, pool_mode="average")
        >>> layer(np.ones((1, 4, 3), "float32")).shape
        (1, 2, 3)
    """

    _engine_threads = True

    def __init__(
        self,
        pool_size: int | Sequence[int],
        strides: int | Sequence[int] | None,
        pool_dimensions: int,
        pool_mode: str = "max",
        padding: str = "valid",
        data_format: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        if pool_mode not in ("max", "average"):
            raise ValueError(f"`pool_mode` must be 'max' or 'average', got {pool_mode!r}.")
        self.pool_size = standardize_tuple(pool_size, pool_dimensions, "pool_size")
        self.strides = standardize_tuple(
            pool_size if strides is None else strides, pool_dimensions, "strides"
        )
        self.pool_mode = pool_mode
        self.padding = standardize_padding(padding)
        self.data_format = check_data_format(data_format)
        self._pool_dimensions = pool_dimensions

    def build(self, input_shape: Any) -> None:
        rank = self._pool_dimensions + 2
        if len(input_shape) != rank:
            raise ValueError(
                f"{type(self).__name__} expects inputs of rank {rank} (batch, "
                f"{'steps' if rank == 3 else 'height, width'}, channels), got shape "
                f"{tuple(input_shape)}."
            )
        self.built = True

    def call(self, inputs: Any) -> Any:
        op = pooling.max_pool if self.pool_mode == "max" else pooling.average_pool
        return op(inputs, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        spatial = []
        for n, k, s in zip(input_shape[1:-1], self.pool_size, self.strides):
            if n is None:
                spatial.append(None)
            elif self.padding == "same":
                spatial.append(-(-n // s))
            elif n < k:
                raise ValueError(
                    f"{type(self).__name__} with padding='valid' cannot pool a spatial axis of "
                    f"size {n} with pool_size {k}; use padding='same' or a smaller pool_size."
                )
            else:
                spatial.append((n - k) // s + 1)
        return (input_shape[0], *spatial, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "pool_size": self.pool_size,
                "padding": self.padding,
                "strides": self.strides,
                "data_format": self.data_format,
            }
        )
        return config
