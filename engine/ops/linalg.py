"""Fused linear-algebra ops used by the layers on their hot path."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.backend import config
from engine.backend.tensor import Tensor
from engine.ops.batch_parallel import map_chunks_split, scratch, split_work
from engine.ops.core import as_array, record, relu_into
from engine.ops.normalization import _RowNorm, _total


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


def residual_feed_forward(
    x: Any,
    kernel1: Any,
    bias1: Any,
    kernel2: Any,
    bias2: Any,
    gamma: Any = None,
    beta: Any = None,
    epsilon: float | None = None,
    activation: str | None = "relu",
) -> Tensor:
    """`layer_normalization(x + dense(dense(x, kernel1, bias1, activation), kernel2, bias2))`
    over the last axis, as one op: a Transformer block's feed-forward sublayer with its
    residual `Add` and `LayerNormalization`.

    Each chunk of rows goes through both GEMMs, the sum and the normalization
    while it is in cache, on its own thread: one hand-off to the threads each
    way where the four layers take four, and the second `Dense`'s output is
    written straight into the normalization's work array. Measured in the
    Transformer benchmark's training step, the two alternating step by step
    in one process: 3% faster (p10 24.2 -> 23.3 ms).

    The operations are the separate layers', row by row, so in one chunk the
    results are theirs bit for bit. Over several chunks the weight gradients
    are sums of per-chunk parts, grouped differently, and BLAS may round a
    small block's rows otherwise than a large one's: they agree to float
    rounding (at the benchmark's shape the forward results were still equal).
    So does the gradient of an `x` that other ops also read: its two paths
    here are added before the tape adds theirs.

    Args:
        x: inputs of shape `(..., d)`.
        kernel1: the first `(d, units)` kernel; `bias1` its `(units,)` bias or None.
        kernel2: the second `(units, d)` kernel; `bias2` its `(d,)` bias or None.
        gamma, beta: the normalization's optional `(d,)` scale and offset.
        epsilon: added to the variance; `engine.backend.epsilon()` when None.
        activation: None or "relu", the first layer's activation.

    Example:
        >>> x, w1, w2 = np.ones((2, 3, 4)), np.ones((4, 8)), np.ones((8, 4))
        >>> residual_feed_forward(x, w1, None, w2, None).shape
        (2, 3, 4)
    """
    if activation not in (None, "relu"):
        raise ValueError(
            f"residual_feed_forward can fuse only activation None or 'relu', got {activation!r}."
        )
    a = as_array(x)
    w1, w2 = as_array(kernel1), as_array(kernel2)
    b1, b2, gam, bet = (None if p is None else as_array(p) for p in (bias1, bias2, gamma, beta))
    dt = a.dtype
    if dt not in (np.float32, np.float64):
        raise ValueError(
            f"residual_feed_forward needs float32 or float64 inputs, got {dt}; cast them first."
        )
    d = a.shape[-1] if a.ndim else 0
    units = w1.shape[-1] if w1.ndim == 2 else 0
    expected = {
        "kernel1": (w1, (d, units)),
        "bias1": (b1, (units,)),
        "kernel2": (w2, (units, d)),
        "bias2": (b2, (d,)),
        "gamma": (gam, (d,)),
        "beta": (bet, (d,)),
    }
    for name, (p, shape) in expected.items():
        if p is None:
            continue
        if p.shape != shape or p.dtype != dt:
            raise ValueError(
                f"residual_feed_forward: {name} must be {dt} of shape {shape} for inputs of "
                f"shape {a.shape}, got {p.dtype} of shape {p.shape}."
            )
    if w1.ndim != 2 or a.ndim < 1 or units == 0:
        raise ValueError(
            f"residual_feed_forward: kernel1 must be a (d, units) matrix with d = x.shape[-1], "
            f"got x {a.shape} and kernel1 {w1.shape}."
        )
    eps = config.epsilon() if epsilon is None else epsilon
    relu = activation == "relu"
    a2 = np.ascontiguousarray(a.reshape(-1, d))
    rows = len(a2)
    hidden = np.empty((rows, units), dt)
    norm = _RowNorm(a2, gam, bet, eps, False, residual=True)
    item_bytes = norm.item_bytes + units * dt.itemsize
    flops = 4.0 * rows * d * units

    def forward(r0: int, r1: int) -> None:
        dense_block(a2[r0:r1], w1, b1, relu, hidden[r0:r1])
        # The second layer's rows go where the normalization sums them with x's.
        dense_block(hidden[r0:r1], w2, b2, False, norm.centered[r0:r1])
        norm.forward(r0, r1)

    if rows:
        map_chunks_split(forward, rows, item_bytes, flops)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        need_x, need_w1, need_b1, need_w2, need_b2, need_gamma, need_beta = n
        want_gamma, want_beta = need_gamma and gam is not None, need_beta and bet is not None
        need_first = need_x or need_w1 or need_b1
        need_sum = need_first or need_w2 or need_b2
        g2 = np.ascontiguousarray(g.reshape(rows, d), dtype=dt)
        # The gradient of the sum, which is also x's through the residual path:
        # x's gradient adds the first layer's input gradient to it in place.
        gs = np.empty((rows, d), dt) if need_sum else None

        def chunk(r0: int, r1: int) -> tuple[Any, ...]:
            ggamma, gbeta = norm.backward_rows(g2, gs, r0, r1, want_gamma, want_beta)
            gw1 = gb1 = gw2 = gb2 = None
            if gs is None:
                return ggamma, gbeta, gw1, gb1, gw2, gb2
            gsb, hb = gs[r0:r1], hidden[r0:r1]
            # Each layer's part as `dense` computes it, the hidden gradient masked by relu.
            gh = scratch("feed_forward_hidden", hb.shape, dt) if need_first else None
            gw2, gb2 = dense_block_grads(hb, w2, gsb, gh, need_w2, need_b2)
            if gh is not None:
                if relu:
                    np.multiply(gh, hb > 0, out=gh)
                gx1 = scratch("feed_forward_x", gsb.shape, dt) if need_x else None
                gw1, gb1 = dense_block_grads(a2[r0:r1], w1, gh, gx1, need_w1, need_b1)
                if gx1 is not None:
                    gsb += gx1
            return ggamma, gbeta, gw1, gb1, gw2, gb2

        parts = (
            map_chunks_split(chunk, rows, item_bytes + units * dt.itemsize, 2 * flops)
            if rows
            else []
        )

        def summed(i: int, want: bool, shape: tuple[int, ...]) -> np.ndarray | None:
            # The chunks' parts in order (zeros when there are no rows).
            if not want:
                return None
            return _total([p[i].reshape(-1) for p in parts], math.prod(shape), dt).reshape(shape)

        return (
            gs.reshape(a.shape) if need_x else None,
            summed(2, need_w1, w1.shape),
            summed(3, need_b1, (units,)),
            summed(4, need_w2, w2.shape),
            summed(5, need_b2, (d,)),
            summed(0, want_gamma, (d,)),
            summed(1, want_beta, (d,)),
        )

    out = norm.out.reshape(a.shape)
    return record(out, (x, kernel1, bias1, kernel2, bias2, gamma, beta), vjp)


__all__ = ["dense", "residual_feed_forward"]
