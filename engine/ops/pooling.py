"""Fused pooling ops over channels-last inputs, each one tape entry with a hand-written backward.

Windowed pooling is separable: the max (or sum) over a `kh x kw` window is the
max over `kh` rows of the max over `kw` columns. So a 2D pool runs as two 1D
passes, first along the width, then along the height, each a loop over the
window offsets with strided slices (never over output positions). For the
common non-overlapping `2 x 2` stride-2 pool each pass is one `np.maximum` of
two strided views plus one comparison, and the backward pass writes each input
position exactly once instead of accumulating. Both directions run over
cache-sized chunks of the batch, on the `batch_parallel` thread pool when the
batch is large (NumPy releases the GIL in element-wise loops).

Max pooling keeps, per pass, the offset of the winner in its window (a `bool`
for windows of two, `uint8` otherwise), so the backward pass needs neither the
input nor a search. Ties go to the first element of the window in row-major
order, as in `torch.nn.functional.max_pool2d`: reducing columns first keeps
each row's first maximum, and reducing rows afterwards keeps the first row
that reaches the window's maximum. Padding follows Keras ("same" puts the odd
cell at the bottom/right; max pooling pads with `-inf`; average pooling
divides by the number of real, unpadded cells in each window).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.backend.config import floatx
from engine.backend.tensor import Tensor
from engine.ops.batch_parallel import map_chunks
from engine.ops.conv import check_data_format, standardize_padding, standardize_tuple
from engine.ops.core import as_array, record
from engine.ops.linalg import column_sums

__all__ = ["average_pool", "global_average_pool", "global_max_pool", "max_pool"]

# An element-wise pass over one element costs about as much time as this many
# GEMM flops: the unit `map_chunks` uses to judge when threads pay off.
_FLOPS_PER_ELEMENT = 8


def _standardize(
    ndim: int,
    pool_size: int | Sequence[int],
    strides: int | Sequence[int] | None,
    padding: str,
    data_format: str | None,
    op: str,
) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """Validate the arguments of a windowed pool; return per-axis pool sizes and strides."""
    spatial = ndim - 2
    if spatial < 1:
        raise ValueError(
            f"{op} expects inputs of shape (batch, *spatial, channels) with at least one "
            f"spatial axis, got inputs of rank {ndim}."
        )
    check_data_format(data_format)
    pool = standardize_tuple(pool_size, spatial, "pool_size")
    stride = pool if strides is None else standardize_tuple(strides, spatial, "strides")
    return pool, stride, standardize_padding(padding)


def _geometry(n: int, k: int, s: int, padding: str, axis: int, op: str) -> tuple[int, int, int]:
    """Output length and the padding before/after along one spatial axis (Keras/TF rules)."""
    if padding == "valid":
        out = (n - k) // s + 1 if n >= k else 0
        if out < 1:
            raise ValueError(
                f"{op} with padding='valid' needs spatial axis {axis} (size {n}) to be at least "
                f"pool_size {k}; use padding='same' or a smaller pool_size."
            )
        return out, 0, 0
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def _window(ndim: int, axis: int, offset: int, step: int, count: int) -> tuple[slice, ...]:
    """The slice picking element `offset` of each of `count` windows spaced `step` apart."""
    key = [slice(None)] * ndim
    key[axis] = slice(offset, offset + step * (count - 1) + 1, step)
    return tuple(key)


@dataclass(frozen=True)
class _Stage:
    """One 1D pass of a separable pool: windows of `k` cells, `s` apart, `count` of them."""

    axis: int
    k: int
    s: int
    count: int

    def out_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*shape[: self.axis], self.count, *shape[self.axis + 1 :])

    def covers(self, size: int) -> bool:
        """Whether the windows tile an axis of `size` exactly, each cell in one window."""
        return self.s == self.k and self.count * self.k == size

    def view(self, x: np.ndarray, offset: int) -> np.ndarray:
        return x[_window(x.ndim, self.axis, offset, self.s, self.count)]


def _stages(
    pool: Sequence[int], stride: Sequence[int], geo: Sequence[tuple[int, int, int]]
) -> list[_Stage]:
    """The passes of a pool, innermost spatial axis first (so ties resolve in row-major order)."""
    return [
        _Stage(axis, pool[axis - 1], stride[axis - 1], geo[axis - 1][0])
        for axis in range(len(pool), 0, -1)
    ]


def _max_stage(
    x: np.ndarray, st: _Stage, winner: np.ndarray | None, out: np.ndarray | None
) -> np.ndarray:
    """Window maxima of `x` along the stage's axis; `winner` gets each window's first maximum."""
    first = st.view(x, 0)
    if st.k == 1:
        if out is None:
            return first
        out[...] = first
        return out
    second = st.view(x, 1)
    np.greater(second, first, out=winner)
    best = np.maximum(first, second, out=out)
    for o in range(2, st.k):
        cand = st.view(x, o)
        better = np.greater(cand, best)
        np.maximum(best, cand, out=best)
        np.copyto(winner, o, where=better)
    return best


def _max_stage_grad(g: np.ndarray, winner: np.ndarray | None, st: _Stage, gx: np.ndarray) -> None:
    """Route `g` to each window's winner in `gx` (zeroed unless the windows tile its axis)."""
    if st.k == 1:
        st.view(gx, 0)[...] = g
        return
    if st.s >= st.k:
        # Windows do not overlap: every cell gets one write, nothing accumulates.
        if st.k == 2:
            hit = st.view(gx, 1)
            np.multiply(g, winner, out=hit)
            np.subtract(g, hit, out=st.view(gx, 0))
        else:
            for o in range(st.k):
                np.multiply(g, winner == o, out=st.view(gx, o))
        return
    for o in range(st.k):
        view = st.view(gx, o)
        view += g * (winner == o)


