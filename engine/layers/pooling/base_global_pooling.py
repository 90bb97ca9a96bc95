"""`BaseGlobalPooling`: what the global max and average pooling layers share."""

from __future__ import annotations

from typing import Any

from engine.layers.layer import Layer
from engine.ops.conv import check_data_format


class BaseGlobalPooling(Layer):
    """Pooling over all spatial axes of channels-last inputs, one value per channel.

    Args:
        pool_dimensions: the number of spatial axes (1 or 2).
        data_format: `"channels_last"` or None; `"channels_first"` is rejected.
        keepdims: keep the spatial axes with size 1.

    Example:
        >>> BaseGlobalPooling(1, keepdims=True).compute_output_shape((None, 10, 4))
        (None, 1, 4)
    """

    def __init__(
        self,
        pool_dimensions: int,
        data_format: str | None = None,
        keepdims: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.data_format = check_data_format(data_format)
        self.keepdims = bool(keepdims)
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

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        if self.keepdims:
            return (input_shape[0], *(1,) * (len(input_shape) - 2), input_shape[-1])
        return (input_shape[0], input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config
