"""Fused attention ops: scaled dot-product attention, additive scores, multi-axis projections.

Each op computes its whole forward pass in NumPy and records one tape entry
with a hand-written backward pass, so an attention layer costs a handful of
tape entries however long its sequences are. Layout follows
`torch.nn.functional.scaled_dot_product_attention`: leading batch axes (and
heads), then `(..., T, features)`.

Masks are boolean (nonzero means "may attend"); like Keras, a masked score is
lowered by 1e9 (65504 in float16) before the softmax rather than replaced, so
a row with every position masked is still a valid distribution.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.backend.random import SeedGenerator
from engine.backend.tensor import Tensor
from engine.ops.batch_parallel import map_chunks_split, scratch
from engine.ops.core import as_array, record, unbroadcast
from engine.ops.linalg import dense_block, dense_block_grads, matmul_rows, matmul_rows_grads


def _floating(x: Any) -> np.ndarray:
    a = as_array(x)
    a = np.asarray(a)
    if a.dtype.kind != "f":
        from engine.backend.config import floatx

        a = a.astype(floatx())
    return a


def mask_bias(mask: Any, dtype: Any) -> np.ndarray | None:
    """The additive score bias of a boolean mask: 0 where it is True, -1e9 where False.

    Args:
        mask: a boolean (or 0/1) array, or None.
        dtype: the float dtype of the scores.

    Example:
        >>> mask_bias(np.array([True, False]), "float32")
        array([ 0.e+00, -1.e+09], dtype=float32)
    """
    if mask is None:
        return None
    m = np.asarray(as_array(mask))
    if m.dtype != np.bool_:
        m = m != 0
    dtype = np.dtype(dtype)
    penalty = 65504.0 if dtype == np.float16 else 1e9
    return np.where(m, dtype.type(0), dtype.type(-penalty))


def causal_mask(q_len: int, v_len: int) -> np.ndarray:
    """A `(q_len, v_len)` boolean lower-triangular mask: query i sees keys j <= i.

    Example:
        >>> causal_mask(2, 3)
        array([[ True, False, False],
               [ True,  True, False]])
    """
    return np.tri(q_len, v_len, dtype=np.bool_)


def _row_sums(a: np.ndarray) -> np.ndarray:
    """Sums over the last axis; `einsum` is several times faster than `sum` on short rows."""
    return np.einsum("...j->...", a)


def _row_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`(a * b).sum(-1)` without the temporary."""
    return np.einsum("...j,...j->...", a, b)


