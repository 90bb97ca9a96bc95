"""Fused normalization ops: batch, layer, group and unit normalization.

Each op is one tape entry whose backward is written out by hand, so a
normalization layer costs a few vectorised passes over its input instead of a
dozen small ops. Arrays keep their float dtype (float32 stays float32); the
per-feature statistics are tiny and cost nothing next to the input.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend import config
from engine.backend.config import floatx
from engine.backend.tensor import Tensor
from engine.ops.batch_parallel import map_chunks, scratch
from engine.ops.core import as_array, record

__all__ = [
    "add_layer_normalization",
    "batch_normalization",
    "fused_batch_norm",
    "group_normalization",
    "layer_normalization",
    "unit_normalization",
]


def _floating(x: Any) -> np.ndarray:
    """The array behind `x`, as floatx when it holds integers or booleans."""
    a = as_array(x)
    if not isinstance(a, np.ndarray):
        a = np.asarray(a)
    if a.dtype.kind != "f":
        a = a.astype(floatx())
    return a


def _param(p: Any, dtype: np.dtype) -> np.ndarray | None:
    """A parameter's array in the input's dtype (None stays None)."""
    if p is None:
        return None
    a = as_array(p)
    if not isinstance(a, np.ndarray) or a.dtype != dtype:
        a = np.asarray(a, dtype=dtype)
    return a


# An element-wise pass over one element costs about as much time as this many
# GEMM flops: the unit `map_chunks` uses to judge when threads pay off.
_FLOPS_PER_ELEMENT = 8


@functools.lru_cache(maxsize=64)
def _ones(n: int, dtype: str) -> np.ndarray:
    ones = np.ones(n, dtype=dtype)
    ones.flags.writeable = False
    return ones


def _sum_middle(a: np.ndarray, p: int, pre: int, c: int, post: int) -> np.ndarray:
    """Sums of `a`, viewed as `(p, pre, c, post)`, over `pre` and `post`: shape `(p, c)`.

    Each sum is a product with a vector of ones, so BLAS does it on every core;
    NumPy's own reductions across rows run on one core several times slower
    (and in float32 also less accurately).
    """
    dt = a.dtype.str
    if post > 1:
        a = a.reshape(-1, post) @ _ones(post, dt)
    if pre == 1:
        # Nothing was summed when post == 1 either: copy, callers may reuse `a`.
        return a.reshape(p, c) if post > 1 else a.reshape(p, c).copy()
    if p == 1:
        return (_ones(pre, dt) @ a.reshape(pre, c)).reshape(1, c)
    return np.matmul(_ones(pre, dt).reshape(1, pre), a.reshape(p, pre, c)).reshape(p, c)


class _FeatureAxis:
    """The input seen as `(pre, C, post)` around one feature axis of size C."""

    def __init__(self, shape: tuple[int, ...], axis: int, what: str) -> None:
        ndim = len(shape)
        if not -ndim <= axis < ndim:
            raise ValueError(
                f"{what}: axis {axis} is out of range for inputs of shape {shape}; "
                f"use an axis in [-{ndim}, {ndim - 1}]."
            )
        self.axis = axis % ndim
        self.size = shape[self.axis]
        self.pre = int(np.prod(shape[: self.axis]))
        self.post = int(np.prod(shape[self.axis + 1 :]))
        self.count = self.pre * self.post
        self.reduce = tuple(i for i in range(ndim) if i != self.axis)
        self.bshape = tuple(self.size if i == self.axis else 1 for i in range(ndim))

    def sum(self, a: np.ndarray) -> np.ndarray:
        """Sum of `a` (input-shaped) over the non-feature axes, in broadcast shape."""
        return _sum_middle(a, 1, self.pre, self.size, self.post).reshape(self.bshape)

    def channel(self, p: np.ndarray | None, name: str) -> np.ndarray | None:
        """A per-feature vector of shape `(C,)` reshaped to broadcast against the input."""
        if p is None:
            return None
        if p.shape != (self.size,):
            raise ValueError(
                f"{name} must have shape ({self.size},), one value per feature on axis "
                f"{self.axis}, got shape {p.shape}."
            )
        return p.reshape(self.bshape)


def _total(parts: list[Any], size: int, dtype: np.dtype) -> np.ndarray:
    """The sum of per-chunk partial sums of length `size` (zeros when there is no chunk)."""
    out = np.zeros(size, dtype)
    for part in parts:
        out += part
    return out


def _parallel(fn: Any, items: int, item_bytes: int, elements: int, passes: int) -> list[Any]:
    """Run `fn(start, stop)` over cache-sized chunks of `items`, on the thread pool when large."""
    if items == 0:
        return []
    return map_chunks(fn, items, max(1, item_bytes), _FLOPS_PER_ELEMENT * passes * elements)


def _channel_standardize(
    a: np.ndarray,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    epsilon: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """Batch norm of `a`, viewed as `(rows, C, post)`: statistics per channel over rows and post.

    Two passes over chunks of rows: the first gathers each chunk's mean and sum
    of squared deviations (combined exactly, as in Chan et al.'s parallel
    variance) without writing anything large; the second writes the normalized
    values and the output, each chunk staying in cache.

    Returns:
        `(out, mean, var, backward)` with `(C,)` statistics and
        `backward(g, need_x, need_gamma, need_beta) -> (gx, ggamma, gbeta)`.
    """
    rows, c, post = a.shape
    dt = a.dtype
    item = 3 * c * post * dt.itemsize

    def moments(r0: int, r1: int) -> tuple[int, np.ndarray, np.ndarray]:
        block = a[r0:r1]
        n = r1 - r0
        m = _sum_middle(block, 1, n, c, post)[0] / (n * post)
        dev = scratch("normalization_a", block.shape, dt)
        np.subtract(block, m[:, None], out=dev)
        np.square(dev, out=dev)
        return n * post, m, _sum_middle(dev, 1, n, c, post)[0]

    parts = _parallel(moments, rows, item, a.size, 3)
    count = rows * post
    mean = _total([n * m for n, m, _ in parts], c, dt) / count
    var = _total([m2 + n * np.square(m - mean) for n, m, m2 in parts], c, dt) / count
    inv = 1 / np.sqrt(var + epsilon)
    mean_b, inv_b = mean[:, None], inv[:, None]
    gamma_b = None if gamma is None else gamma[:, None]
    beta_b = None if beta is None else beta[:, None]
    xhat = np.empty_like(a)
    out = np.empty_like(a)

    def normalize(r0: int, r1: int) -> None:
        xb, ob = xhat[r0:r1], out[r0:r1]
        np.subtract(a[r0:r1], mean_b, out=xb)
        xb *= inv_b
        np.multiply(xb, 1 if gamma_b is None else gamma_b, out=ob)
        if beta_b is not None:
            ob += beta_b

    _parallel(normalize, rows, item, a.size, 4)
    factor = inv_b if gamma_b is None else inv_b * gamma_b

    def backward(g: np.ndarray, need_x: bool, need_gamma: bool, need_beta: bool) -> tuple:
        def sums(r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
            gb = g[r0:r1]
            t = scratch("normalization_a", gb.shape, dt)
            np.multiply(gb, xhat[r0:r1], out=t)
            n = r1 - r0
            return _sum_middle(gb, 1, n, c, post)[0], _sum_middle(t, 1, n, c, post)[0]

        parts = _parallel(sums, rows, item, g.size, 2)
        gbeta = _total([s for s, _ in parts], c, dt)
        ggamma = _total([s for _, s in parts], c, dt)
        gx = None
        if need_x:
            gx = np.empty_like(g)
            proj, shift = (ggamma / count)[:, None], (gbeta / count)[:, None]

            def input_grad(r0: int, r1: int) -> None:
                # g minus the parts of it explained by the batch mean and by
                # the batch variance; gamma factors out of the whole bracket.
                gxb = gx[r0:r1]
                np.multiply(xhat[r0:r1], proj, out=gxb)
                np.subtract(g[r0:r1], gxb, out=gxb)
                gxb -= shift
                gxb *= factor

            _parallel(input_grad, rows, item, g.size, 4)
        return (
            gx,
            ggamma if need_gamma and gamma is not None else None,
            gbeta if need_beta and beta is not None else None,
        )

    return out, mean, var, backward


def _grouped_standardize(
    a: np.ndarray,
    groups: int,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    epsilon: float,
) -> tuple[np.ndarray, Any]:
    """Group norm of `a`, viewed as `(samples, pre, C, post)`, in chunks of samples.

    The statistics of group j of a sample are over `pre`, `post` and the
    group's `C // groups` channels; `gamma` and `beta` are per channel.

    Returns:
        `(out, backward)` with `backward(g, need_x, need_gamma, need_beta) ->
        (gx, ggamma, gbeta)`.
    """
    samples, pre, c, post = a.shape
    dt = a.dtype
    cg = c // groups
    count = pre * post * cg
    item = 3 * a[:1].size * dt.itemsize
    gamma_b = None if gamma is None else gamma.reshape(1, 1, c, 1)
    beta_b = None if beta is None else beta.reshape(1, 1, c, 1)
    xhat = np.empty_like(a)
    out = np.empty_like(a)
    inv = np.empty((samples, groups), dt)

    def group_sums(t: np.ndarray) -> np.ndarray:
        return t if cg == 1 else t.reshape(len(t), groups, cg).sum(axis=2)

    def spread(v: np.ndarray) -> np.ndarray:
        return (v if cg == 1 else np.repeat(v, cg, axis=1)).reshape(len(v), 1, c, 1)

    def forward(s0: int, s1: int) -> None:
        block, xb, ob = a[s0:s1], xhat[s0:s1], out[s0:s1]
        n = s1 - s0
        np.subtract(block, spread(group_sums(_sum_middle(block, n, pre, c, post)) / count), out=xb)
        np.square(xb, out=ob)
        ib = 1 / np.sqrt(group_sums(_sum_middle(ob, n, pre, c, post)) / count + epsilon)
        inv[s0:s1] = ib
        xb *= spread(ib)
        np.multiply(xb, 1 if gamma_b is None else gamma_b, out=ob)
        if beta_b is not None:
            ob += beta_b

    _parallel(forward, samples, item, a.size, 6)

    def backward(g: np.ndarray, need_x: bool, need_gamma: bool, need_beta: bool) -> tuple:
        gx = np.empty_like(g) if need_x else None

        def work(s0: int, s1: int) -> tuple[np.ndarray, np.ndarray]:
            gb, xb = g[s0:s1], xhat[s0:s1]
            n = s1 - s0
            t = scratch("normalization_a", gb.shape, dt)
            np.multiply(gb, xb, out=t)
            g_sums = _sum_middle(gb, n, pre, c, post)
            t_sums = _sum_middle(t, n, pre, c, post)
            if need_x:
                # Per group: g * gamma minus its group mean and its projection on xhat.
                gs_sums = g_sums if gamma is None else g_sums * gamma
                gsx_sums = t_sums if gamma is None else t_sums * gamma
                np.multiply(xb, spread(group_sums(gsx_sums) / count), out=t)
                gxb = gx[s0:s1]
                np.multiply(gb, 1 if gamma_b is None else gamma_b, out=gxb)
                gxb -= t
                gxb -= spread(group_sums(gs_sums) / count)
                gxb *= spread(inv[s0:s1])
            return t_sums.sum(axis=0), g_sums.sum(axis=0)

        parts = _parallel(work, samples, item, g.size, 6 if need_x else 2)
        return (
            gx,
            _total([t for t, _ in parts], c, dt) if need_gamma and gamma is not None else None,
            _total([s for _, s in parts], c, dt) if need_beta and beta is not None else None,
        )

    return out, backward


class _Spread:
    """Per-row values spread over `(rows, K)` blocks by BLAS: `u[:, None] * v` as one GEMM.

    NumPy broadcasts a column over short rows (a LayerNormalization's 64
    features) at about 2.5 times the cost of a flat element-wise pass, and a
    row over many short rows almost as slowly; BLAS writes the same rank-one
    product, with its inner size padded to 2 by a zero, in about 0.7 of a flat
    pass. Adding the zero term leaves every product exact, so the result equals
    NumPy's broadcast (bit for bit, except that a product of -0.0 comes out
    as +0.0). Measured on one thread at the Transformer
    benchmark's shape (6400 rows of 64): a (3200, 64) column broadcast 52 us,
    a flat pass 21 us, this 14 us; a layer norm's forward and backward passes
    went from 1.41 to 0.97 ms.
    """

    def __init__(self, k: int, dt: np.dtype) -> None:
        self.k, self.dt = k, dt

    def row(self, v: np.ndarray | None) -> np.ndarray:
        """`v` (ones when None) stacked on a row of zeros: the right factor of `fill`."""
        right = np.zeros((2, self.k), self.dt)
        right[0] = 1 if v is None else v
        return right

    def fill(self, u: np.ndarray, right: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write `u[:, None] * right[0]` to `out`, a C-contiguous `(len(u), K)` array."""
        left = scratch("normalization_spread", (len(u), 2), self.dt)
        left[:, 0] = u
        left[:, 1] = 0
        return np.matmul(left, right, out=out)