def _sum_stage(x: np.ndarray, st: _Stage, out: np.ndarray | None) -> np.ndarray:
    """Window sums of `x` along the stage's axis."""
    first = st.view(x, 0)
    if st.k == 1:
        if out is None:
            return first
        out[...] = first
        return out
    acc = np.add(first, st.view(x, 1), out=out)
    for o in range(2, st.k):
        acc += st.view(x, o)
    return acc


def _sum_stage_grad(g: np.ndarray, st: _Stage, gx: np.ndarray) -> None:
    """Spread `g` over each window's cells in `gx` (zeroed unless the windows tile its axis)."""
    for o in range(st.k):
        view = st.view(gx, o)
        if st.s >= st.k:
            view[...] = g
        else:
            view += g


def _stage_input(
    gx: np.ndarray, shape: tuple[int, ...], st: _Stage, index: int, lo: int, hi: int
) -> np.ndarray:
    """Where a backward pass writes the gradient of stage `index`'s input, for items lo:hi.

    The first stage's input is the padded input, so its gradient goes straight
    into the op's result `gx`; later stages use chunk-sized scratch. Cells no
    window covers (a cropped remainder, gaps between windows) must read zero.
    """
    zero = not st.covers(shape[st.axis])
    if index == 0:
        dest = gx[lo:hi]
        if zero:
            dest[...] = 0
        return dest
    chunk = (hi - lo, *shape[1:])
    return np.zeros(chunk, gx.dtype) if zero else np.empty(chunk, gx.dtype)


def _parallel(fn: Any, padded: np.ndarray, passes: int) -> None:
    """Run `fn(start, stop)` over cache-sized chunks of the batch, on the thread pool when large."""
    flops = _FLOPS_PER_ELEMENT * passes * padded.size
    map_chunks(fn, padded.shape[0], max(1, padded[:1].nbytes), flops)


def _pad(a: np.ndarray, pads: list[tuple[int, int]], value: float) -> np.ndarray:
    if not any(lo or hi for lo, hi in pads):
        return a
    return np.pad(a, [(0, 0), *pads, (0, 0)], constant_values=value)


def _crop(g: np.ndarray, pads: list[tuple[int, int]]) -> np.ndarray:
    if not any(lo or hi for lo, hi in pads):
        return g
    key = (slice(None), *(slice(lo, g.shape[i + 1] - hi) for i, (lo, hi) in enumerate(pads)))
    return g[key]


