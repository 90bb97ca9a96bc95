"""`Identity`: a placeholder layer that returns its inputs unchanged."""

from __future__ import annotations

from typing import Any

from engine.backend import tree
from engine.backend.keras_tensor import KerasTensor
from engine.layers.layer import Layer


class Identity(Layer):
    """Returns its inputs unchanged, masks included.

    Useful as a placeholder where a layer is expected but nothing should happen,
    e.g. an optional projection in a residual block.

    Example:
        >>> Identity()(np.ones((2, 3), "float32")).shape
        (2, 3)
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True
        self.built = True

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        # The inputs pass through untouched, so their dtypes do too (int ids stay int).
        return tree.map_structure(
            lambda t: KerasTensor(t.shape, t.dtype, self.name) if isinstance(t, KerasTensor) else t,
            args[0],
        )
