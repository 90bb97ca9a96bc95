"""Fused linear-algebra ops used by the layers on their hot path."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.tensor import Tensor
from engine.ops.batch_parallel import split_work
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
    relu = activation == "relu"
    rows, units = len(a2), w.shape[-1]
    flops = 2.0 * a2.size * units
    out2 = np.empty((rows, units), np.result_type(a2, w))

    # By rows: inside a parallel_scope each thread multiplies its rows and adds the
    # bias and relu while they are in cache; elsewhere it is one call.
    def forward(r0: int, r1: int) -> None:
        o = np.matmul(a2[r0:r1], w, out=out2[r0:r1])
        if b is not None:
            o += b
        if relu:
            np.maximum(o, 0, out=o)

    split_work(forward, rows, flops)
    out = out2 if a.ndim == 2 else out2.reshape(*lead, units)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        need_b = len(n) > 2 and n[2]
        gx2 = np.empty(a2.shape, np.result_type(g2, w)) if n[0] else None

        def backward(r0: int, r1: int) -> tuple[Any, Any]:
            gp = g2[r0:r1]
            if relu:
                gp = gp * (out2[r0:r1] > 0)
            if gx2 is not None:
                np.matmul(gp, w.T, out=gx2[r0:r1])
            gw = a2[r0:r1].T @ gp if n[1] else None
            # A GEMV: NumPy sums axis 0 one short row at a time.
            gb = np.ones(len(gp), gp.dtype) @ gp if need_b else None
            return gw, gb

        parts = split_work(backward, rows, 2 * flops)
        gw, gb = parts[0]
        for part_w, part_b in parts[1:]:
            gw = None if gw is None else gw + part_w
            gb = None if gb is None else gb + part_b
        gx = None if gx2 is None else gx2.reshape(a.shape)
        return gx, gw, gb

    parents = (x, kernel) if bias is None else (x, kernel, bias)
    return record(out, parents, vjp)


__all__ = ["dense"]
