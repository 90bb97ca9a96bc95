"""`InputLayer` and `Input`: where a functional graph starts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.config import floatx
from engine.backend.keras_tensor import KerasTensor
from engine.layers.layer import Layer, Node


class InputLayer(Layer):
    """The layer behind `Input`: it owns the symbolic input tensor.

    Args:
        shape: the shape of one sample (without the batch axis).
        batch_size: an optional fixed batch size.
        dtype: the input dtype (`floatx()` by default; use an int type for token ids).
        batch_shape: the full shape including the batch axis, instead of `shape`.
        name: the input's name, used to match dict inputs to `fit`/`predict`.

    Example:
        >>> layer = InputLayer(shape=(28, 28))
        >>> layer.output.shape
        (None, 28, 28)
    """

    def __init__(
        self,
        shape: Sequence[int | None] | None = None,
        batch_size: int | None = None,
        dtype: Any = None,
        sparse: bool | None = None,
        batch_shape: Sequence[int | None] | None = None,
        input_tensor: Any = None,
        optional: bool = False,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError(
                    "Input needs a `shape` (the shape of one sample), e.g. Input(shape=(784,))."
                )
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size, *tuple(shape))
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.dtype = str(np.dtype(dtype or floatx()))
        self.sparse = bool(sparse)
        self.optional = optional
        self.built = True
        tensor = KerasTensor(self.batch_shape, self.dtype, self.name)
        Node(self, (), {}, tensor)
        self._input_tensor = tensor

    def get_config(self) -> dict[str, Any]:
        return {
            "batch_shape": list(self.batch_shape),
            "dtype": self.dtype,
            "sparse": self.sparse,
            "name": self.name,
        }


def Input(
    shape: Sequence[int | None] | int | None = None,
    batch_size: int | None = None,
    dtype: Any = None,
    sparse: bool | None = None,
    batch_shape: Sequence[int | None] | None = None,
    name: str | None = None,
    tensor: Any = None,
    optional: bool = False,
) -> KerasTensor:
    """Create a symbolic input tensor to start a functional model.

    Args:
        shape: the shape of one sample, e.g. `(28, 28, 1)`; `None` for unknown dims.
        batch_size: an optional fixed batch size.
        dtype: the input dtype (`floatx()` by default).
        batch_shape: the full shape including the batch axis, instead of `shape`.
        name: the input's name.

    Example:
        >>> inputs = engine.Input(shape=(784,))
        >>> outputs = engine.layers.Dense(10)(inputs)
        >>> model = engine.Model(inputs, outputs)
    """
    if isinstance(shape, int):
        shape = (shape,)
    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        sparse=sparse,
        batch_shape=batch_shape,
        name=name,
    )
    return layer._input_tensor