def max_pool(
    inputs: Any,
    pool_size: int | Sequence[int],
    strides: int | Sequence[int] | None = None,
    padding: str = "valid",
    data_format: str | None = None,
) -> Tensor:
    """Max pooling over the spatial axes of channels-last inputs (1D, 2D or more).

    Args:
        inputs: an array of shape `(batch, *spatial, channels)`.
        pool_size: the window size, an int or one int per spatial axis.
        strides: the window step; defaults to `pool_size`.
        padding: `"valid"` (no padding) or `"same"` (pad with `-inf` so the
            output has `ceil(size / stride)` cells; the odd cell goes at the end).
        data_format: `None` or `"channels_last"`.

    Returns:
        The pooled tensor; the gradient of each window goes to its first
        maximum in row-major order.

    Example:
        >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
        >>> ops.max_pool(x, 2).numpy()[0, :, :, 0]
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
    """
    a = as_array(inputs)
    pool, stride, mode = _standardize(a.ndim, pool_size, strides, padding, data_format, "max_pool")
    geo = [
        _geometry(n, k, s, mode, i + 1, "max_pool")
        for i, (n, k, s) in enumerate(zip(a.shape[1:-1], pool, stride))
    ]
    pads = [(lo, hi) for _, lo, hi in geo]
    fill = -np.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).min
    padded = _pad(a, pads, fill)
    stages = _stages(pool, stride, geo)
    shapes = [padded.shape]
    for st in stages:
        shapes.append(st.out_shape(shapes[-1]))
    value = np.empty(shapes[-1], a.dtype)
    winners = [
        None if st.k == 1 else np.empty(shape, np.bool_ if st.k == 2 else np.min_scalar_type(st.k))
        for st, shape in zip(stages, shapes[1:])
    ]
    last = len(stages) - 1

    def forward(lo: int, hi: int) -> None:
        x = padded[lo:hi]
        for i, st in enumerate(stages):
            winner = None if winners[i] is None else winners[i][lo:hi]
            x = _max_stage(x, st, winner, value[lo:hi] if i == last else None)

    _parallel(forward, padded, 2 * len(stages))

    def vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray]:
        gx = np.empty(padded.shape, g.dtype)

        def backward(lo: int, hi: int) -> None:
            grad = g[lo:hi]
            for i in range(last, -1, -1):
                st = stages[i]
                dest = _stage_input(gx, shapes[i], st, i, lo, hi)
                _max_stage_grad(grad, None if winners[i] is None else winners[i][lo:hi], st, dest)
                grad = dest

        _parallel(backward, padded, 2 * len(stages))
        return (_crop(gx, pads),)

    return record(value, (inputs,), vjp)


def average_pool(
    inputs: Any,
    pool_size: int | Sequence[int],
    strides: int | Sequence[int] | None = None,
    padding: str = "valid",
    data_format: str | None = None,
) -> Tensor:
    """Average pooling over the spatial axes of channels-last inputs (1D, 2D or more).

    Args:
        inputs: an array of shape `(batch, *spatial, channels)`.
        pool_size: the window size, an int or one int per spatial axis.
        strides: the window step; defaults to `pool_size`.
        padding: `"valid"` or `"same"`; with `"same"` each window averages only
            its real (unpadded) cells, as Keras and TensorFlow do.
        data_format: `None` or `"channels_last"`.

    Example:
        >>> x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
        >>> ops.average_pool(x, 2, padding="same").numpy()[0, :, :, 0]
        array([[2. , 3.5],
               [6.5, 8. ]], dtype=float32)
    """
    a = as_array(inputs)
    if a.dtype.kind != "f":
        a = a.astype(floatx())
    pool, stride, mode = _standardize(
        a.ndim, pool_size, strides, padding, data_format, "average_pool"
    )
    geo = [
        _geometry(n, k, s, mode, i + 1, "average_pool")
        for i, (n, k, s) in enumerate(zip(a.shape[1:-1], pool, stride))
    ]
    pads = [(lo, hi) for _, lo, hi in geo]
    padded = _pad(a, pads, 0)
    stages = _stages(pool, stride, geo)
    shapes = [padded.shape]
    for st in stages:
        shapes.append(st.out_shape(shapes[-1]))
    scale: Any
    if any(lo or hi for lo, hi in pads):
        scale = 1.0 / _valid_counts(a.shape[1:-1], pool, stride, geo).astype(a.dtype)
    else:
        scale = 1.0 / float(np.prod(pool))
    value = np.empty(shapes[-1], a.dtype)
    last = len(stages) - 1

    def forward(lo: int, hi: int) -> None:
        x = padded[lo:hi]
        for i, st in enumerate(stages):
            x = _sum_stage(x, st, value[lo:hi] if i == last else None)
        np.multiply(x, scale, out=x)

    _parallel(forward, padded, 2 * len(stages))

    def vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray]:
        gx = np.empty(padded.shape, g.dtype)

        def backward(lo: int, hi: int) -> None:
            grad = g[lo:hi] * scale
            for i in range(last, -1, -1):
                dest = _stage_input(gx, shapes[i], stages[i], i, lo, hi)
                _sum_stage_grad(grad, stages[i], dest)
                grad = dest

        _parallel(backward, padded, 2 * len(stages))
        return (_crop(gx, pads),)

    return record(value, (inputs,), vjp)


