"""`Dot` (batchwise dot products) and its functional form `dot`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.backend.tensor import Tensor
from engine.layers.merging.base_merge import Merge, _is_shape_list
from engine.ops.core import as_array, record
from engine.ops.nn import normalize as l2_normalize


def _normalize_axes(axes: int | list[int], ndim1: int, ndim2: int) -> tuple[int, int]:
    if isinstance(axes, int):
        return axes % ndim1, axes % ndim2
    return axes[0] % ndim1, axes[1] % ndim2


def batch_dot(x: Any, y: Any, axes: tuple[int, int]) -> Tensor:
    """Per-sample dot product of `x` and `y` over `x`'s axis `axes[0]` and `y`'s `axes[1]`.

    The output has `x`'s axes (minus the summed one) followed by `y`'s (minus
    the batch and summed ones), and at least shape `(batch, 1)`. One GEMM per
    direction, recorded as one tape entry.

    Args:
        x: a tensor of rank >= 2.
        y: a tensor of rank >= 2 with the same batch size.
        axes: the summed axis of `x` and of `y` (non-negative, not 0).
    """
    a, b = as_array(x), as_array(y)
    a0, a1 = axes
    xm = np.moveaxis(a, a0, -1)
    ym = np.moveaxis(b, a1, 1)
    n, k = a.shape[0], xm.shape[-1]
    x_mid, y_trail = xm.shape[1:-1], ym.shape[2:]
    m, p = math.prod(x_mid), math.prod(y_trail)
    x3 = xm.reshape(n, m, k)
    y3 = ym.reshape(n, k, p)
    out_shape = (n, *x_mid, *y_trail) if x_mid or y_trail else (n, 1)
    out = np.matmul(x3, y3).reshape(out_shape)

    def vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[Any, Any]:
        g3 = g.reshape(n, m, p)
        gx = gy = None
        if needs[0]:
            gx = np.moveaxis(np.matmul(g3, y3.transpose(0, 2, 1)).reshape(xm.shape), -1, a0)
        if needs[1]:
            gy = np.moveaxis(np.matmul(x3.transpose(0, 2, 1), g3).reshape(ym.shape), 1, a1)
        return gx, gy

    return record(out, (x, y), vjp)


class Dot(Merge):
    """Dot product of two tensors, sample by sample.

    For inputs of shapes `(batch, 3, 5)` and `(batch, 10, 3)` with `axes=(1, 2)`
    the output has shape `(batch, 5, 10)`; for two `(batch, d)` vectors and
    `axes=1` it is `(batch, 1)`.

    Args:
        axes: the axis summed over in both inputs, or a pair `(axis_of_first,
            axis_of_second)`; the two sizes must match. The batch axis 0 cannot
            be summed.
        normalize: L2-normalise both inputs along the summed axes first, so the
            output is the cosine similarity.

    Example:
        >>> x = np.arange(10, dtype="float32").reshape(1, 5, 2)
        >>> y = np.arange(10, 20, dtype="float32").reshape(1, 2, 5)
        >>> Dot(axes=(1, 2))([x, y]).numpy()
        array([[[260., 360.],
                [320., 445.]]], dtype=float32)
    """

    def __init__(
        self, axes: int | list[int] | tuple[int, int], normalize: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"Dot axes must be an int or a pair of ints, got axes={axes!r}.")
            if len(axes) != 2 or not all(isinstance(a, int) for a in axes):
                raise ValueError(f"Dot axes must be an int or a pair of ints, got axes={axes!r}.")
            axes = list(axes)
        self.axes = axes
        self.normalize = normalize
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        self.compute_output_shape(input_shape)
        self.built = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        return self._merge_function(list(inputs) if isinstance(inputs, (list, tuple)) else inputs)

    def _merge_function(self, inputs: Any) -> Any:
        if not isinstance(inputs, list) or len(inputs) != 2:
            raise ValueError("A Dot layer must be called on a list of exactly 2 tensors.")
        x1, x2 = inputs
        axes = _normalize_axes(self.axes, np.ndim(as_array(x1)), np.ndim(as_array(x2)))
        if self.normalize:
            x1 = l2_normalize(x1, axis=axes[0])
            x2 = l2_normalize(x2, axis=axes[1])
        return batch_dot(x1, x2, axes)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        if not _is_shape_list(input_shape) or len(input_shape) != 2:
            raise ValueError(
                f"A Dot layer must be called on a list of exactly 2 tensors, got inputs of shape "
                f"{input_shape}."
            )
        shape1, shape2 = list(input_shape[0]), list(input_shape[1])
        if len(shape1) < 2 or len(shape2) < 2:
            raise ValueError(
                f"Dot needs inputs of rank >= 2 (a batch axis and a feature axis), got shapes "
                f"{tuple(shape1)} and {tuple(shape2)}."
            )
        a0, a1 = _normalize_axes(self.axes, len(shape1), len(shape2))
        if a0 == 0 or a1 == 0:
            raise ValueError(
                f"Dot cannot sum over the batch axis 0 (axes={self.axes}); pick feature axes."
            )
        b1, b2 = shape1[0], shape2[0]
        if b1 is not None and b2 is not None and b1 != b2:
            raise ValueError(
                f"Dot needs inputs with the same batch size, got shapes {tuple(shape1)} and "
                f"{tuple(shape2)}."
            )
        d1, d2 = shape1[a0], shape2[a1]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(
                f"Dot axes {self.axes} pair sizes {d1} (axis {a0} of {tuple(shape1)}) and {d2} "
                f"(axis {a1} of {tuple(shape2)}); they must be equal."
            )
        shape1.pop(a0)
        shape2.pop(a1)
        shape2.pop(0)
        out = shape1 + shape2
        if len(out) == 1:
            out.append(1)
        return tuple(out)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config


def dot(inputs: list[Any], axes: int | list[int] | tuple[int, int] = -1, **kwargs: Any) -> Any:
    """Functional form of `Dot`.

    Args:
        inputs: exactly two tensors.
        axes: the summed axis, or one per input.
        **kwargs: other `Dot` arguments (`normalize`, `name`, ...).
    """
    return Dot(axes=axes, **kwargs)(inputs)