def _softmax_rows(s: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in place (the scores array becomes the probabilities)."""
    s -= s.max(axis=-1, keepdims=True)
    np.exp(s, out=s)
    s *= (1.0 / _row_sums(s))[..., None]
    return s


def _softmax_rows_backward(p: np.ndarray, dp: np.ndarray) -> np.ndarray:
    """Gradient of the scores from that of the probabilities; overwrites `dp`."""
    dp -= _row_dots(dp, p)[..., None]
    dp *= p
    return dp


def _add_bias(s: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    if bias is None:
        return s
    if np.broadcast_shapes(s.shape, bias.shape) == s.shape:
        s += bias
        return s
    return s + bias


def _dropout_scale(
    shape: tuple[int, ...], rate: float, dtype: np.dtype, seed_generator: SeedGenerator | None
) -> np.ndarray:
    """An inverted-dropout multiplier: 0 for dropped entries, `1 / (1 - rate)` for kept ones."""
    gen = (seed_generator or SeedGenerator()).generator
    keep_prob = 1.0 - rate
    draws = gen.random(shape, dtype=np.float64 if dtype == np.float64 else np.float32)
    scale = (draws < keep_prob).astype(dtype)
    scale *= dtype.type(1.0 / keep_prob)
    return scale


def _swap(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


# The spread GEMM does `heads` times the multiply's arithmetic: worth it for a
# few heads only.
_MAX_SPREAD_HEADS = 16


@functools.lru_cache(maxsize=16)
def _head_spreader(heads: int, size: int, dtype: str) -> np.ndarray:
    """The `(heads, heads * size)` 0/1 matrix whose row i is one on columns `i*size:(i+1)*size`."""
    spreader = np.kron(np.eye(heads, dtype=dtype), np.ones((1, size), dtype))
    spreader.flags.writeable = False
    return spreader


def _times_rows(src: np.ndarray, z: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """`dst = src * z[..., None]` for `(..., H, T, d)` arrays (`dst` may be `src`).

    Multi-head attention keeps its heads as views of `(..., T, H, d)` arrays
    (heads last, as the output projection reads them). NumPy's broadcast
    multiply walks such a view 16 values at a time (d = 16) and takes 4-5
    times a flat pass; here z is spread to that layout by a GEMM with the 0/1
    matrix `_head_spreader` (each product is z times one plus zeros: exact)
    and the product is one flat pass. Measured on 16 items of the Transformer
    benchmark's shape (4 heads, T = 100, d = 16), one thread: 143 us
    broadcast, 31 us spread. Other layouts multiply by the broadcast.
    """
    if src.ndim < 4 or src.shape[-3] > _MAX_SPREAD_HEADS:
        # Not heads: a batch axis (a 3-D input with one step is contiguous swapped
        # too), whose spreader would be (n, n * d) and its GEMM n times the work.
        return np.multiply(src, z[..., None], out=dst)
    heads_last_src, heads_last_dst = np.swapaxes(src, -2, -3), np.swapaxes(dst, -2, -3)
    if not (heads_last_src.flags.c_contiguous and heads_last_dst.flags.c_contiguous):
        return np.multiply(src, z[..., None], out=dst)
    heads, steps, size = src.shape[-3:]
    rows = z.size // (heads * steps)
    wide = (rows, steps, heads * size)
    spread = scratch("attention_rows", wide, dst.dtype)
    z_steps_first = np.swapaxes(z.reshape(rows, heads, steps), -1, -2)
    np.matmul(z_steps_first, _head_spreader(heads, size, dst.dtype.str), out=spread)
    np.multiply(heads_last_src.reshape(wide), spread, out=heads_last_dst.reshape(wide))
    return dst


def _check_dropout(rate: float) -> None:
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"Attention dropout must be in [0, 1), got {rate}.")


def _unnormalised_softmax(
    qs: np.ndarray, k: np.ndarray, bias: np.ndarray | None, e: np.ndarray
) -> np.ndarray:
    """Fill `e` with `exp(qs @ k^T + bias - shift)`; return the rows' sums.

    Softmax is shift-invariant, and any shift that keeps the exponents in the
    float range gives the same probabilities. Instead of each row's maximum
    (a slow pass over the scores) this uses the Cauchy-Schwarz bound
    `|q_i| * max_j |k_j|` of the row's scores (`qs` carries the scale): when
    every bound is small no shift is needed at all, else each row is shifted
    by its bound, so no exponent is positive. A row whose sum comes out tiny
    (its bound far above its scores, or every key masked) is recomputed with
    its exact maximum, so precision matches the usual softmax.
    """
    dtype = e.dtype
    np.matmul(qs, _swap(k), out=e)
    bound = np.sqrt(_row_dots(qs, qs)) * np.sqrt(_row_dots(k, k)).max(axis=-1, keepdims=True)
    # exp(limit) and a sum of many such terms stay far inside the float range.
    limit = 40.0 if dtype.itemsize <= 4 else 300.0
    if bound.max(initial=0.0) > limit:
        e -= bound[..., None]
    if bias is not None:
        e += bias
    np.exp(e, out=e)
    sums = _row_sums(e)
    bad = sums < np.sqrt(np.finfo(dtype).tiny)
    if bad.any():
        rows = np.nonzero(bad)
        raw = np.einsum("nd,nsd->ns", qs[rows], k[rows[:-1]])
        if bias is not None:
            raw = raw + bias[rows]
        raw -= raw.max(axis=-1, keepdims=True)
        exact = np.exp(raw)
        e[rows] = exact
        sums[rows] = _row_sums(exact)
    return sums


def scaled_dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    mask: Any = None,
    scale: Any = None,
    dropout_rate: float = 0.0,
    seed_generator: SeedGenerator | None = None,
) -> Tensor:
    """`dropout(softmax(scale * query @ key^T, masked)) @ value` as one fused op.

    Args:
        query: `(..., Tq, d)`.
        key: `(..., Tv, d)`.
        value: `(..., Tv, dv)`.
        mask: optional boolean array broadcastable to `(..., Tq, Tv)`; False
            keeps a query from attending to that key.
        scale: the factor of the scores: a float, a scalar tensor (a trainable
            weight gets its gradient) or None for `1 / sqrt(d)`.
        dropout_rate: the fraction of attention probabilities dropped.
        seed_generator: where the dropout draws come from (the global generator when None).

    Returns:
        The attended values, `(..., Tq, dv)`.

    Example:
        >>> q = np.ones((2, 3, 4), "float32")
        >>> scaled_dot_product_attention(q, q, q).shape
        (2, 3, 4)
    """
    _check_dropout(dropout_rate)
    q, k, v = _floating(query), _floating(key), _floating(value)
    if scale is None:
        scale_value = 1.0 / math.sqrt(q.shape[-1])
    else:
        scale_value = float(np.asarray(as_array(scale)))
    core = _AttentionCore(q, k, v, mask, scale_value, dropout_rate, seed_generator)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        need_scale = len(n) > 3 and n[3]
        gq, gk, gv, gs = core.backward(g, n[0], n[1], n[2], need_scale)
        if gs is not None:
            gs = np.asarray(gs, dtype=np.asarray(as_array(scale)).dtype)
        return (
            None if gq is None else unbroadcast(gq, q.shape),
            None if gk is None else unbroadcast(gk, k.shape),
            None if gv is None else unbroadcast(gv, v.shape),
            gs,
        )

    parents: tuple[Any, ...] = (query, key, value)
    if isinstance(scale, Tensor):
        parents = (*parents, scale)
    return record(core.out, parents, vjp)


class _AttentionCore:
    """The forward pass of scaled dot-product attention and what its backward pass needs.

    `e` holds exp(score - shift) and `z` the rows' 1 / sum(e): the probabilities
    are `e * z`, never formed, since folding `z` into the small `(..., Tq, dv)`
    arrays saves a pass over the `(..., Tq, Tv)` scores each way. Both passes
    run over chunks of the first batch axis small enough for the scores to stay
    in cache, spread over threads (`engine.ops.batch_parallel.map_chunks_split`):
    the per-head GEMMs are too small for BLAS to thread them itself.

    A caller that produces q, k and v chunk by chunk (the fused self-attention
    op) passes `run=False`, fills each chunk and then calls `forward(a, b)`
    itself; `backward_chunks` likewise gives it the per-chunk backward.
    """

    def __init__(
        self,
        q: np.ndarray,
        k: np.ndarray,
        v: np.ndarray,
        mask: Any,
        scale: float,
        dropout_rate: float,
        seed_generator: SeedGenerator | None,
        out: np.ndarray | None = None,
        run: bool = True,
    ) -> None:
        """Set up, and with `run` compute, the forward pass; `out` is where the result goes."""
        dtype = np.result_type(q, k, v)
        bias = mask_bias(mask, dtype)
        lead = np.broadcast_shapes(
            q.shape[:-2], k.shape[:-2], v.shape[:-2], () if bias is None else bias.shape[:-2]
        )
        # A leading axis of one for unbatched inputs, so that chunks always exist.
        self.squeeze = not lead
        lead = lead or (1,)
        tq, tv = q.shape[-2], k.shape[-2]
        self.q = np.broadcast_to(q, (*lead, *q.shape[-2:]))
        self.k = np.broadcast_to(k, (*lead, *k.shape[-2:]))
        self.v = np.broadcast_to(v, (*lead, *v.shape[-2:]))
        self.bias = None if bias is None else np.broadcast_to(bias, (*lead, tq, tv))
        self.sc = dtype.type(scale)
        # The scaled queries, filled chunk by chunk; laid out like q (a transposed
        # view stays transposed, which BLAS reads for free), C order when broadcast.
        # With a scale of one (multi-head attention scales its query projection
        # instead) they are the queries themselves.
        if 0 in self.q.strides or self.q.dtype != dtype:
            self.qs = np.empty(self.q.shape, dtype)
        elif scale == 1:
            self.qs = self.q
        else:
            self.qs = np.empty_like(self.q)
        self.e = np.empty((*lead, tq, tv), dtype)
        self.z = np.empty((*lead, tq), dtype)
        self.drop = None
        self.ed = self.e
        if dropout_rate > 0:
            # Drawn whole, so the masks do not depend on how the work is chunked.
            self.drop = _dropout_scale(self.e.shape, dropout_rate, dtype, seed_generator)
            self.ed = np.empty_like(self.e)
        if out is None:
            out = np.empty((*lead, tq, v.shape[-1]), dtype)
        elif self.squeeze:
            out = out[None]
        self._out = out
        self.bytes_per_item = math.prod(lead[1:]) * tq * tv * dtype.itemsize
        self.flops = 2.0 * math.prod(lead) * tq * tv * (q.shape[-1] + v.shape[-1])
        if run:
            map_chunks_split(self.forward, lead[0], self.bytes_per_item, self.flops)
        self.out = out[0] if self.squeeze else out

    def forward(self, a: int, b: int) -> None:
        """The forward pass of items `a:b` of the first batch axis."""
        qs = self.qs[a:b]
        if self.qs is not self.q:
            np.multiply(self.q[a:b], self.sc, out=qs)
        e = self.e[a:b]
        sums = _unnormalised_softmax(
            qs, self.k[a:b], None if self.bias is None else self.bias[a:b], e
        )
        z = self.z[a:b]
        np.divide(1.0, sums, out=z)
        ed = e
        if self.drop is not None:
            ed = np.multiply(e, self.drop[a:b], out=self.ed[a:b])
        out = self._out[a:b]
        v = self.v[a:b]
        if v.strides[-1] != v.itemsize and v.shape[-1] > 1:
            # Multi-head attention keeps each head's v transposed, (dv, Tv) rows;
            # BLAS multiplies by a C-order copy faster than by that view: for 16
            # items of the Transformer benchmark's shape (4 heads, T = 100,
            # dv = 16), one thread, 390 us by the view, 300 us copy included.
            v_c = scratch("attention_v_rows", v.shape, v.dtype)
            np.copyto(v_c, v)
            v = v_c
        np.matmul(ed, v, out=out)
        _times_rows(out, z, out)

    def backward(
        self,
        g: np.ndarray,
        need_q: bool,
        need_k: bool,
        need_v: bool,
        need_scale: bool = False,
    ) -> tuple[Any, Any, Any, Any]:
        """Gradients of q, k, v (at their broadcast shapes) and of the scale, or None."""
        chunk, grads = self.backward_chunks(g, need_q, need_k, need_v, need_scale)
        partials = map_chunks_split(chunk, len(self.e), self.bytes_per_item, 2 * self.flops)
        gq, gk, gv = grads
        gs = sum(partials) if need_scale else None
        return gq, gk, gv, gs

    def backward_chunks(
        self,
        g: np.ndarray,
        need_q: bool,
        need_k: bool,
        need_v: bool,
        need_scale: bool = False,
        transposed: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        g_padded: bool = False,
    ) -> tuple[Callable[[int, int], float], list[Any]]:
        """The backward pass as `chunk(a, b)` (returns the chunk's part of the scale
        gradient), and the q, k and v gradients it fills (None where not needed).

        With `transposed`, three arrays shaped like q, k and v with their last two
        axes swapped, the gradients are written there, each matrix transposed
        (BLAS writes them so directly; a caller keeping heads in that layout
        needs no transposing copy), and returned as swapped views.

        With `g_padded`, `g` has one more value per row than the output, which
        the chunk may overwrite (multi-head attention passes its heads' gradient
        so, heads last, with room for the D term that rides in the dp GEMM).
        """
        if self.squeeze:
            g = g[None]
            if transposed is not None:
                transposed = (transposed[0][None], transposed[1][None], transposed[2][None])
        need_scores = need_q or need_k or need_scale
        if transposed is None:
            gq = np.empty(self.q.shape, self.q.dtype) if need_q else None
            gk = np.empty(self.k.shape, self.k.dtype) if need_k else None
            gv = np.empty(self.v.shape, self.v.dtype) if need_v else None
        else:
            gq, gk, gv = (
                _swap(t) if need else None for t, need in zip(transposed, (need_q, need_k, need_v))
            )

        def chunk(a: int, b: int) -> float:
            z = self.z[a:b]
            gb_padded = g[a:b] if g_padded else None
            gb = g[a:b, ..., :-1] if g_padded else g[a:b]
            e = self.e[a:b]
            # The softmax backward subtracts each row's sum(dp * e) from dp =
            # z * dL/dP; as e @ v is out / z, that sum D is sum(g * out) * z over
            # the row's dv values (FlashAttention's D term), a pass over the
            # small (Tq, dv) arrays instead of the (Tq, Tv) scores. The output
            # must be as the forward pass left it, which the ops downstream keep.
            fold = need_scores and self.drop is None
            if fold:
                # Without dropout, -D rides in the GEMM that makes dp: gz gets
                # a column -D and v^T a row of ones, so the GEMM's (Tq, Tv)
                # output is dp - D. A broadcast subtraction over the scores
                # took 1.3 ms per Transformer benchmark step (one thread); the
                # extra column and the copy of v^T take about 0.15 ms.
                size = gb.shape[-1]
                g_out = _row_dots(gb, self._out[a:b])  # before g is scaled in place
                if gb_padded is None:
                    gz_ext = scratch("attention_gz", (*gb.shape[:-1], size + 1), e.dtype)
                    gz = np.multiply(gb, z[..., None], out=gz_ext[..., :size])
                else:
                    # All size + 1 columns at once, in g's own (heads last) layout:
                    # one flat pass (`_times_rows`) where writing the first size
                    # columns alone walks 16 values at a time. 16 items of the
                    # Transformer benchmark's shape, one thread: 160 -> 50 us.
                    gz_ext = _times_rows(gb_padded, z, gb_padded)
                    gz = gz_ext[..., :size]
                # -D, negated on its way into the strided column: NumPy 2.4's
                # in-place negative of a column 16 (float32) or 64 (float64) bytes
                # apart writes wrong values (value widths 3 and 7 here).
                np.multiply(g_out, z, out=g_out)
                np.negative(g_out, out=gz_ext[..., size])
                v_t = _swap(self.v[a:b])
                v_ext = scratch("attention_v", (*v_t.shape[:-2], size + 1, v_t.shape[-1]), e.dtype)
                v_ext[..., :size, :] = v_t
                v_ext[..., size, :] = 1
            else:
                # empty_like keeps gb's layout, heads last in multi-head attention.
                gz = _times_rows(gb, z, np.empty_like(gb, dtype=e.dtype))
            if gv is not None:
                if transposed is None:
                    np.matmul(_swap(self.ed[a:b]), gz, out=gv[a:b])
                else:
                    np.matmul(_swap(gz), self.ed[a:b], out=transposed[2][a:b])
            if not need_scores:
                return 0.0
            dp = scratch("attention_dp", e.shape, e.dtype)
            if fold:
                np.matmul(gz_ext, v_ext, out=dp)
            else:
                np.matmul(gz, _swap(self.v[a:b]), out=dp)
                if self.drop is not None:
                    # Dropout cancels in D alike, but multiplies dp before it.
                    dp *= self.drop[a:b]
                dp -= (_row_dots(gb, self._out[a:b]) * z)[..., None]
            dp *= e
            partial = 0.0
            if need_q or need_scale:
                if transposed is None:
                    dsk = dp @ self.k[a:b]
                else:
                    # dp @ k written straight into the transposed gradient, against a
                    # C-order copy of k (scaled, unless the scale's gradient needs
                    # dp @ k itself): BLAS reads k's transposed view, or a transposed
                    # dp, slowly. For 16 items of the Transformer benchmark's shape,
                    # one thread: 550 us as (k^T @ dp^T), 320 us copy included.
                    k = self.k[a:b]
                    k_c = scratch("attention_k_rows", k.shape, e.dtype)
                    if need_scale or self.sc == 1:
                        np.copyto(k_c, k)
                    else:
                        np.multiply(k, self.sc, out=k_c)
                    dsk = np.matmul(dp, k_c, out=_swap(transposed[0][a:b]))
                if need_scale:
                    partial = float(_row_dots(self.q[a:b], dsk).sum())
                if gq is not None and (transposed is None or need_scale):
                    np.multiply(dsk, self.sc, out=gq[a:b])
            if gk is not None:
                if transposed is None:
                    np.matmul(_swap(dp), self.qs[a:b], out=gk[a:b])
                else:
                    np.matmul(_swap(self.qs[a:b]), dp, out=transposed[1][a:b])
            return partial

        grads = [None if x is None else (x[0] if self.squeeze else x) for x in (gq, gk, gv)]
        return chunk, grads


def multi_head_self_attention(
    x: Any,
    query_kernel: Any,
    query_bias: Any,
    key_kernel: Any,
    key_bias: Any,
    value_kernel: Any,
    value_bias: Any,
    mask: Any = None,
    scale: float | None = None,
    dropout_rate: float = 0.0,
    seed_generator: SeedGenerator | None = None,
    output_kernel: Any = None,
    output_bias: Any = None,
) -> Tensor:
    """Self-attention heads: project `x` to queries, keys and values and attend, as one op.

    The three projections share one GEMM each way (their kernels side by side),
    which `MultiHeadAttention` uses when query, key and value are one tensor.
    With `output_kernel`, the heads are also projected to the output, chunk by
    chunk while they are in cache, as `projection(heads, output_kernel,
    output_bias, 2)` would: no second op, and no second hand-off to the threads
    each way.

    Args:
        x: `(..., T, dim)`.
        query_kernel, key_kernel: `(dim, heads, key_dim)`.
        value_kernel: `(dim, heads, value_dim)`.
        query_bias, key_bias, value_bias: `(heads, size)` biases, or None.
        mask: optional boolean array broadcastable to `(..., heads, T, T)`.
        scale: the score factor; `1 / sqrt(key_dim)` when None.
        dropout_rate: the fraction of attention probabilities dropped.
        seed_generator: where the dropout draws come from.
        output_kernel: optional `(heads, value_dim, *out)` output projection.
        output_bias: its optional bias, of shape `out` (only with `output_kernel`).

    Returns:
        The attended values per head, `(..., T, heads, value_dim)`, or with
        `output_kernel` their projection, `(..., T, *out)`.

    Example:
        >>> x, w, b = np.ones((2, 5, 8)), np.ones((8, 2, 4)), np.zeros((2, 4))
        >>> multi_head_self_attention(x, w, b, w, b, w, b).shape
        (2, 5, 2, 4)
    """
    _check_dropout(dropout_rate)
    a = _floating(x)
    kernels = [as_array(w) for w in (query_kernel, key_kernel, value_kernel)]
    biases = [None if b is None else as_array(b) for b in (query_bias, key_bias, value_bias)]
    dim = a.shape[-1]
    heads, key_dim, value_dim = kernels[0].shape[1], kernels[0].shape[2], kernels[2].shape[2]
    if output_kernel is None and output_bias is not None:
        raise ValueError("multi_head_self_attention: output_bias needs an output_kernel.")
    w_out = None if output_kernel is None else as_array(output_kernel)
    b_out = None if output_bias is None else as_array(output_bias)
    if w_out is not None and w_out.shape[:2] != (heads, value_dim):
        raise ValueError(
            f"multi_head_self_attention: output_kernel must start with (heads, value_dim) = "
            f"({heads}, {value_dim}), got shape {w_out.shape}."
        )
    out_dims = () if w_out is None else w_out.shape[2:]
    n_out = math.prod(out_dims)
    if b_out is not None and b_out.shape != out_dims:
        raise ValueError(
            f"multi_head_self_attention: output_bias must have shape {out_dims}, got {b_out.shape}."
        )
    widths = [heads * key_dim, heads * key_dim, heads * value_dim]
    # The kernels side by side, transposed: (total, dim) in C order. BLAS reads
    # it as the projections' left factor, and as the input gradient's right
    # one faster than a transposed view (16 items of the Transformer
    # benchmark's shape, one thread: 660 -> 570 us).
    w_all_t = np.concatenate([w.reshape(dim, -1).T for w in kernels], axis=0)
    steps = a.shape[-2]
    # An unbatched input runs as a batch of one, so that the attention's first
    # axis is always the batch (the chunks follow it) and never the heads.
    batch = a.shape[:-2] or (1,)
    a3 = a.reshape(-1, steps, dim)
    total = sum(widths)
    # The projections computed transposed, (n, heads * size, T) per item: every
    # head's q, k and v is then a contiguous (size, T) block, which the batched
    # attention GEMMs read as a transposed matrix for free, where the usual
    # (T, heads * size) rows would need a transposing copy of each.
    y_t = np.empty((len(a3), total, steps), np.result_type(a3, w_all_t))
    bias_all = None
    if any(b is not None for b in biases):
        column = np.concatenate(
            [np.zeros(n, y_t.dtype) if b is None else b.reshape(-1) for b, n in zip(biases, widths)]
        )[:, None]
        # Spread over the steps once: added as a (total, T) block the sum is one
        # flat pass per item; as a column NumPy adds it one row of T at a time
        # (16 items of the Transformer benchmark's shape, one thread: 95 -> 44 us).
        bias_all = np.ascontiguousarray(np.broadcast_to(column, (total, steps)))
    starts = np.cumsum([0, *widths])
    sizes = (key_dim, key_dim, value_dim)

    def head_blocks(block_t: np.ndarray, i: int) -> np.ndarray:
        # (n, heads * size, T) rows of block i -> (*batch, heads, size, T), a view.
        return block_t[:, starts[i] : starts[i + 1]].reshape(*batch, heads, sizes[i], steps)

    q, k, v = (_swap(head_blocks(y_t, i)) for i in range(3))
    scale_value = 1.0 / math.sqrt(key_dim) if scale is None else float(scale)
    # The score scale rides in the query projection (its kernel and bias rows
    # scaled here, their gradients by the same factor in the backward pass):
    # the attention then runs with a scale of one and never forms scaled
    # queries, a pass over them each way. With the usual 1 / sqrt(key_dim), a
    # power of two for key_dim 4, 16 or 64, the results are the same bit for bit.
    w_all_t[: widths[0]] *= scale_value
    if bias_all is not None:
        bias_all[: widths[0]] *= scale_value
    out = np.empty((*batch, steps, heads, value_dim), y_t.dtype)
    core = _AttentionCore(
        q, k, v, mask, 1.0, dropout_rate, seed_generator,
        out=np.swapaxes(out, -2, -3), run=False,
    )  # fmt: skip
    # The core chunks its first batch axis; each of its items is `inner` rows of a3.
    inner = math.prod(batch[1:])
    items = len(core.e)
    per_item = core.bytes_per_item + inner * total * steps * y_t.dtype.itemsize
    projection_flops = 2.0 * y_t.size * dim
    # The output projection, on (rows * T, heads * value_dim) blocks of the heads.
    heads2 = out.reshape(-1, heads * value_dim)
    w_out2 = None if w_out is None else w_out.reshape(heads * value_dim, n_out)
    b_out2 = None if b_out is None else b_out.reshape(n_out)
    y2 = None if w_out is None else np.empty((len(heads2), n_out), np.result_type(heads2, w_out2))
    if w_out2 is not None:
        projection_flops += 2.0 * heads2.size * n_out

    def span(lo: int, hi: int) -> slice:
        # The rows of the (rows * T, ...) blocks that items lo:hi cover.
        return slice(lo * inner * steps, hi * inner * steps)

    # Each chunk projects its own rows and attends at once, in cache and on its own
    # thread: the per-item projection GEMMs are as small as the attention's.
    def forward(lo: int, hi: int) -> None:
        rows = slice(lo * inner, hi * inner)
        np.matmul(w_all_t, _swap(a3[rows]), out=y_t[rows])
        if bias_all is not None:
            y_t[rows] += bias_all
        core.forward(lo, hi)
        if y2 is not None:
            dense_block(heads2[span(lo, hi)], w_out2, b_out2, False, y2[span(lo, hi)])

    map_chunks_split(forward, items, per_item, core.flops + projection_flops)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        dy_t = np.empty((len(a3), total, steps), y_t.dtype)
        need_wo = w_out is not None and n[7]
        need_bo = b_out is not None and n[8]
        g2 = None
        padded = w_out is not None
        if not padded:
            g_heads = g.reshape(out.shape)
        else:
            # The heads' gradient, filled chunk by chunk before each chunk attends
            # back, with a spare column per head (`backward_chunks`' g_padded):
            # the output kernel, transposed, gets a zero column there.
            g2 = g.reshape(-1, n_out)
            g_heads = np.empty((*out.shape[:-1], value_dim + 1), y_t.dtype)
            w_out_t = np.zeros((n_out, heads, value_dim + 1), w_out2.dtype)
            w_out_t[..., :value_dim] = w_out2.T.reshape(n_out, heads, value_dim)
            w_out_t = w_out_t.reshape(n_out, -1)
        attend_back, _ = core.backward_chunks(
            np.swapaxes(g_heads, -2, -3), True, True, True,
            transposed=(head_blocks(dy_t, 0), head_blocks(dy_t, 1), head_blocks(dy_t, 2)),
            g_padded=padded,
        )  # fmt: skip
        gx = np.empty(a3.shape, y_t.dtype) if n[0] else None
        need_w, need_b = any(n[1:7:2]), any(n[2:7:2])

        def backward(lo: int, hi: int) -> tuple[Any, ...]:
            gwo = gbo = None
            if g2 is not None:
                r = span(lo, hi)
                np.matmul(g2[r], w_out_t, out=g_heads.reshape(-1, w_out_t.shape[1])[r])
                gwo, gbo = dense_block_grads(heads2[r], w_out2, g2[r], None, need_wo, need_bo)
            attend_back(lo, hi)
            rows = slice(lo * inner, hi * inner)
            if gx is not None:
                np.matmul(_swap(dy_t[rows]), w_all_t, out=gx[rows])
            gw = np.matmul(dy_t[rows], a3[rows]).sum(axis=0) if need_w else None
            gb = np.einsum("njt->j", dy_t[rows]) if need_b else None
            return gw, gb, gwo, gbo

        parts = map_chunks_split(backward, items, per_item, 2 * (core.flops + projection_flops))
        gw_all = sum(part[0] for part in parts).T if need_w else None
        gb_all = sum(part[1] for part in parts) if need_b else None
        # The query projection ran with its weights scaled: so are their gradients.
        if gw_all is not None:
            gw_all[:, : widths[0]] *= scale_value
        if gb_all is not None:
            gb_all[: widths[0]] *= scale_value
        grads: list[Any] = [None if gx is None else gx.reshape(a.shape)]
        for i, (w, b) in enumerate(zip(kernels, biases)):
            lo, hi = starts[i], starts[i + 1]
            grads.append(gw_all[:, lo:hi].reshape(w.shape) if n[1 + 2 * i] else None)
            grads.append(gb_all[lo:hi].reshape(b.shape) if n[2 + 2 * i] else None)
        if w_out is not None:
            grads.append(sum(part[2] for part in parts).reshape(w_out.shape) if need_wo else None)
            if b_out is not None:
                grads.append(
                    sum(part[3] for part in parts).reshape(b_out.shape) if need_bo else None
                )
        return tuple(grads)

    parents: tuple[Any, ...] = (
        x, query_kernel, query_bias, key_kernel, key_bias, value_kernel, value_bias,
    )  # fmt: skip
    if w_out is None:
        return record(out.reshape(*a.shape[:-2], *out.shape[-3:]), parents, vjp)
    parents = (*parents, output_kernel) if b_out is None else (*parents, output_kernel, output_bias)
    return record(y2.reshape(*a.shape[:-1], *out_dims), parents, vjp)


def attention_from_scores(
    scores: Any,
    value: Any,
    mask: Any = None,
    dropout_rate: float = 0.0,
    seed_generator: SeedGenerator | None = None,
) -> Tensor:
    """`dropout(softmax(scores, masked)) @ value` as one fused op.

    Args:
        scores: `(..., Tq, Tv)` attention logits.
        value: `(..., Tv, dv)`.
        mask: optional boolean array broadcastable to `(..., Tq, Tv)`.
        dropout_rate: the fraction of attention probabilities dropped.
        seed_generator: where the dropout draws come from.

    Returns:
        `(..., Tq, dv)`.

    Example:
        >>> scores, value = np.zeros((1, 2, 3), "float32"), np.ones((1, 3, 4), "float32")
        >>> attention_from_scores(scores, value).shape
        (1, 2, 4)
    """
    _check_dropout(dropout_rate)
    s0, v = _floating(scores), _floating(value)
    dtype = np.result_type(s0, v)
    s = s0.astype(dtype, copy=True)
    p = _softmax_rows(_add_bias(s, mask_bias(mask, dtype)))
    drop = None
    pd = p
    if dropout_rate > 0:
        drop = _dropout_scale(p.shape, dropout_rate, dtype, seed_generator)
        pd = p * drop
    out = pd @ v

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, Any]:
        gs = gv = None
        if n[1]:
            gv = unbroadcast(_swap(pd) @ g, v.shape)
        if n[0]:
            dp = g @ _swap(v)
            if drop is not None:
                dp *= drop
            gs = unbroadcast(_softmax_rows_backward(p, dp), s0.shape)
        return gs, gv

    return record(out, (scores, value), vjp)


def masked_softmax(scores: Any, mask: Any = None) -> Tensor:
    """Softmax over the last axis after lowering masked scores by 1e9, as Keras does.

    Args:
        scores: attention logits `(..., Tq, Tv)`.
        mask: optional boolean array broadcastable to the scores.

    Example:
        >>> masked_softmax(np.zeros((1, 2), "float32"), np.array([[True, False]])).numpy()
        array([[1., 0.]], dtype=float32)
    """
    s0 = _floating(scores)
    p = _softmax_rows(_add_bias(s0.copy(), mask_bias(mask, s0.dtype)))

    def vjp(g: np.ndarray, n: tuple[bool]) -> tuple[np.ndarray]:
        return (unbroadcast(_softmax_rows_backward(p, g.copy()), s0.shape),)

    return record(p, (scores,), vjp)


def dropout_scale(
    shape: tuple[int, ...], rate: float, dtype: Any, seed_generator: SeedGenerator | None = None
) -> np.ndarray:
    """The inverted-dropout multiplier the fused ops use, for composing the same dropout by hand.

    Args:
        shape: the shape of the probabilities.
        rate: the fraction dropped, in [0, 1).
        dtype: the float dtype.
        seed_generator: where the draws come from.

    Example:
        >>> set(dropout_scale((100,), 0.5, "float32", SeedGenerator(0)).tolist()) == {0.0, 2.0}
        True
    """
    _check_dropout(rate)
    return _dropout_scale(tuple(shape), rate, np.dtype(dtype), seed_generator)


def additive_attention_scores(
    query: Any, key: Any, inner_scale: Any = None, outer_scale: Any = None
) -> Tensor:
    """Additive (Bahdanau) scores `sum(outer * tanh(inner * (q_i + k_j)), -1)` as one fused op.

    Args:
        query: `(..., Tq, d)`.
        key: `(..., Tv, d)`.
        inner_scale: None or a scalar multiplying `q_i + k_j` inside the tanh.
        outer_scale: None, a scalar, or a `(d,)` vector weighting the tanh terms.

    Returns:
        Scores of shape `(..., Tq, Tv)`.

    Example:
        >>> additive_attention_scores(np.zeros((1, 2, 3)), np.zeros((1, 4, 3))).shape
        (1, 2, 4)
    """
    q, k = _floating(query), _floating(key)
    dtype = np.result_type(q, k)
    inner = None if inner_scale is None else np.asarray(as_array(inner_scale))
    outer = None if outer_scale is None else np.asarray(as_array(outer_scale))
    z = q[..., :, None, :] + k[..., None, :, :]
    t = np.tanh(z * inner.astype(dtype) if inner is not None else z)
    if outer is None:
        out = t.sum(axis=-1)
    elif outer.ndim == 0:
        out = t.sum(axis=-1) * outer.astype(dtype)
    else:
        out = t @ outer.astype(dtype)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        g_inner = g_outer = gq = gk = None
        if outer is None:
            dt = np.broadcast_to(g[..., None], t.shape)
        elif outer.ndim == 0:
            dt = np.broadcast_to((g * outer)[..., None], t.shape)
        else:
            dt = g[..., None] * outer
        du = dt * (1 - t * t)
        if len(n) > 3 and n[3]:
            if outer.ndim == 0:
                g_outer = np.asarray((g * t.sum(axis=-1)).sum(), dtype=outer.dtype)
            else:
                g_outer = np.tensordot(g, t, axes=g.ndim).astype(outer.dtype)
        if len(n) > 2 and n[2]:
            g_inner = np.asarray((du * z).sum(), dtype=inner.dtype)
        if n[0] or n[1]:
            dz = du * inner if inner is not None else du
            if n[0]:
                gq = unbroadcast(dz.sum(axis=-2), q.shape)
            if n[1]:
                gk = unbroadcast(dz.sum(axis=-3), k.shape)
        return gq, gk, g_inner, g_outer

    parents: tuple[Any, ...] = (query, key)
    if inner_scale is not None or outer_scale is not None:
        parents = (*parents, inner_scale)
    if outer_scale is not None:
        parents = (*parents, outer_scale)
    return record(out, parents, vjp)


def projection(x: Any, kernel: Any, bias: Any = None, contract_dims: int = 1) -> Tensor:
    """Contract the last `contract_dims` axes of `x` with the first ones of `kernel`, add `bias`.

    The einsum-dense projections of multi-head attention (`"abc,cde->abde"`
    and `"abcd,cde->abe"`) as one GEMM each way.

    Args:
        x: `(..., *contracted)`.
        kernel: `(*contracted, *out)`.
        bias: optional, of shape `out`.
        contract_dims: how many trailing axes of `x` are contracted.

    Returns:
        `(..., *out)`.

    Example:
        >>> projection(np.ones((2, 5, 8)), np.ones((8, 4, 3))).shape
        (2, 5, 4, 3)
    """
    a, w = as_array(x), as_array(kernel)
    b = None if bias is None else as_array(bias)
    lead = a.shape[: a.ndim - contract_dims]
    out_dims = w.shape[contract_dims:]
    n_in = math.prod(w.shape[:contract_dims])
    n_out = math.prod(out_dims)
    if a.shape[a.ndim - contract_dims :] != w.shape[:contract_dims]:
        raise ValueError(
            f"projection: the last {contract_dims} axes of an input of shape {a.shape} must "
            f"match the first axes of a kernel of shape {w.shape}."
        )
    a2 = a.reshape(-1, n_in)
    w2 = w.reshape(n_in, n_out)
    out = matmul_rows(a2, w2, None if b is None else b.reshape(n_out))

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        g2 = g.reshape(-1, n_out)
        need_b = len(n) > 2 and n[2]
        gx2, gw, gb = matmul_rows_grads(a2, w2, g2, n[0], n[1], need_b)
        return (
            None if gx2 is None else gx2.reshape(a.shape),
            None if gw is None else gw.reshape(w.shape),
            None if gb is None else gb.reshape(b.shape),
        )

    parents = (x, kernel) if bias is None else (x, kernel, bias)
    return record(out.reshape(*lead, *out_dims), parents, vjp)


__all__ = [
    "additive_attention_scores",
    "attention_from_scores",
    "causal_mask",
    "dropout_scale",
    "mask_bias",
    "masked_softmax",
    "multi_head_self_attention",
    "projection",
    "scaled_dot_product_attention",
]
