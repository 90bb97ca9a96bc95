"""Symbolic tensors for the functional API: a shape, a dtype and where they came from."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.config import floatx


class KerasTensor:
    """A placeholder for a tensor in a model's graph: shape and dtype, no data.

    `Input` returns one; calling a layer on one records a node and returns
    new ones. `_keras_history` is `(layer, node_index, tensor_index)`.

    Example:
        >>> x = engine.Input(shape=(8,))
        >>> x.shape
        (None, 8)
    """

    def __init__(
        self,
        shape: tuple[int | None, ...],
        dtype: Any = None,
        name: str | None = None,
        record_history: tuple[Any, int, int] | None = None,
    ) -> None:
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype or floatx())
        self.name = name
        self._keras_history = record_history

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(
            "A symbolic KerasTensor has no value: it stands for a tensor in a model "
            "being defined. Build a Model from it and call the model on data instead."
        )


def is_keras_tensor(x: Any) -> bool:
    """Whether `x` is a symbolic `KerasTensor`."""
    return isinstance(x, KerasTensor)
