"""`Concatenate` and its functional form `concatenate`."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.tensor import unwrap
from engine.layers.merging.base_merge import Merge, _is_shape_list
from engine.ops import numpy as onp


class Concatenate(Merge):
    """Concatenates a list of tensors along `axis`.

    All inputs must have the same shape except along `axis`. With masks, the
    output mask is the concatenation of the input masks (all-True for inputs
    without one), reduced over the feature axis.

    Args:
        axis: the axis to concatenate along (the last by default).

    Example:
        >>> a, b = engine.Input((4,)), engine.Input((6,))
        >>> Concatenate()([a, b]).shape
        (None, 10)
    """

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape: Any) -> None:
        self.compute_output_shape(input_shape)
        self.built = True

    def _merge_function(self, inputs: list[Any]) -> Any:
        return onp.concatenate(inputs, axis=self.axis)

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                "A Concatenate layer must be called on a list of tensors, "
                f"got {type(inputs).__name__}."
            )
        return self._merge_function(list(inputs))

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        if not _is_shape_list(input_shape) or not input_shape:
            raise ValueError(
                f"A Concatenate layer must be called on a list of tensors, got inputs of shape "
                f"{input_shape}."
            )
        shapes = [tuple(s) for s in input_shape]
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1:
            raise ValueError(f"Concatenate needs inputs of the same rank, got shapes {shapes}.")
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(
                f"Concatenate axis {self.axis} is out of range for inputs of rank {rank}."
            )
        axis = self.axis % rank
        out: list[int | None] = []
        for i in range(rank):
            dims = [s[i] for s in shapes]
            if i == axis:
                out.append(None if any(d is None for d in dims) else sum(dims))
                continue
            known = {d for d in dims if d is not None}
            if len(known) > 1:
                raise ValueError(
                    f"Concatenate along axis {self.axis} needs the inputs' other axes to match, "
                    f"got shapes {shapes}."
                )
            out.append(known.pop() if known else None)
        return tuple(out)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(
                f"Concatenate needs one mask (or None) per input, got {len(inputs)} inputs and "
                f"mask={mask!r}."
            )
        if all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            shape = np.shape(unwrap(x))
            if m is None:
                full.append(np.ones(shape, dtype=bool))
                continue
            m = np.asarray(unwrap(m), dtype=bool)
            full.append(np.broadcast_to(m[..., None], shape) if m.ndim < len(shape) else m)
        return np.concatenate(full, axis=self.axis).any(axis=-1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["axis"] = self.axis
        return config


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    """Functional form of `Concatenate`.

    Args:
        inputs: the tensors to join.
        axis: the axis to concatenate along.
        **kwargs: `Concatenate` layer arguments such as `name`.
    """
    return Concatenate(axis=axis, **kwargs)(inputs)
