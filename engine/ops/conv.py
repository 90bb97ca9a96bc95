"""Convolutions over channels-last arrays, each one fused op with a hand-written backward.

`conv`, `conv_transpose`, `depthwise_conv` and `separable_conv` follow `keras.ops`
(1D on `(batch, steps, channels)`, 2D on `(batch, height, width, channels)`,
Keras kernel layouts) and take an optional `bias` (and a "relu" activation) so
the layer's bias add and rectifier happen inside the op, while each chunk is in
cache. Everything rests on one kernel-offset engine:

- forward: im2col (one strided copy of the padded input) + one GEMM per group;
- kernel gradient: `cols.T @ g`, one GEMM per group, with the im2col matrix
  rebuilt chunk by chunk rather than stored: one more cache-hot copy instead
  of a batch-sized buffer per layer kept from forward to backward;
- input gradient: one GEMM per kernel offset (`g @ kernel[i, j].T`, stacked),
  then col2im as one strided slice add per offset, skipped when nobody needs
  it (the first layer).

A transposed convolution is the adjoint of a convolution, so its forward pass
is that convolution's input gradient and its backward pass that convolution's
forward pass and kernel gradient. The batch is processed in cache-sized chunks
on the `batch_parallel` thread pool.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from engine.backend.config import floatx
from engine.backend.tensor import Tensor, recording
from engine.ops.batch_parallel import (
    in_parallel_scope,
    map_chunks,
    num_workers,
    scratch,
    split_elementwise,
    split_threads,
)
from engine.ops.core import as_array, record, relu_into
from engine.ops.linalg import column_sums

IntOrTuple = int | Sequence[int]

_PADDINGS = ("valid", "same", "causal")
# The largest im2col matrix a layer keeps from its forward pass for its backward pass.
KEEP_COLUMNS_BYTES = 256 << 20
# Up to this many im2col columns (kh*kw*cin: 27 for a 3x3 kernel on RGB images) a
# layer's GEMMs are small next to its copies, bias, relu and pooling, so those run
# split over threads between whole-batch GEMMs (the CIFAR-10 CNN's first layer,
# trained: 12.2 -> 9.8 ms per batch of 64); above it, cache-sized chunks win.
SPLIT_MAX_K = 64


# Arguments -----------------------------------------------------------------------
def standardize_tuple(value: IntOrTuple, rank: int, name: str, allow_zero: bool = False) -> tuple:
    """`value` as a tuple of `rank` ints, each positive (or >= 0 with `allow_zero`).

    Args:
        value: an int (used for every axis) or a sequence of `rank` ints.
        rank: the number of spatial axes.
        name: the argument's name, for the error message.
        allow_zero: accept zeros (e.g. `output_padding`).
    """
    values = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != rank or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values
    ):
        raise ValueError(f"`{name}` must be an int or a tuple of {rank} ints, got {value!r}.")
    low = 0 if allow_zero else 1
    if any(v < low for v in values):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"`{name}` must hold {kind} ints, got {value!r}.")
    return tuple(int(v) for v in values)


def standardize_padding(padding: str, allow_causal: bool = False) -> str:
    """`padding` lower-cased and checked: "valid", "same" (and "causal" when allowed)."""
    if not isinstance(padding, str):
        raise ValueError(f"`padding` must be a string, got {padding!r}.")
    value = padding.lower()
    allowed = _PADDINGS if allow_causal else _PADDINGS[:2]
    if value not in allowed:
        raise ValueError(f"`padding` must be one of {', '.join(allowed)}; got {padding!r}.")
    return value


def check_data_format(data_format: str | None) -> str:
    """Accept only channels-last data, the layout this engine computes in."""
    if data_format is None or data_format == "channels_last":
        return "channels_last"
    if data_format == "channels_first":
        raise ValueError(
            "data_format='channels_first' is not supported: this engine computes in "
            "channels_last; transpose the inputs to (batch, ..., channels) instead."
        )
    raise ValueError(
        f"`data_format` must be 'channels_last' or 'channels_first', got {data_format!r}."
    )


def conv_output_length(
    size: int | None, kernel: int, stride: int, padding: str, dilation: int
) -> int | None:
    """The output length of a convolution along one axis (None stays None).

    Args:
        size: the input length.
        kernel: the kernel length.
        stride: the stride.
        padding: "valid", "same" or "causal".
        dilation: the dilation rate.
    """
    if size is None:
        return None
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        return (size - span) // stride + 1 if size >= span else 0
    return -(-size // stride)


def conv_transpose_output_length(
    size: int | None,
    kernel: int,
    stride: int,
    padding: str,
    output_padding: int | None,
    dilation: int,
) -> int | None:
    """The output length of a transposed convolution along one axis, as Keras computes it."""
    if size is None:
        return None
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return (size - 1) * stride + span + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + span % 2 + output_padding


# Geometry ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Grid:
    """How a 2D convolution maps a source grid (its input) onto an output grid.

    `src` is the unpadded input size, `out` the output size, `before` the
    zeros added at the top/left, and `padded` the size of the zero-padded
    buffer: big enough for every window and for the source at `before`.
    """

    src: tuple[int, int]
    out: tuple[int, int]
    kernel: tuple[int, int]
    strides: tuple[int, int]
    dilation: tuple[int, int]
    before: tuple[int, int]
    padded: tuple[int, int]

    @property
    def windows(self) -> int:
        return self.out[0] * self.out[1]

    @property
    def offsets(self) -> int:
        return self.kernel[0] * self.kernel[1]

    @property
    def needs_padding(self) -> bool:
        return self.padded != self.src

    @property
    def pointwise(self) -> bool:
        """A 1x1 kernel at stride 1 without padding over the whole input: the input
        already is the im2col matrix."""
        return (
            self.offsets == 1
            and self.strides == (1, 1)
            and not self.needs_padding
            and self.out == self.src
        )

    def window_view(self, xp: np.ndarray, groups: int) -> np.ndarray:
        """A `(groups, n, oh, ow, kh, kw, cin/groups)` view of the padded `(n, H, W, cin)` array."""
        n, _, _, c = xp.shape
        sn, sh, sw, sc = xp.strides
        cg = c // groups
        return as_strided(
            xp,
            (groups, n, *self.out, *self.kernel, cg),
            (
                cg * sc,
                sn,
                sh * self.strides[0],
                sw * self.strides[1],
                sh * self.dilation[0],
                sw * self.dilation[1],
                sc,
            ),
            writeable=False,
        )

    def offset_slices(self, i: int, j: int) -> tuple[slice, slice]:
        """Where kernel offset (i, j) reads in the padded buffer, as strided slices."""
        (oh, ow), (sh, sw), (dh, dw) = self.out, self.strides, self.dilation
        return (
            slice(i * dh, i * dh + (oh - 1) * sh + 1, sh),
            slice(j * dw, j * dw + (ow - 1) * sw + 1, sw),
        )

    def interior(self) -> tuple[slice, slice]:
        """Where the unpadded source sits in the padded buffer."""
        return tuple(slice(b, b + s) for b, s in zip(self.before, self.src))  # type: ignore[return-value]


def _conv_grid(
    src: tuple[int, ...],
    kernel: tuple[int, ...],
    strides: tuple[int, ...],
    padding: str,
    dilation: tuple[int, ...],
) -> _Grid:
    out, before, padded = [], [], []
    for size, k, s, d in zip(src, kernel, strides, dilation):
        span = (k - 1) * d + 1
        length = conv_output_length(size, k, s, padding, d)
        if length < 1:
            raise ValueError(
                f"The input's spatial size {tuple(src)} is smaller than the dilated kernel "
                f"({span} along one axis) with padding='valid'; use padding='same' or "
                "a smaller kernel."
            )
        if padding == "valid":
            pad_before = 0
        elif padding == "causal":
            pad_before = span - 1
        else:
            # TensorFlow's rule: the odd pixel of padding goes at the bottom/right.
            pad_before = max((length - 1) * s + span - size, 0) // 2
        out.append(length)
        before.append(pad_before)
        padded.append(max(pad_before + size, (length - 1) * s + span))
    return _Grid(
        tuple(src), tuple(out), tuple(kernel), tuple(strides), tuple(dilation),
        tuple(before), tuple(padded),
    )  # fmt: skip


def _transpose_grid(
    src: tuple[int, ...],
    kernel: tuple[int, ...],
    strides: tuple[int, ...],
    padding: str,
    output_padding: tuple[int, ...] | None,
    dilation: tuple[int, ...],
) -> _Grid:
    """The grid of the convolution whose adjoint is this transposed convolution.

    `src` is the transposed convolution's input size, which is the adjoint
    convolution's output size.
    """
    out, before, padded = [], [], []
    for i, (size, k, s, d) in enumerate(zip(src, kernel, strides, dilation)):
        extra = None if output_padding is None else output_padding[i]
        span = (k - 1) * d + 1
        length = conv_transpose_output_length(size, k, s, padding, extra, d)
        if padding == "valid":
            pad_before = 0
        else:
            total = s + span - 2 if extra is None else span + span % 2 - 2 + extra
            pad_before = span - 1 - min(total // 2 + total % 2, span - 1)
        out.append(length)
        before.append(pad_before)
        padded.append(max(pad_before + length, (size - 1) * s + span))
    return _Grid(
        tuple(out), tuple(src), tuple(kernel), tuple(strides), tuple(dilation),
        tuple(before), tuple(padded),
    )  # fmt: skip


# The engine ------------------------------------------------------------------------------
def _grouped_kernel(w: np.ndarray, groups: int) -> np.ndarray:
    """`(kh, kw, cin/groups, f)` as `(groups, kh*kw*cin/groups, f/groups)` GEMM operands."""
    kh, kw, cg, f = w.shape
    w2 = w.reshape(kh * kw * cg, f)
    if groups == 1:
        return w2[None]
    return np.ascontiguousarray(w2.reshape(-1, groups, f // groups).transpose(1, 0, 2))


def _ungroup_kernel(gw: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of `_grouped_kernel`, for the kernel gradient."""
    if gw.shape[0] == 1:
        return gw[0].reshape(shape)
    return np.ascontiguousarray(gw.transpose(1, 0, 2)).reshape(shape)