def _valid_counts(
    sizes: Sequence[int],
    pool: Sequence[int],
    stride: Sequence[int],
    geo: Sequence[tuple[int, int, int]],
) -> np.ndarray:
    """Real cells per window, shaped `(*out_spatial, 1)` to broadcast over batch and channels."""
    counts = np.ones((), dtype=np.float64)
    for n, k, s, (out, lo, _) in zip(sizes, pool, stride, geo):
        starts = np.arange(out) * s - lo
        per_axis = np.minimum(starts + k, n) - np.maximum(starts, 0)
        counts = np.multiply.outer(counts, per_axis)
    return counts[..., None]


def global_max_pool(inputs: Any, keepdims: bool = False) -> Tensor:
    """The maximum over all spatial axes of `(batch, *spatial, channels)` inputs.

    Args:
        inputs: an array of rank 3 or more, channels last.
        keepdims: keep the spatial axes with size 1.

    Returns:
        `(batch, channels)`, or `(batch, 1, ..., 1, channels)` with `keepdims`;
        the gradient goes to the first maximum (in row-major order) of each map.

    Example:
        >>> ops.global_max_pool(np.arange(6, dtype="float32").reshape(1, 3, 2)).numpy()
        array([[4., 5.]], dtype=float32)
    """
    a = as_array(inputs)
    if a.ndim < 3:
        raise ValueError(
            "global_max_pool expects inputs of shape (batch, *spatial, channels), got "
            f"rank {a.ndim}."
        )
    n, c = a.shape[0], a.shape[-1]
    flat = a.reshape(n, -1, c)
    best = np.argmax(flat, axis=1)[:, None, :]
    value = np.take_along_axis(flat, best, axis=1)
    out_shape = (n, *(1,) * (a.ndim - 2), c) if keepdims else (n, c)

    def vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray]:
        gx = np.zeros(flat.shape, g.dtype)
        np.put_along_axis(gx, best, g.reshape(n, 1, c), axis=1)
        return (gx.reshape(a.shape),)

    return record(value.reshape(out_shape), (inputs,), vjp)


def global_average_pool(inputs: Any, keepdims: bool = False, mask: Any = None) -> Tensor:
    """The mean over all spatial axes of `(batch, *spatial, channels)` inputs.

    Args:
        inputs: an array of rank 3 or more, channels last.
        keepdims: keep the spatial axes with size 1.
        mask: optional, shaped like `inputs` without the channel axis (e.g.
            `(batch, steps)`); only the cells where it is true are averaged,
            and a sample with no true cell gives NaN, as in Keras.

    Example:
        >>> x = np.array([[[1.0], [3.0], [100.0]]], "float32")
        >>> ops.global_average_pool(x, mask=np.array([[True, True, False]])).numpy()
        array([[2.]], dtype=float32)
    """
    a = as_array(inputs)
    if a.ndim < 3:
        raise ValueError(
            "global_average_pool expects inputs of shape (batch, *spatial, channels), got "
            f"rank {a.ndim}."
        )
    if a.dtype.kind != "f":
        a = a.astype(floatx())
    n, c = a.shape[0], a.shape[-1]
    flat = a.reshape(n, -1, c)
    out_shape = (n, *(1,) * (a.ndim - 2), c) if keepdims else (n, c)
    if mask is None:
        scale = 1.0 / flat.shape[1]
        value = column_sums(flat) * scale

        def vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray]:
            gx = np.broadcast_to((g * scale).reshape(n, 1, c), flat.shape)
            return (gx.reshape(a.shape),)

        return record(value.reshape(out_shape), (inputs,), vjp)

    m = np.asarray(as_array(mask))
    if m.shape != a.shape[:-1]:
        raise ValueError(
            f"global_average_pool mask must have shape {a.shape[:-1]} (the inputs without the "
            f"channel axis), got {m.shape}."
        )
    keep = m.reshape(n, -1, 1).astype(bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 1.0 / keep.sum(axis=1).astype(a.dtype)
        value = np.where(keep, flat, 0).sum(axis=1) * scale

    def masked_vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray]:
        with np.errstate(invalid="ignore"):
            gx = np.where(keep, (g.reshape(n, c) * scale)[:, None, :], 0)
        return (gx.reshape(a.shape),)

    return record(value.reshape(out_shape), (inputs,), masked_vjp)
