"""`Merge`: the base of layers that combine a list of same-shaped tensors elementwise."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from engine.backend.tensor import Tensor, unwrap
from engine.layers.layer import Layer
from engine.ops import numpy as onp

Shape = tuple[int | None, ...]


def _is_shape_list(input_shape: Any) -> bool:
    return isinstance(input_shape, (list, tuple)) and all(
        isinstance(s, (list, tuple)) for s in input_shape
    )


def broadcast_mask(mask: np.ndarray, x: Any) -> np.ndarray:
    """A per-sample/timestep mask broadcast over the trailing feature axis of `x`."""
    shape = np.shape(unwrap(x))
    if mask.ndim < len(shape):
        mask = mask[..., None]
    return np.broadcast_to(mask, shape)


class Merge(Layer, metaclass=abc.ABCMeta):
    """Base class of the elementwise merge layers (`Add`, `Multiply`, `Maximum`, ...).

    Subclasses implement `_merge_function(inputs)` on a list of tensors. Inputs
    of different ranks are broadcast by inserting axes after the batch axis,
    e.g. `(batch, 4)` merges with `(batch, 3, 4)`. The output mask is the OR of
    the input masks when every input has one.

    Example:
        >>> class Hypot(Merge):
        ...     def _merge_function(self, inputs):
        ...         return ops.sqrt(ops.add(ops.square(inputs[0]), ops.square(inputs[1])))
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True
        self._reshape_required = False

    @abc.abstractmethod
    def _merge_function(self, inputs: list[Any]) -> Any:
        """Combine the (same-rank) input tensors into one."""

    def _merge_masked(self, inputs: list[Any], masks: list[np.ndarray | None]) -> Any:
        """Combine inputs of which some carry masks; the masks are ignored by default."""
        return self._merge_function(inputs)

    def _compute_elemwise_op_output_shape(self, shape1: Shape, shape2: Shape) -> Shape:
        """The broadcast shape of two sample shapes (without batch axes)."""
        if len(shape1) < len(shape2):
            return self._compute_elemwise_op_output_shape(shape2, shape1)
        if not shape2:
            return tuple(shape1)
        out = list(shape1[: len(shape1) - len(shape2)])
        for i, j in zip(shape1[len(shape1) - len(shape2) :], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1:
                out.append(j)
            elif j == 1 or i == j:
                out.append(i)
            else:
                raise ValueError(
                    f"{type(self).__name__} inputs have incompatible shapes {tuple(shape1)} and "
                    f"{tuple(shape2)}; sizes must match or be 1 on every axis."
                )
        return tuple(out)

    def build(self, input_shape: Any) -> None:
        if not _is_shape_list(input_shape) or len(input_shape) < 1:
            raise ValueError(
                f"A {type(self).__name__} layer must be called on a list of tensors, got inputs "
                f"of shape {input_shape}."
            )
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(
                f"{type(self).__name__} cannot merge tensors with different batch sizes, got "
                f"shapes {[tuple(s) for s in input_shape]}."
            )
        self.compute_output_shape(input_shape)
        self._reshape_required = len({len(s) for s in input_shape}) != 1
        self.built = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"A {type(self).__name__} layer must be called on a list of tensors, got "
                f"{type(inputs).__name__}."
            )
        inputs = list(inputs)
        if self._reshape_required:
            max_ndim = max(np.ndim(unwrap(x)) for x in inputs)
            expanded = []
            for x in inputs:
                shape = np.shape(unwrap(x))
                missing = max_ndim - len(shape)
                expanded.append(
                    onp.reshape(x, (shape[0], *([1] * missing), *shape[1:])) if missing else x
                )
            return self._merge_function(expanded)
        masks = list(mask) if isinstance(mask, (list, tuple)) else [None] * len(inputs)
        if any(m is not None for m in masks):
            return self._merge_masked(
                inputs, [None if m is None else np.asarray(unwrap(m), dtype=bool) for m in masks]
            )
        return self._merge_function(inputs)

    def compute_output_shape(self, input_shape: Any) -> Shape:
        if not _is_shape_list(input_shape):
            raise ValueError(
                f"A {type(self).__name__} layer must be called on a list of tensors, got inputs "
                f"of shape {input_shape}."
            )
        out = tuple(input_shape[0][1:])
        for shape in input_shape[1:]:
            out = self._compute_elemwise_op_output_shape(out, tuple(shape[1:]))
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        batch = next(iter(batch_sizes)) if len(batch_sizes) == 1 else None
        return (batch, *out)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(
                f"{type(self).__name__} needs one mask (or None) per input, got {len(inputs)} "
                f"inputs and mask={mask!r}."
            )
        if any(m is None for m in mask):
            return None
        out = np.asarray(unwrap(mask[0]), dtype=bool)
        for m in mask[1:]:
            out = out | np.asarray(unwrap(m), dtype=bool)
        return out


def merge_with_or_mask(
    op: Callable[[Any, Any], Tensor], inputs: Sequence[Any], masks: Sequence[np.ndarray | None]
) -> Any:
    """Fold `op` over `inputs`, where a masked-out entry takes the other operand's value.

    Used by `Maximum` and `Minimum`, which have no identity element to put in
    masked positions.
    """
    output: Any = None
    output_mask: np.ndarray | None = None
    for x, mask in zip(inputs, masks):
        full = None if mask is None else broadcast_mask(mask, x)
        if output is None:
            output, output_mask = x, full
            continue
        if full is not None:
            x = onp.where(full, x, output)
        if output_mask is not None:
            output = onp.where(output_mask, output, x)
        output_mask = output_mask | full if full is not None and output_mask is not None else None
        output = op(output, x)
    return output