def _conv_pass(
    grid: _Grid,
    w: np.ndarray,
    groups: int,
    *,
    src: np.ndarray | None = None,
    out: np.ndarray | None = None,
    out_bias: np.ndarray | None = None,
    gy: np.ndarray | None = None,
    kernel_grad: bool = False,
    adjoint: np.ndarray | None = None,
    adjoint_bias: np.ndarray | None = None,
    sum_gy: bool = False,
    sum_src: bool = False,
    relu: bool = False,
    relu_out: np.ndarray | None = None,
    cols_store: np.ndarray | None = None,
    cols_ready: bool = False,
    epilogue: Callable[[np.ndarray, int, int], None] | None = None,
    gy_chunk: Callable[..., np.ndarray] | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Run the requested parts of a convolution `y = conv(src, w)` chunk by chunk.

    Args:
        grid: the geometry; `src` arrays are `(n, *grid.src, cin)`, `gy` ones
            `(n, *grid.out, f)`.
        w: the kernel `(kh, kw, cin/groups, f)`.
        groups: the number of channel groups.
        src: the convolution's input (needed for `out` and `kernel_grad`).
        out: filled with `conv(src, w) + out_bias`.
        gy: a gradient w.r.t. the convolution's output.
        kernel_grad: return `d<y, gy>/dw`, w's shape.
        adjoint: filled with `conv_adjoint(gy, w) + adjoint_bias` (the input gradient).
        sum_gy, sum_src: also return `gy` (or `src`) summed over all but channels.
        relu: apply `max(., 0)` to `out` in place.
        relu_out: the output of a fused relu; `gy` is then the gradient w.r.t.
            it and is masked by `relu_out > 0` before use.
        cols_store: a `(groups, n*windows, kh*kw*cin/groups)` array for the whole
            batch's im2col matrix: the forward pass writes it there (instead of
            chunk scratch) so the backward pass can reuse it for the kernel
            gradient instead of rebuilding it.
        cols_ready: `cols_store` already holds the matrix (the backward pass).
        epilogue: instead of `out`, `epilogue(o, a, b)` gets each chunk's
            `conv(src[a:b], w) + out_bias` as a `(rows, f)` scratch array still in
            cache (a fused op's next step, e.g. pooling, runs on it there).
        gy_chunk: instead of `gy`, `gy_chunk(a, b, out=None)` returns the `(rows, f)`
            gradient of items a:b (written into `out` when given), built chunk by
            chunk (a fused op's backward).

    Returns:
        `(kernel gradient, summed gy, summed src)`, None where not asked for.
    """
    kh, kw, cg, f = w.shape
    fg = f // groups
    wg = _grouped_kernel(w, groups)
    # (kh*kw, f, cin): the kernel offsets' transposed blocks, for the input gradient.
    w_offsets = (
        np.ascontiguousarray(w.reshape(kh * kw, cg, f).transpose(0, 2, 1))
        if adjoint is not None and groups == 1
        else None
    )
    dtype = w.dtype
    k2 = grid.offsets * cg
    n_batch = (src if src is not None else gy).shape[0]  # type: ignore[union-attr]
    cin = cg * groups
    needs_cols = out is not None or epilogue is not None or kernel_grad
    per_item = (needs_cols + (adjoint is not None)) * grid.windows * grid.offsets * cin
    per_item = per_item * dtype.itemsize + math.prod(grid.padded) * cin * dtype.itemsize
    flops = (
        2.0 * n_batch * grid.windows * k2 * f * (needs_cols + kernel_grad + (adjoint is not None))
    )

    def columns(a: int, b: int, store: np.ndarray | None = cols_store) -> np.ndarray:
        """The `(groups, n*windows, kh*kw*cin/groups)` im2col matrix of items a:b.

        Written into `store` (the whole batch's matrix) when given, else into scratch.
        """
        n = b - a
        if cols_ready:
            return cols_store[:, a * grid.windows : b * grid.windows]  # type: ignore[index]
        x = src[a:b]  # type: ignore[index]
        if grid.pointwise and groups == 1:
            return x.reshape(1, n * grid.windows, cin)
        if grid.needs_padding:
            xp = scratch("conv_pad", (n, *grid.padded, cin), dtype)
            xp.fill(0)
            xp[(slice(None), *grid.interior())] = x
        else:
            xp = x
        cols = (
            scratch("conv_cols", (groups, n * grid.windows, k2), dtype)
            if store is None
            else store[:, a * grid.windows : b * grid.windows]
        )
        np.copyto(cols.reshape(groups, n, *grid.out, kh, kw, cg), grid.window_view(xp, groups))
        return cols

    def col2im(g3: np.ndarray, a: int, b: int) -> None:
        """Write `conv_adjoint(gy[a:b]) + adjoint_bias` into `adjoint[a:b]`."""
        n = b - a
        rows = n * grid.windows
        target = adjoint[a:b]  # type: ignore[index]
        if grid.pointwise and groups == 1:
            np.matmul(g3[0], wg[0].T, out=target.reshape(rows, cin))
        else:
            gp = (
                scratch("conv_gpad", (n, *grid.padded, cin), dtype)
                if grid.needs_padding
                else target
            )
            gp.fill(0)
            if groups == 1:
                # One GEMM per kernel offset, stacked: each offset's block is a
                # contiguous (n, oh, ow, cin) array, so the strided adds below
                # run over whole rows rather than cin-long pieces.
                blocks = np.matmul(
                    g3, w_offsets, out=scratch("conv_gcols", (kh * kw, rows, cin), dtype)
                ).reshape(kh * kw, n, *grid.out, cin)
                for i in range(kh):
                    for j in range(kw):
                        gp[(slice(None), *grid.offset_slices(i, j))] += blocks[i * kw + j]
            else:
                gcols = np.matmul(
                    g3, wg.transpose(0, 2, 1), out=scratch("conv_gcols", (groups, rows, k2), dtype)
                )
                windows = gcols.reshape(groups, n, *grid.out, kh, kw, cg)
                by_group = gp.reshape(n, *grid.padded, groups, cg)
                for i in range(kh):
                    for j in range(kw):
                        window = windows[:, :, :, :, i, j, :].transpose(1, 2, 3, 0, 4)
                        by_group[(slice(None), *grid.offset_slices(i, j))] += window
            if grid.needs_padding:
                target[...] = gp[(slice(None), *grid.interior())]
        if adjoint_bias is not None:
            target += adjoint_bias

    def finish(o: np.ndarray, a: int, b: int) -> None:
        """The bias, relu and epilogue on `o`, the convolution's rows of items a:b."""
        if out_bias is not None:
            o += out_bias
        if relu:
            relu_into(o, o)
        if epilogue is not None:
            epilogue(o, a, b)

    def work(a: int, b: int) -> tuple[np.ndarray | None, ...]:
        n = b - a
        rows = n * grid.windows
        cols = columns(a, b) if needs_cols else None
        src_sum = column_sums(src[a:b].reshape(-1, cin)) if sum_src else None  # type: ignore[index]
        if out is not None or epilogue is not None:
            o = (
                out[a:b].reshape(rows, f)
                if out is not None
                else scratch("conv_out", (rows, f), dtype)
            )
            if groups == 1:
                np.matmul(cols[0], wg[0], out=o)  # type: ignore[index]
            else:
                res = np.matmul(cols, wg, out=scratch("conv_res", (groups, rows, fg), dtype))
                o.reshape(rows, groups, fg)[...] = res.transpose(1, 0, 2)
            finish(o, a, b)
        gw = gy_sum = None
        if gy is not None or gy_chunk is not None:
            g2 = gy[a:b].reshape(rows, f) if gy_chunk is None else gy_chunk(a, b)  # type: ignore[index]
            if relu_out is not None:
                active = relu_out[a:b].reshape(rows, f) > 0
                g2 = np.multiply(g2, active, out=scratch("conv_gmask", (rows, f), dtype))
            g3 = g2[None] if groups == 1 else g2.reshape(rows, groups, fg).transpose(1, 0, 2)
            if kernel_grad:
                gw = np.matmul(cols.transpose(0, 2, 1), g3)  # type: ignore[union-attr]
            if sum_gy:
                gy_sum = column_sums(g2)
            if adjoint is not None:
                col2im(g3, a, b)
        return gw, gy_sum, src_sum

    if (
        groups == 1
        and adjoint is None
        and src is not None
        and not grid.pointwise
        and k2 <= SPLIT_MAX_K
        and num_workers() == 1
        and split_threads() > 1
        and not in_parallel_scope()
    ):
        # Few input channels (a first layer on images): the GEMMs are small next to
        # the element-wise work, which then runs split over threads between
        # whole-batch GEMMs that keep BLAS's own threads. (Inside a parallel_scope
        # BLAS has one thread: the chunks below run on the engine's threads instead.)
        windows = grid.windows
        rows_all = n_batch * windows
        cols_all = cols_store if cols_store is not None else np.empty((1, rows_all, k2), dtype)
        if needs_cols and not cols_ready:
            split_elementwise(lambda a, b: columns(a, b, cols_all), n_batch)
        src_sum = column_sums(src.reshape(-1, cin)) if sum_src else None
        if out is not None or epilogue is not None:
            o_all = out.reshape(rows_all, f) if out is not None else np.empty((rows_all, f), dtype)
            np.matmul(cols_all[0], wg[0], out=o_all)
            split_elementwise(lambda a, b: finish(o_all[a * windows : b * windows], a, b), n_batch)
        gw = gy_sum = None
        if gy is not None or gy_chunk is not None:
            if gy_chunk is None and relu_out is None:
                g_all = gy.reshape(rows_all, f)  # type: ignore[union-attr]
            else:
                g_all = np.empty((rows_all, f), dtype)

                def gradient(a: int, b: int) -> None:
                    part = g_all[a * windows : b * windows]
                    if gy_chunk is not None:
                        gy_chunk(a, b, part)
                    else:
                        active = relu_out[a:b].reshape(-1, f) > 0  # type: ignore[index]
                        np.multiply(gy[a:b].reshape(-1, f), active, out=part)  # type: ignore[index]

                split_elementwise(gradient, n_batch)
            if kernel_grad:
                gw = _ungroup_kernel((cols_all[0].T @ g_all)[None], w.shape)
            if sum_gy:
                gy_sum = column_sums(g_all)
        return gw, gy_sum, src_sum

    parts = map_chunks(work, n_batch, per_item, flops)

    def total(i: int) -> np.ndarray | None:
        values = [p[i] for p in parts]
        if values[0] is None:
            return None
        acc = values[0]
        for v in values[1:]:
            acc = acc + v
        return acc

    gw = total(0)
    return (
        None if gw is None else _ungroup_kernel(gw, w.shape),
        total(1),
        total(2),
    )


def _kept_columns(
    grid: _Grid, batch: int, groups: int, cin_per_group: int, dtype: np.dtype
) -> np.ndarray | None:
    """A buffer for the forward pass's im2col matrix when a tape will want it back.

    While recording, the kernel gradient needs the same im2col matrix as the
    forward pass: keeping it (one array per layer per step) replaces a second
    strided copy, the costliest part of a small-channel layer's backward pass.
    Outside a tape, for 1x1 kernels (no copy) and for matrices over
    `KEEP_COLUMNS_BYTES` the matrix is rebuilt chunk by chunk instead.
    """
    if not recording() or (grid.pointwise and groups == 1):
        return None
    shape = (groups, batch * grid.windows, grid.offsets * cin_per_group)
    if math.prod(shape) * dtype.itemsize > KEEP_COLUMNS_BYTES:
        return None
    return np.empty(shape, dtype)


# Public ops --------------------------------------------------------------------------------
def _prepare(inputs: Any, kernel: Any, rank_name: str) -> tuple[np.ndarray, np.ndarray, int]:
    x, w = as_array(inputs), as_array(kernel)
    if not isinstance(x, np.ndarray) or not isinstance(w, np.ndarray):
        raise TypeError(f"{rank_name} takes array inputs and kernels.")
    rank = w.ndim - 2
    if rank not in (1, 2):
        raise ValueError(
            f"{rank_name} supports 1D and 2D kernels (3 or 4 dims), got a kernel of shape "
            f"{w.shape}."
        )
    if x.ndim != rank + 2:
        raise ValueError(
            f"{rank_name} with a {rank}D kernel needs inputs of rank {rank + 2} "
            f"(batch, {'steps' if rank == 1 else 'height, width'}, channels), got shape {x.shape}."
        )
    floats = [a.dtype for a in (x, w) if a.dtype.kind == "f"]
    dtype = np.result_type(*floats) if floats else np.dtype(floatx())
    return x.astype(dtype, copy=False), w.astype(dtype, copy=False), rank


def _as_2d(x: np.ndarray, w: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """1D data as 2D with a height of one, so one engine serves both ranks."""
    if rank == 2:
        return x, w
    return x[:, None], w[None]


def _check_bias(bias: Any, channels: int, dtype: np.dtype) -> np.ndarray | None:
    if bias is None:
        return None
    b = np.asarray(as_array(bias))
    if b.shape != (channels,):
        raise ValueError(f"The bias must have shape ({channels},), got {b.shape}.")
    return b.astype(dtype, copy=False)


def _spatial_args(
    rank: int, strides: IntOrTuple, dilation_rate: IntOrTuple
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    s = standardize_tuple(strides, rank, "strides")
    d = standardize_tuple(dilation_rate, rank, "dilation_rate")
    if max(s) > 1 and max(d) > 1:
        raise ValueError(
            f"strides > 1 cannot be combined with dilation_rate > 1; got strides={s} and "
            f"dilation_rate={d}."
        )
    return s, d


def _grouped_conv(
    inputs: Any,
    kernel: Any,
    bias: Any,
    strides: IntOrTuple,
    padding: str,
    dilation_rate: IntOrTuple,
    activation: str | None,
    *,
    name: str,
    depthwise: bool,
) -> Tensor:
    x, w, rank = _prepare(inputs, kernel, name)
    if activation not in (None, "relu"):
        raise ValueError(
            f"{name} can fuse only activation='relu', got {activation!r}; apply other "
            "activations to its output."
        )
    relu = activation == "relu"
    padding = standardize_padding(padding, allow_causal=rank == 1)
    s, d = _spatial_args(rank, strides, dilation_rate)
    cin = x.shape[-1]
    if depthwise:
        if w.shape[-2] != cin:
            raise ValueError(
                f"The depthwise kernel {w.shape} expects {w.shape[-2]} input channels, but the "
                f"inputs have {cin} (shape {x.shape})."
            )
        groups = cin
        # (k, cin, multiplier) is a grouped kernel (k, 1, cin*multiplier): output
        # channel c*multiplier + m belongs to group c, as in Keras.
        wc = w.reshape(*w.shape[:-2], 1, cin * w.shape[-1])
    else:
        cg = w.shape[-2]
        if cin % cg:
            raise ValueError(
                f"The inputs have {cin} channels, which the kernel's {cg} input channels "
                f"(shape {w.shape}) do not divide; use a kernel with cin/groups channels."
            )
        groups = cin // cg
        if w.shape[-1] % groups:
            raise ValueError(
                f"The kernel's {w.shape[-1]} filters cannot be split into {groups} groups; "
                "filters must be divisible by groups."
            )
        wc = w
    f = wc.shape[-1]
    b = _check_bias(bias, f, x.dtype)
    x2, w2 = _as_2d(x, wc, rank)
    grid = _conv_grid(x2.shape[1:3], w2.shape[:2], (1, *s) if rank == 1 else s, padding,
                      (1, *d) if rank == 1 else d)  # fmt: skip
    y = np.empty((x.shape[0], *grid.out, f), x.dtype)
    cols = _kept_columns(grid, x.shape[0], groups, w2.shape[2], x.dtype)
    _conv_pass(grid, w2, groups, src=x2, out=y, out_bias=b, relu=relu, cols_store=cols)

    def vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray | None, ...]:
        g2 = g.reshape(y.shape).astype(x.dtype, copy=False)
        gx = np.empty_like(x2) if needs[0] else None
        gw, gb, _ = _conv_pass(
            grid, w2, groups, src=x2, gy=g2, kernel_grad=needs[1], adjoint=gx,
            sum_gy=len(needs) > 2 and needs[2], relu_out=y if relu else None,
            cols_store=cols, cols_ready=cols is not None,
        )  # fmt: skip
        return (
            None if gx is None else gx.reshape(x.shape),
            None if gw is None else gw.reshape(w.shape),
            gb,
        )

    parents = (inputs, kernel) if bias is None else (inputs, kernel, bias)
    return record(y.reshape(x.shape[0], *y.shape[1 + (rank == 1) : -1], f), parents, vjp)


def conv(
    inputs: Any,
    kernel: Any,
    strides: IntOrTuple = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: IntOrTuple = 1,
    bias: Any = None,
    activation: str | None = None,
) -> Tensor:
    """A 1D or 2D convolution (cross-correlation), optionally adding a bias, as one op.

    Args:
        inputs: `(batch, steps, cin)` or `(batch, height, width, cin)`.
        kernel: `(k, cin/groups, filters)` or `(kh, kw, cin/groups, filters)`;
            the groups are `cin / kernel.shape[-2]`.
        strides: an int or one int per spatial axis.
        padding: "valid", "same" (the odd pixel of padding at the bottom/right,
            as in TensorFlow) or, in 1D, "causal".
        data_format: "channels_last" (or None); "channels_first" is rejected.
        dilation_rate: an int or one int per spatial axis.
        bias: an optional `(filters,)` vector added to every position.
        activation: None, or "relu" to apply it inside the op (chunk by chunk,
            while the data is in cache; the backward pass masks the gradient).

    Example:
        >>> ops.conv(np.ones((2, 5, 5, 3)), np.ones((3, 3, 3, 4)), padding="same").shape
        (2, 5, 5, 4)
    """
    check_data_format(data_format)
    return _grouped_conv(
        inputs, kernel, bias, strides, padding, dilation_rate, activation,
        name="conv", depthwise=False,
    )  # fmt: skip


def conv_relu_max_pool(
    inputs: Any,
    kernel: Any,
    bias: Any = None,
    strides: IntOrTuple = 1,
    padding: str = "valid",
    dilation_rate: IntOrTuple = 1,
) -> Tensor:
    """`max_pool(relu(conv(inputs, kernel) + bias), 2)` as one op: 2D, channels last, no groups.

    The 2x2, stride-2, "valid" max pool runs on each chunk of convolution
    outputs while it is still in cache, so the full-size activation is never
    written to memory nor read back; the backward pass rebuilds each chunk's
    gradient there too. `relu(max(.)) == max(relu(.))`, and pooling the
    unrectified values routes every gradient to the same element as pooling
    the rectified ones (a window whose maximum is not positive passes no
    gradient at all), so results equal the three separate ops exactly. An odd
    last row or column of the convolution output is dropped, as by the pool.

    Args:
        inputs: `(batch, height, width, cin)`.
        kernel: `(kh, kw, cin, filters)`.
        bias: an optional `(filters,)` vector.
        strides, padding, dilation_rate: of the convolution, as in `conv`.

    Example:
        >>> ops.conv_relu_max_pool(np.ones((2, 8, 8, 3)), np.ones((3, 3, 3, 4))).shape
        (2, 3, 3, 4)
    """
    x, w, rank = _prepare(inputs, kernel, "conv_relu_max_pool")
    if rank != 2 or w.shape[-2] != x.shape[-1]:
        raise ValueError(
            "conv_relu_max_pool takes 2D inputs (batch, height, width, cin) and an ungrouped "
            f"kernel (kh, kw, cin, filters); got inputs {x.shape} and kernel {w.shape}."
        )
    padding = standardize_padding(padding)
    s, d = _spatial_args(2, strides, dilation_rate)
    f = w.shape[-1]
    b = _check_bias(bias, f, x.dtype)
    grid = _conv_grid(x.shape[1:3], w.shape[:2], s, padding, d)
    oh, ow = grid.out
    ph, pw = oh // 2, ow // 2
    if ph < 1 or pw < 1:
        raise ValueError(
            f"The convolution output {grid.out} is smaller than the 2x2 pool window; "
            "use larger inputs or a smaller kernel."
        )
    if grid.out != (2 * ph, 2 * pw):
        # The pool drops an odd last row or column of the convolution output: those
        # windows are not computed at all, forward or backward (on the CIFAR-10
        # CNN's second layer, 13x13 -> 12x12, 15% of its GEMM and copy work).
        grid = replace(grid, out=(2 * ph, 2 * pw))
        oh, ow = grid.out
    n = x.shape[0]
    pooled = np.empty((n, ph, pw, f), x.dtype)
    # The winner of each pair: along the width (right beats left), then the height.
    right_won = np.empty((n, 2 * ph, pw, f), bool)
    bottom_won = np.empty((n, ph, pw, f), bool)
    cols = _kept_columns(grid, n, 1, w.shape[2], x.dtype)

    def pool_chunk(o: np.ndarray, a: int, z: int) -> None:
        v = o.reshape(z - a, oh, ow, f)[:, : 2 * ph]
        left, right = v[:, :, 0 : 2 * pw : 2], v[:, :, 1 : 2 * pw : 2]
        np.greater(right, left, out=right_won[a:z])
        across = np.maximum(
            left, right, out=scratch("fused_pool_rows", (z - a, 2 * ph, pw, f), x.dtype)
        )
        top, bottom = across[:, 0::2], across[:, 1::2]
        np.greater(bottom, top, out=bottom_won[a:z])
        best = np.maximum(top, bottom, out=pooled[a:z])
        relu_into(best, best)

    _conv_pass(grid, w, 1, src=x, out_bias=b, cols_store=cols, epilogue=pool_chunk)

    def vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray | None, ...]:
        g4 = g.reshape(pooled.shape).astype(x.dtype, copy=False)

        def conv_grad(a: int, z: int, out: np.ndarray | None = None) -> np.ndarray:
            m = z - a
            live = np.multiply(
                g4[a:z], pooled[a:z] > 0, out=scratch("fused_pool_g", (m, ph, pw, f), x.dtype)
            )
            across = scratch("fused_pool_grows", (m, 2 * ph, pw, f), x.dtype)
            np.multiply(live, bottom_won[a:z], out=across[:, 1::2])
            np.subtract(live, across[:, 1::2], out=across[:, 0::2])
            gc = (
                scratch("fused_pool_gconv", (m, oh, ow, f), x.dtype)
                if out is None
                else out.reshape(m, oh, ow, f)
            )
            if oh > 2 * ph:
                gc[:, 2 * ph :] = 0
            if ow > 2 * pw:
                gc[:, : 2 * ph, 2 * pw :] = 0
            right = gc[:, : 2 * ph, 1 : 2 * pw : 2]
            np.multiply(across, right_won[a:z], out=right)
            np.subtract(across, right, out=gc[:, : 2 * ph, 0 : 2 * pw : 2])
            return gc.reshape(m * grid.windows, f)

        gx = np.empty_like(x) if needs[0] else None
        gw, gb, _ = _conv_pass(
            grid, w, 1, src=x, gy_chunk=conv_grad, kernel_grad=needs[1], adjoint=gx,
            sum_gy=len(needs) > 2 and needs[2], cols_store=cols, cols_ready=cols is not None,
        )  # fmt: skip
        return gx, gw, gb

    parents = (inputs, kernel) if bias is None else (inputs, kernel, bias)
    return record(pooled, parents, vjp)


def depthwise_conv(
    inputs: Any,
    kernel: Any,
    strides: IntOrTuple = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: IntOrTuple = 1,
    bias: Any = None,
    activation: str | None = None,
) -> Tensor:
    """A depthwise convolution: each input channel convolved with its own filters.

    Args:
        inputs: `(batch, steps, cin)` or `(batch, height, width, cin)`.
        kernel: `(k, cin, depth_multiplier)` or `(kh, kw, cin, depth_multiplier)`;
            output channel `c * depth_multiplier + m` uses `kernel[..., c, m]`.
        strides, padding, data_format, dilation_rate: as in `conv`.
        bias: an optional `(cin * depth_multiplier,)` vector.
        activation: None, or "relu" to apply it inside the op.

    Example:
        >>> ops.depthwise_conv(np.ones((2, 8, 8, 3)), np.ones((3, 3, 3, 2))).shape
        (2, 6, 6, 6)
    """
    check_data_format(data_format)
    return _grouped_conv(
        inputs, kernel, bias, strides, padding, dilation_rate, activation,
        name="depthwise_conv", depthwise=True,
    )  # fmt: skip


def separable_conv(
    inputs: Any,
    depthwise_kernel: Any,
    pointwise_kernel: Any,
    strides: IntOrTuple = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: IntOrTuple = 1,
    bias: Any = None,
    activation: str | None = None,
) -> Tensor:
    """A depthwise convolution followed by a 1x1 (pointwise) convolution.

    Args:
        inputs: `(batch, steps, cin)` or `(batch, height, width, cin)`.
        depthwise_kernel: `(k, cin, m)` or `(kh, kw, cin, m)`.
        pointwise_kernel: `(1, cin*m, filters)` or `(1, 1, cin*m, filters)`.
        strides, padding, data_format, dilation_rate: of the depthwise step.
        bias: an optional `(filters,)` vector added after the pointwise step.
        activation: None, or "relu" to apply it inside the pointwise op.

    Example:
        >>> ops.separable_conv(np.ones((2, 8, 8, 3)), np.ones((3, 3, 3, 2)),
        ...                    np.ones((1, 1, 6, 4))).shape
        (2, 6, 6, 4)
    """
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format,
                               dilation_rate)  # fmt: skip
    pw = as_array(pointwise_kernel)
    if np.shape(pw)[:-2] != (1,) * (np.ndim(pw) - 2):
        raise ValueError(f"The pointwise kernel must be 1x1, got shape {np.shape(pw)}.")
    return conv(depthwise, pointwise_kernel, bias=bias, activation=activation)


def conv_transpose(
    inputs: Any,
    kernel: Any,
    strides: IntOrTuple = 1,
    padding: str = "valid",
    output_padding: IntOrTuple | None = None,
    data_format: str | None = None,
    dilation_rate: IntOrTuple = 1,
    bias: Any = None,
) -> Tensor:
    """A transposed convolution (the adjoint of `conv`), optionally adding a bias.

    Output sizes follow Keras: "valid" gives `(in - 1) * stride + span +
    output_padding` (`output_padding` defaulting to `max(span, stride) - span`),
    "same" gives `in * stride`, or `(in - 1) * stride + span % 2 +
    output_padding` when `output_padding` is set (`span` is the dilated kernel
    size).

    Args:
        inputs: `(batch, steps, cin)` or `(batch, height, width, cin)`.
        kernel: `(k, filters, cin)` or `(kh, kw, filters, cin)` (Keras's
            transposed layout: output channels before input channels).
        strides: an int or one int per spatial axis.
        padding: "valid" or "same".
        output_padding: None, or an int or one int per axis, each below its stride.
        data_format: "channels_last" (or None); "channels_first" is rejected.
        dilation_rate: an int or one int per spatial axis.
        bias: an optional `(filters,)` vector.

    Example:
        >>> ops.conv_transpose(np.ones((2, 4, 4, 3)), np.ones((3, 3, 5, 3)), strides=2,
        ...                    padding="same").shape
        (2, 8, 8, 5)
    """
    check_data_format(data_format)
    x, w, rank = _prepare(inputs, kernel, "conv_transpose")
    padding = standardize_padding(padding)
    s, d = _spatial_args(rank, strides, dilation_rate)
    extra = None
    if output_padding is not None:
        extra = standardize_tuple(output_padding, rank, "output_padding", allow_zero=True)
        if any(p >= st for p, st in zip(extra, s)):
            raise ValueError(
                f"output_padding {extra} must be smaller than strides {s} along every axis."
            )
    if w.shape[-1] != x.shape[-1]:
        raise ValueError(
            f"The transposed kernel {w.shape} expects {w.shape[-1]} input channels (its last "
            f"axis), but the inputs have {x.shape[-1]} (shape {x.shape})."
        )
    f = w.shape[-2]
    b = _check_bias(bias, f, x.dtype)
    x2, w2 = _as_2d(x, w, rank)
    one = (1,) if rank == 1 else ()
    grid = _transpose_grid(
        x2.shape[1:3], w2.shape[:2], (*one, *s), padding,
        None if extra is None else (*(0,) * len(one), *extra), (*one, *d),
    )  # fmt: skip
    y = np.empty((x.shape[0], *grid.src, f), x.dtype)
    _conv_pass(grid, w2, 1, gy=x2, adjoint=y, adjoint_bias=b)

    def vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray | None, ...]:
        g2 = g.reshape(y.shape).astype(x.dtype, copy=False)
        gx = np.empty_like(x2) if needs[0] else None
        gw, _, gb = _conv_pass(
            grid, w2, 1, src=g2, out=gx, gy=x2 if needs[1] else None, kernel_grad=needs[1],
            sum_src=len(needs) > 2 and needs[2],
        )  # fmt: skip
        return (
            None if gx is None else gx.reshape(x.shape),
            None if gw is None else gw.reshape(w.shape),
            gb,
        )

    parents = (inputs, kernel) if bias is None else (inputs, kernel, bias)
    return record(y.reshape(x.shape[0], *y.shape[1 + (rank == 1) : -1], f), parents, vjp)


__all__ = ["conv", "conv_relu_max_pool", "conv_transpose", "depthwise_conv", "separable_conv"]
