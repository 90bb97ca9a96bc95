"""Fused linear-algebra ops used by the layers on their hot path."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.tensor import Tensor
from engine.ops.batch_parallel import scratch, split_work
from engine.ops.core import as_array, record, relu_into


def column_sums(a: np.ndarray) -> np.ndarray:
    """`a.sum(axis=-2)` as a GEMV (one per matrix of a stack): NumPy reduces that axis
    one short row at a time, several times slower."""
    return np.matmul(np.ones(a.shape[-2], a.dtype), a)


def dense_block(
    a: np.ndarray, w: np.ndarray, bias: np.ndarray | None, relu: bool, out: np.ndarray
) -> np.ndarray:
    """`a @ w (+ bias, relu)` written to `out` on the calling thread: one part of `matmul_rows`,
    also for fused ops that project their own blocks of rows."""
    o = np.matmul(a, w, out=out)
    if bias is not None:
        o += bias
    if relu:
        relu_into(o, o)
    return o


def dense_block_grads(
    a: np.ndarray,
    w: np.ndarray,
    g: np.ndarray,
    gx_out: np.ndarray | None,
    need_w: bool,
    need_b: bool,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """One part of `matmul_rows_grads` on the calling thread: writes `g @ w.T` to `gx_out`
    (unless None) and returns this block's kernel and bias gradients, each only when needed."""
    if gx_out is not None:
        np.matmul(g, w.T, out=gx_out)
    gw = a.T @ g if need_w else None
    gb = column_sums(g) if need_b else None
    return gw, gb


def matmul_rows(
    a2: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    relu: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """`a2 @ w (+ bias, relu)` for a 2-D `a2`, split by rows inside a `parallel_scope`.

    Each thread multiplies its rows and adds the bias and relu while they are in
    cache; outside the scope (or for small products) it is one call, which BLAS
    threads itself. `out`, if given, is a C-contiguous `(rows, units)` array to write.
    """
    if out is None:
        out = np.empty((len(a2), w.shape[-1]), np.result_type(a2, w))

    def rows(r0: int, r1: int) -> None:
        dense_block(a2[r0:r1], w, bias, relu, out[r0:r1])

    split_work(rows, len(a2), 2.0 * a2.size * w.shape[-1])
    return out


def matmul_rows_grads(
    a2: np.ndarray,
    w: np.ndarray,
    g2: np.ndarray,
    need_x: bool,
    need_w: bool,
    need_b: bool = False,
    relu_out: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients `(g @ w.T, a2.T @ g, g summed over rows)` of `matmul_rows`, each only when needed.

    `g` is `g2`, masked by `relu_out > 0` when the forward pass fused a relu
    whose output `relu_out` is. Part i of a split takes rows r0:r1: it masks
    them, writes their rows of the input gradient and returns its share of
    the kernel and bias gradients, summed in part order at the end (`out`, if
    given, is a C-contiguous array shaped like `a2` for the input gradient). So the
    mask and the bias sums run on every thread too, not before the split on
    one (measured on the Transformer benchmark's Dense(128, relu): the serial
    part of its backward pass was 1.4 ms of a 55 ms step).
    """
    gx2 = None
    if need_x:
        gx2 = np.empty(a2.shape, np.result_type(g2, w)) if out is None else out

    def part(r0: int, r1: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        g = g2[r0:r1]
        if relu_out is not None:
            g = np.multiply(g, relu_out[r0:r1] > 0, out=scratch("dense_grad", g.shape, g.dtype))
        return dense_block_grads(
            a2[r0:r1], w, g, None if gx2 is None else gx2[r0:r1], need_w, need_b
        )

    parts = split_work(part, len(a2), 4.0 * a2.size * w.shape[-1])
    gw = sum(p[0] for p in parts) if need_w else None
    gb = sum(p[1] for p in parts) if need_b else None
    return gx2, gw, gb


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
    out2 = matmul_rows(a2, w, b, relu)
    out = out2 if a.ndim == 2 else out2.reshape(*lead, w.shape[-1])

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        need_b = len(n) > 2 and n[2]
        gx2, gw, gb = matmul_rows_grads(a2, w, g2, n[0], n[1], need_b, out2 if relu else None)
        return (None if gx2 is None else gx2.reshape(a.shape)), gw, gb

    parents = (x, kernel) if bias is None else (x, kernel, bias)
    return record(out, parents, vjp)


__all__ = ["dense"]
