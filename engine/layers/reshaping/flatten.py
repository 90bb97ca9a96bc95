"""`Flatten`: collapse every axis but the batch axis into one."""

from __future__ import annotations

import math
from typing import Any

from engine.backend.tensor import unwrap
from engine.layers.layer import Layer
from engine.ops import numpy as onp

_DATA_FORMATS = ("channels_last", "channels_first")


class Flatten(Layer):
    """Flattens each sample to a vector; the batch size is unchanged.

    Inputs of shape `(batch,)` become `(batch, 1)`.

    Args:
        data_format: `"channels_last"` (default) or `"channels_first"`; with
            `"channels_first"` the inputs are moved to channels-last order first,
            so the flattened order matches a channels-last model's.

    Example:
        >>> Flatten()(np.zeros((2, 10, 64), "float32")).shape
        (2, 640)
    """

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        data_format = "channels_last" if data_format is None else str(data_format).lower()
        if data_format not in _DATA_FORMATS:
            raise ValueError(
                "Flatten data_format must be 'channels_last' or 'channels_first', "
                f"got {data_format!r}."
            )
        self.data_format = data_format
        self.built = True

    def call(self, inputs: Any) -> Any:
        shape = unwrap(inputs).shape
        rank = len(shape)
        if self.data_format == "channels_first" and rank > 2:
            inputs = onp.transpose(inputs, (0, *range(2, rank), 1))
        return onp.reshape(inputs, (shape[0], math.prod(shape[1:])))

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        rest = tuple(input_shape)[1:]
        flat = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], flat)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
