"""Fused linear-algebra ops used by the layers on their hot path."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.tensor import Tensor
from engine.ops.core import as_array, record


def dense(x: Any, kernel: Any, bias: Any = None, activation: str | None = None) -> Tensor:
    """`x @ kernel + bias` over the last axis of `x`, as one op with one GEMM each way.

    Args:
        x: inputs of shape `(..., d)`.
        kernel: weights of shape `(d, units)`.
        bias: optional `(units,)` bias.
        activation: None, or "relu" to rectify in place (no second op, no second
            array; the backward pass masks the gradient by the output).

    Example:
        >>> ops.dense(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4)).shape
        (2, 4)
    """
    a, w = as_array(x), as_array(kernel)
    b = None if bias is None else as_array(bias)
    lead = a.shape[:-1]
    a2 = a.reshape(-1, a.shape[-1]) if a.ndim != 2 else a
    if activation not in (None, "relu"):
        raise ValueError(f"dense can fuse only activation='relu', got {activation!r}.")
    out = a2 @ w
    if b is not None:
        out += b
    relu = activation == "relu"
    if relu:
        np.maximum(out, 0, out=out)
    out2 = out
    if a.ndim != 2:
        out = out.reshape(*lead, w.shape[-1])

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        if relu:
            g2 = g2 * (out2 > 0)
        gx = (g2 @ w.T).reshape(a.shape) if n[0] else None
        gw = a2.T @ g2 if n[1] else None
        # A GEMV: NumPy sums axis 0 one short row at a time.
        gb = np.ones(len(g2), g2.dtype) @ g2 if len(n) > 2 and n[2] else None
        return gx, gw, gb

    parents = (x, kernel) if bias is None else (x, kernel, bias)
    return record(out, parents, vjp)


__all__ = ["dense"]