class _RowNorm:
    """Normalize each row of a `(rows, K)` array, with `(K,)` gamma and beta, one block
    of rows at a time: `forward(r0, r1)` and `backward_rows(...)` are the per-chunk
    passes, which `_row_standardize` spreads over the threads and fused ops (see
    `engine.ops.linalg.residual_feed_forward`) call inside their own chunks.

    With `rms_scaling` the output is Keras's `x * rsqrt(var(x) + epsilon) * gamma`:
    scaled by the variance, not centered.

    With `addends` (arrays shaped like `a`, not with `rms_scaling`) the rows
    normalized are those of `a + addends[0] + ...`, summed chunk by chunk in
    that order (as `Add` sums, so the results are the same) while each chunk
    is in cache: no separate sum is written to memory and read back. With
    `residual`, the one addend is the caller's: it writes each chunk's rows
    into `centered[r0:r1]` before calling `forward(r0, r1)` (no array of its
    own for them; the sum overwrites them in place).

    Every per-row factor is spread over the block by `_Spread` and applied by
    a flat element-wise pass, and beta is added over wide rows of it repeated;
    row sums are GEMVs. The backward pass keeps the centered rows and
    `inv = 1 / sqrt(var + epsilon)`, never the normalized rows: `sum(g * xhat)`
    is `inv @ (g * centered)`.
    """

    def __init__(
        self,
        a: np.ndarray,
        gamma: np.ndarray | None,
        beta: np.ndarray | None,
        epsilon: float,
        rms_scaling: bool,
        addends: Sequence[np.ndarray] = (),
        residual: bool = False,
    ) -> None:
        if (addends or residual) and rms_scaling:
            raise ValueError("_RowNorm sums addends only without rms_scaling.")
        rows, k = a.shape
        dt = a.dtype
        self.a, self.k, self.dt = a, k, dt
        self.gamma, self.epsilon, self.rms_scaling = gamma, epsilon, rms_scaling
        self.ones_k = _ones(k, dt.str)
        self.weights = self.ones_k if gamma is None else gamma
        # Scratch memory per row of a chunk, forward or backward.
        self.item_bytes = (4 + len(addends)) * k * dt.itemsize
        self.spread = _Spread(k, dt)
        self.ones_row, self.gamma_row = self.spread.row(None), self.spread.row(gamma)
        # beta is added over rows about 1024 values wide, `beta` repeated: NumPy
        # broadcasts a row over short rows one short inner loop at a time. A
        # (3200, 64) block took 19 us so, 26 us broadcast, 41 us spread and added.
        self.repeats = max(1, 1024 // k)
        self.beta_tile = None if beta is None else np.tile(beta, self.repeats)
        # C order whatever the input's: `_Spread.fill` writes rows of these.
        self.centered = np.empty(a.shape, dt)
        self.out = np.empty(a.shape, dt)
        self.inv = np.empty(rows, dt)
        self.addends = (self.centered,) if residual else tuple(addends)

    def forward(self, r0: int, r1: int) -> None:
        """Normalize rows `r0:r1` into `self.out`."""
        k, spread = self.k, self.spread
        block, cb, ob = self.a[r0:r1], self.centered[r0:r1], self.out[r0:r1]
        if self.addends:
            # The sum is centered in place below: np.subtract(cb, ob, out=cb).
            np.add(block, self.addends[0][r0:r1], out=cb)
            for more in self.addends[1:]:
                cb += more[r0:r1]
            block = cb
        spread.fill((block @ self.ones_k) / k, self.ones_row, ob)
        np.subtract(block, ob, out=cb)
        np.square(cb, out=ob)
        ib = 1 / np.sqrt((ob @ self.ones_k) / k + self.epsilon)
        self.inv[r0:r1] = ib
        # x * inv * gamma, or (x - mean) * inv * gamma (+ beta): inv * gamma spread first.
        spread.fill(ib, self.gamma_row, ob)
        ob *= block if self.rms_scaling else cb
        if self.beta_tile is not None:
            m = math.gcd(r1 - r0, self.repeats)
            ob.reshape(-1, m * k)[...] += self.beta_tile[: m * k]

    def backward_rows(
        self,
        g: np.ndarray,
        gx: np.ndarray | None,
        r0: int,
        r1: int,
        want_gamma: bool,
        want_beta: bool,
    ) -> tuple[Any, Any]:
        """Write rows `r0:r1` of the input gradient to `gx` (unless None) from those of
        `g`; return this block's gamma and beta gradients (None where not wanted)."""
        dt, k, spread = self.dt, self.k, self.spread
        gb, cb, ib = g[r0:r1], self.centered[r0:r1], self.inv[r0:r1]
        gbeta = _ones(r1 - r0, dt.str) @ gb if want_beta else None
        ggamma = None
        if not (gx is not None or want_gamma):
            return ggamma, gbeta
        t = scratch("normalization_a", gb.shape, dt)
        # g * x for rms_scaling (the output is x * inv * gamma), else g * (x - mean).
        np.multiply(gb, self.a[r0:r1] if self.rms_scaling else cb, out=t)
        if want_gamma:
            ggamma = ib @ t
        if gx is None:
            return ggamma, gbeta
        gxb = gx[r0:r1]
        # d out / d x = inv * gamma, less the terms through the mean (not with
        # rms_scaling) and through inv: d inv / dx = -inv**3 * (x - mean) / K.
        proj = (t @ self.weights) * (ib**3 / k)
        np.multiply(gb, spread.fill(ib, self.gamma_row, gxb), out=gxb)
        np.multiply(cb, spread.fill(proj, self.ones_row, t), out=t)
        gxb -= t
        if not self.rms_scaling:
            gxb -= spread.fill(ib * ((gb @ self.weights) / k), self.ones_row, t)
        return ggamma, gbeta


def _row_standardize(norm: _RowNorm) -> tuple[np.ndarray, Any]:
    """`norm`'s passes over every row, in chunks spread over the threads.

    Returns `(out, backward)` with `backward(g, need_x, need_gamma, need_beta)
    -> (gx, ggamma, gbeta)`.
    """
    a = norm.a
    rows, k = a.shape
    _parallel(norm.forward, rows, norm.item_bytes, a.size, 6)

    def backward(g: np.ndarray, need_x: bool, need_gamma: bool, need_beta: bool) -> tuple:
        want_gamma = need_gamma and norm.gamma is not None
        want_beta = need_beta and norm.beta_tile is not None
        gx = np.empty(g.shape, a.dtype) if need_x else None

        def work(r0: int, r1: int) -> tuple[Any, Any]:
            return norm.backward_rows(g, gx, r0, r1, want_gamma, want_beta)

        parts = _parallel(work, rows, norm.item_bytes, g.size, 6 if need_x else 2)
        return (
            gx,
            _total([p for p, _ in parts], k, a.dtype) if want_gamma else None,
            _total([p for _, p in parts], k, a.dtype) if want_beta else None,
        )

    return norm.out, backward


def batch_normalization(
    x: Any,
    mean: Any,
    variance: Any,
    axis: int,
    offset: Any = None,
    scale: Any = None,
    epsilon: float = 1e-3,
) -> Tensor:
    """Normalize `x` with given per-feature statistics, as `keras.ops.batch_normalization`.

    Computes `(x - mean) / sqrt(variance + epsilon) * scale + offset` with the
    per-feature vectors broadcast along `axis`; it is what BatchNormalization
    runs in inference mode, with its moving statistics. Gradients flow to
    every argument that is tracked.

    Args:
        x: input tensor.
        mean: per-feature means, shape `(x.shape[axis],)`.
        variance: per-feature variances, same shape.
        axis: the feature axis.
        offset: optional per-feature offset (beta).
        scale: optional per-feature scale (gamma).
        epsilon: added to the variance before the square root.

    Example:
        >>> x = np.array([[0.0, 2.0], [2.0, 6.0]], "float32")
        >>> batch_normalization(x, np.array([1.0, 4.0]), np.array([1.0, 4.0]), axis=-1,
        ...                     epsilon=0.0).numpy()
        array([[-1., -1.],
               [ 1.,  1.]], dtype=float32)
    """
    a = _floating(x)
    dt = a.dtype
    ax = _FeatureAxis(a.shape, axis, "batch_normalization")
    # A copy: the statistics are often moving averages that a later training
    # call updates in place before this op's backward runs.
    mu = ax.channel(_param(mean, dt), "mean").copy()
    var = ax.channel(_param(variance, dt), "variance")
    beta = ax.channel(_param(offset, dt), "offset")
    gamma = ax.channel(_param(scale, dt), "scale")
    inv = 1 / np.sqrt(var + epsilon)
    mult = inv if gamma is None else inv * gamma
    shift = -mu * mult if beta is None else beta - mu * mult
    rows, item = ax.pre, 2 * a.size // max(ax.pre, 1) * dt.itemsize
    mult_c, shift_c = mult.reshape(-1, 1), shift.reshape(-1, 1)
    work = a.reshape(rows, ax.size, ax.post)
    out = np.empty_like(work)

    def forward(r0: int, r1: int) -> None:
        np.multiply(work[r0:r1], mult_c, out=out[r0:r1])
        out[r0:r1] += shift_c

    _parallel(forward, rows, item, a.size, 2)

    def input_grad(g: np.ndarray) -> np.ndarray:
        g = g.reshape(work.shape)
        gx = np.empty_like(g)
        _parallel(
            lambda r0, r1: np.multiply(g[r0:r1], mult_c, out=gx[r0:r1]), rows, item, g.size, 1
        )
        return gx.reshape(a.shape)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        gx = input_grad(g) if n[0] else None
        gsum = ax.sum(g) if n[1] or n[3] else None
        centered_sum = None
        if n[2] or n[4]:
            centered = a - mu
            centered *= g
            centered_sum = ax.sum(centered)
        gmean = (-gsum * mult).reshape(-1) if n[1] else None
        gvar = None
        if n[2]:
            gvar = -0.5 * centered_sum * inv**3
            if gamma is not None:
                gvar = gvar * gamma
            gvar = gvar.reshape(-1)
        gbeta = gsum.reshape(-1) if n[3] else None
        ggamma = (centered_sum * inv).reshape(-1) if n[4] else None
        return gx, gmean, gvar, gbeta, ggamma

    return record(out.reshape(a.shape), (x, mean, variance, offset, scale), vjp)


def fused_batch_norm(
    x: Any,
    scale: Any = None,
    offset: Any = None,
    axis: int = -1,
    epsilon: float = 1e-3,
    mask: Any = None,
) -> tuple[Tensor, np.ndarray, np.ndarray]:
    """Batch normalization in training mode: normalize with the batch's own statistics.

    The mean and the biased variance are taken over every axis but `axis`, the
    output is `(x - mean) / sqrt(var + epsilon) * scale + offset`, and the
    backward pass differentiates through the statistics, all in one tape entry.

    With a `mask` (one dimension less than `x`, True where a position counts),
    the statistics are Keras's weighted moments: sums over the masked positions
    divided by the mask's sum plus `engine.backend.epsilon()`.

    Args:
        x: input tensor.
        scale: optional per-feature scale (gamma), shape `(x.shape[axis],)`.
        offset: optional per-feature offset (beta), same shape.
        axis: the feature axis.
        epsilon: added to the variance before the square root.
        mask: optional mask of shape `x.shape[:-1]`.

    Returns:
        `(outputs, mean, variance)`: the normalized tensor and the batch
        statistics as plain `(C,)` arrays (for the moving averages; they are
        not differentiable outputs).

    Example:
        >>> y, mean, var = fused_batch_norm(np.array([[1.0], [3.0]], "float32"), epsilon=0.0)
        >>> y.numpy().ravel(), mean, var
        (array([-1.,  1.], dtype=float32), array([2.], dtype=float32), array([1.], dtype=float32))
    """
    a = _floating(x)
    dt = a.dtype
    ax = _FeatureAxis(a.shape, axis, "fused_batch_norm")
    g_arr, b_arr = _param(scale, dt), _param(offset, dt)
    gamma, beta = ax.channel(g_arr, "scale"), ax.channel(b_arr, "offset")
    if mask is not None:
        return _masked_batch_norm(x, a, ax, gamma, beta, scale, offset, epsilon, mask)

    if ax.count == 0:
        raise ValueError(
            f"fused_batch_norm needs at least one value per feature to take batch statistics "
            f"over, got inputs of shape {a.shape}."
        )
    work = a.reshape(ax.pre, ax.size, ax.post)
    out, mean, var, backward = _channel_standardize(work, g_arr, b_arr, epsilon)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        gx, ggamma, gbeta = backward(g.reshape(work.shape), n[0], n[1], n[2])
        return (None if gx is None else gx.reshape(a.shape), ggamma, gbeta)

    y = record(out.reshape(a.shape), (x, scale, offset), vjp)
    return y, mean.reshape(-1), var.reshape(-1)


def _masked_batch_norm(
    x: Any,
    a: np.ndarray,
    ax: _FeatureAxis,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    scale: Any,
    offset: Any,
    epsilon: float,
    mask: Any,
) -> tuple[Tensor, np.ndarray, np.ndarray]:
    m = np.asarray(as_array(mask))
    if m.ndim != a.ndim - 1:
        raise ValueError(
            f"The mask must have one dimension less than the inputs, got mask shape {m.shape} "
            f"for inputs of shape {a.shape}."
        )
    # Keras weighs each position by the mask broadcast over a new last axis
    # and divides by the mask's sum plus the fuzz factor.
    w = m.astype(a.dtype)[..., None]
    red = ax.reduce
    total = w.sum(axis=red, keepdims=True) + config.epsilon()
    wx = w * a
    mean = wx.sum(axis=red, keepdims=True) / total
    dev = wx - mean
    var = (w * np.square(dev)).sum(axis=red, keepdims=True) / total
    inv = 1 / np.sqrt(var + epsilon)
    xhat = a - mean
    xhat *= inv
    out = xhat if gamma is None else xhat * gamma
    if beta is not None:
        out = out + beta
    mult = inv if gamma is None else inv * gamma

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        gbeta = ax.sum(g)
        ggamma = ax.sum(g * xhat)
        gx = None
        if n[0]:
            gvar = -0.5 * ggamma * inv**2 * (1 if gamma is None else gamma)
            gmean = -gbeta * mult - 2 * gvar * (w * dev).sum(axis=red, keepdims=True) / total
            gx = g * mult
            gx += (2 * gvar / total) * (w * w * dev)
            gx += (gmean / total) * w
        return (
            gx,
            ggamma.reshape(-1) if n[1] else None,
            gbeta.reshape(-1) if n[2] else None,
        )

    y = record(out, (x, scale, offset), vjp)
    return y, mean.reshape(-1), var.reshape(-1)


def _normalized_axes(axis: int | Sequence[int], ndim: int, what: str) -> tuple[int, ...]:
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    for d in axes:
        if not -ndim <= d < ndim:
            raise ValueError(
                f"{what}: axis {d} is out of range for inputs of rank {ndim}; "
                f"use axes in [-{ndim}, {ndim - 1}]."
            )
    return tuple(sorted({int(d) % ndim for d in axes}))


def layer_normalization(
    x: Any,
    gamma: Any = None,
    beta: Any = None,
    axis: int | Sequence[int] = -1,
    epsilon: float | None = None,
    rms_scaling: bool = False,
) -> Tensor:
    """Normalize each sample over `axis`, as `keras.ops.layer_normalization`.

    Computes `(x - mean) / sqrt(var + epsilon) * gamma + beta` with the
    statistics over `axis` (biased variance). `gamma` and `beta` span the
    normalized axes (shape `x.shape[axis]` for each axis, in order). With
    `rms_scaling`, Keras's deprecated variant: `x * rsqrt(var + epsilon) * gamma`,
    no centering and no `beta`.

    Args:
        x: input tensor.
        gamma: optional scale over the normalized axes.
        beta: optional offset over the normalized axes.
        axis: the axis or axes to normalize over.
        epsilon: added to the variance; `engine.backend.epsilon()` when None.
        rms_scaling: use the variance-only scaling described above.

    Example:
        >>> layer_normalization(np.array([[1.0, 3.0]], "float32"), epsilon=0.0).numpy()
        array([[-1.,  1.]], dtype=float32)
    """
    return _layer_norm([x], gamma, beta, axis, epsilon, rms_scaling)


def add_layer_normalization(
    inputs: Sequence[Any],
    gamma: Any = None,
    beta: Any = None,
    axis: int | Sequence[int] = -1,
    epsilon: float | None = None,
) -> Tensor:
    """`layer_normalization(inputs[0] + inputs[1] + ...)` as one op: a residual block's
    `Add` then `LayerNormalization`.

    The sum is formed chunk by chunk inside the normalization, in the order
    `Add` sums, so the results equal the two layers' (bit for bit when the
    inputs share a shape and a float32 or float64 dtype and the normalized
    axes are the last ones); the full-size sum is never written to memory and
    read back, and every input gets the normalization's input gradient.
    Measured on the Transformer benchmark's shape ((64, 100, 64) float32,
    one thread): an Add took 280 us, this op's sum about 60 us of its pass.

    Args:
        inputs: two or more tensors of one shape.
        gamma, beta, axis, epsilon: as `layer_normalization`.

    Example:
        >>> a, b = np.array([[1.0, 2.0]], "float32"), np.array([[0.0, 1.0]], "float32")
        >>> add_layer_normalization([a, b], epsilon=0.0).numpy()
        array([[-1.,  1.]], dtype=float32)
    """
    inputs = list(inputs)
    if len(inputs) < 2:
        raise ValueError(
            f"add_layer_normalization sums two or more inputs, got {len(inputs)}; "
            "call layer_normalization for one."
        )
    return _layer_norm(inputs, gamma, beta, axis, epsilon, False)


def _layer_norm(
    xs: list[Any],
    gamma: Any,
    beta: Any,
    axis: int | Sequence[int],
    epsilon: float | None,
    rms_scaling: bool,
) -> Tensor:
    """Layer normalization of the sum of `xs` (one or more tensors of one shape)."""
    arrays = [_floating(x) for x in xs]
    a = arrays[0]
    for other in arrays[1:]:
        if other.shape != a.shape:
            raise ValueError(
                f"add_layer_normalization needs inputs of one shape, got {a.shape} and "
                f"{other.shape}; add them with Add (which broadcasts) first."
            )
    dt = np.result_type(*arrays)
    # Half precision is computed in float32, as Keras does: 1 / (var + epsilon)
    # and its powers in the backward pass overflow float16 for small variances.
    work_dt = np.dtype(np.float32) if dt.itemsize < 4 else dt
    eps = config.epsilon() if epsilon is None else epsilon
    axes = _normalized_axes(axis, a.ndim, "layer_normalization")
    g_arr = _param(gamma, work_dt)
    b_arr = None if rms_scaling else _param(beta, work_dt)
    size = int(np.prod([a.shape[i] for i in axes]))
    for p, name in ((g_arr, "gamma"), (b_arr, "beta")):
        if p is not None and p.size != size:
            raise ValueError(
                f"layer_normalization {name} must have {size} values, one per position of the "
                f"normalized axes {list(axes)}, got shape {p.shape}."
            )
    # Normalized axes that are not trailing are moved to the end (a copy), so
    # the work is always on contiguous (rows, features) rows. Keras reshapes
    # gamma and beta onto the sorted axes, which is this row layout.
    rest = tuple(i for i in range(a.ndim) if i not in axes)
    order = (*rest, *axes)
    moved = order != tuple(range(a.ndim))
    undo = tuple(np.argsort(order))
    if len(arrays) > 1 and (moved or dt != work_dt or len({x.dtype for x in arrays}) > 1):
        # Summed as Add would (in the inputs' own precision), then normalized alone.
        total = arrays[0]
        for other in arrays[1:]:
            total = total + other
        arrays = [total]
    work = [np.ascontiguousarray(x.transpose(order)) if moved else x for x in arrays]
    work = [w.astype(work_dt, copy=False) for w in work]
    work_shape = work[0].shape
    rows = [np.ascontiguousarray(w.reshape(-1, size)) for w in work]
    out, backward = _row_standardize(
        _RowNorm(
            rows[0],
            None if g_arr is None else g_arr.reshape(-1),
            None if b_arr is None else b_arr.reshape(-1),
            eps,
            rms_scaling,
            rows[1:],
        )
    )

    def to_input_layout(v: np.ndarray) -> np.ndarray:
        v = v.reshape(work_shape).astype(dt, copy=False)
        return np.ascontiguousarray(v.transpose(undo)) if moved else v

    count = len(xs)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        if moved:
            g = g.transpose(order)
        g = np.ascontiguousarray(g, dtype=work_dt)
        need_x = any(n[:count])
        need_beta = len(n) > count + 1 and n[count + 1]
        gx, gg, gb = backward(g.reshape(-1, size), need_x, n[count], need_beta)
        gx = None if gx is None else to_input_layout(gx)
        # Every addend's gradient is the sum's, one array (as Add's backward shares g).
        return (
            *(gx if need else None for need in n[:count]),
            None if gg is None else gg.reshape(g_arr.shape).astype(dt, copy=False),
            None if gb is None else gb.reshape(b_arr.shape).astype(dt, copy=False),
        )

    parents = (*xs, gamma) if rms_scaling else (*xs, gamma, beta)
    return record(to_input_layout(out), parents, vjp)


def group_normalization(
    x: Any,
    groups: int,
    gamma: Any = None,
    beta: Any = None,
    axis: int = -1,
    epsilon: float = 1e-3,
) -> Tensor:
    """Normalize over groups of features, as Keras's GroupNormalization computes it.

    The `C` features on `axis` are split into `groups` consecutive groups; each
    sample is normalized over its group's features and every other non-batch
    axis (e.g. height and width), then scaled by the per-feature `gamma` and
    shifted by `beta`.

    Args:
        x: input tensor with the batch on axis 0.
        groups: the number of groups; must divide `x.shape[axis]`.
        gamma: optional per-feature scale, shape `(C,)`.
        beta: optional per-feature offset, shape `(C,)`.
        axis: the feature axis (not the batch axis).
        epsilon: added to the variance before the square root.

    Example:
        >>> x = np.array([[1.0, 3.0, 5.0, 9.0]], "float32")
        >>> group_normalization(x, groups=2, epsilon=0.0).numpy()
        array([[-1.,  1., -1.,  1.]], dtype=float32)
    """
    a = _floating(x)
    dt = a.dtype
    ax = _FeatureAxis(a.shape, axis, "group_normalization")
    if ax.axis == 0:
        raise ValueError(
            "group_normalization normalizes each sample separately, so axis must not be the "
            "batch axis 0; pass the feature axis (e.g. -1)."
        )
    c = ax.size
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"group_normalization groups must be a positive integer, got {groups!r}.")
    if c % groups:
        raise ValueError(
            f"group_normalization needs the {c} features on axis {ax.axis} to split evenly into "
            f"groups={groups}; pick a number of groups that divides {c}."
        )
    g_arr, b_arr = _param(gamma, dt), _param(beta, dt)
    ax.channel(g_arr, "gamma")
    ax.channel(b_arr, "beta")
    pre = int(np.prod(a.shape[1 : ax.axis]))
    work = a.reshape(a.shape[0], pre, c, ax.post)
    out, backward = _grouped_standardize(work, groups, g_arr, b_arr, epsilon)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        gx, ggamma, gbeta = backward(g.reshape(work.shape), n[0], n[1], n[2])
        return (None if gx is None else gx.reshape(a.shape), ggamma, gbeta)

    return record(out.reshape(a.shape), (x, gamma, beta), vjp)


def unit_normalization(x: Any, axis: int | Sequence[int] = -1) -> Tensor:
    """Scale `x` to unit L2 norm over `axis`, as Keras's UnitNormalization computes it.

    `x * rsqrt(max(sum(x**2), 1e-12))`: the squared norm is floored at 1e-12,
    so zero vectors stay zero.

    Args:
        x: input tensor.
        axis: the axis or axes holding each vector.

    Example:
        >>> unit_normalization(np.array([[3.0, 4.0]], "float32")).numpy()
        array([[0.6, 0.8]], dtype=float32)
    """
    a = _floating(x)
    axes = _normalized_axes(axis, a.ndim, "unit_normalization")
    squares = np.square(a).sum(axis=axes, keepdims=True)
    floored = squares < 1e-12
    inv = 1 / np.sqrt(np.maximum(squares, 1e-12))
    out = a * inv

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        gx = g * inv
        # Where the floor applies the scale is a constant, so only g * inv remains.
        along = np.where(floored, 0, (g * a).sum(axis=axes, keepdims=True) * inv**3)
        gx -= a * along
        return (gx,)

    return record(out, (x,), vjp)
