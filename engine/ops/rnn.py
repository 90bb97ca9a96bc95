"""Fused recurrent ops: a whole SimpleRNN, LSTM or GRU sequence as one tape entry.

Each op runs the recurrence with one small GEMM and a few in-place elementwise
calls per step, on one core with BLAS at one thread. The inputs' projection is
computed in blocks of steps on the engine's other threads (`Pipeline`) while
the loop works through the earlier blocks. Backpropagation through time is
written by hand, in blocks of steps from the last: the gates' local
derivatives of a block are computed in contiguous passes just before its
steps, each backward step is one GEMM and a few multiplies on arrays that stay
in cache, and once a block is done its input and weight gradients are GEMMs
over its stacked steps, again on the other threads while the loop goes on.

Semantics are Keras 3's (`keras.src.backend.numpy.rnn` and the cells):
- `mask` `(batch, timesteps)`: at a masked step every state keeps its value
  and the output repeats the previous output (the first state, so the
  initial `h` before any unmasked step), or is zero with `zero_output_for_mask`.
- `go_backwards` processes the last timestep first and returns the outputs in
  processing order, i.e. reversed.
- Dropout masks are sampled by the caller once per sequence, already scaled
  by `1 / (1 - rate)`, with shape `(k, batch, features)`: `k == 1` applies one
  mask to every gate, otherwise gate `g` (Keras order) sees `mask[g]`.

Internally arrays are time-major `(timesteps, batch, features)` in processing
order. LSTM gates are reordered to `(o, i, f, c)` so that the gates using the
recurrent activation are contiguous, and with the default tanh/sigmoid pair
one pass covers all four: a tanh pass (the gates' `sigmoid(x) = tanh(x / 2) / 2
+ 1 / 2`) where NumPy's tanh is AVX-512, else a sigmoid pass (the candidate's
`tanh(x) = 2 sigmoid(2x) - 1`); see `_LSTM_TANH_GATES`.
The LSTM's gates are kept gate-major per step, `(timesteps, 4, batch, units)`:
each step's recurrent GEMM is four `(units, units)` ones in one batched call,
which writes every gate as a contiguous block for the cell's products.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from engine import activations
from engine.backend.tensor import GradientTape, Tensor, record, stop_recording
from engine.ops import nn
from engine.ops import numpy as onp
from engine.ops.batch_parallel import Pipeline, scratch, single_threaded_blas, split_work
from engine.ops.core import as_array, relu_into
from engine.ops.linalg import column_sums, matmul_rows, matmul_rows_grads

__all__ = ["fusable_activation", "gru", "lstm", "simple_rnn"]

# Activations that act on each element independently; the fused ops need
# that to precompute derivatives for all steps at once.
_NOT_ELEMENTWISE = {"softmax", "log_softmax", "glu", "sparsemax"}
_ELEMENTWISE_IDS = {
    id(fn) for fn in activations.ALL_OBJECTS if fn.__name__ not in _NOT_ELEMENTWISE
} | {id(onp.tanh), id(nn.sigmoid), id(nn.relu)}
_KINDS = {
    id(activations.tanh): "tanh",
    id(onp.tanh): "tanh",
    id(activations.sigmoid): "sigmoid",
    id(nn.sigmoid): "sigmoid",
    id(activations.linear): "linear",
    id(activations.relu): "relu",
    id(nn.relu): "relu",
}


def fusable_activation(fn: Callable[..., Any]) -> bool:
    """Whether the fused ops can use `fn`: a built-in elementwise activation.

    Other callables (softmax, user functions) run through the step-by-step
    `RNN` loop instead, which differentiates any op composition.

    Args:
        fn: an activation function.
    """
    return id(fn) in _ELEMENTWISE_IDS


class _Activation:
    """One activation's in-place forward and its derivative for all steps at once."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        if not fusable_activation(fn):
            raise ValueError(
                f"The fused recurrent ops take built-in elementwise activations, got {fn!r}; "
                "run the cell through engine.layers.RNN instead."
            )
        self.fn = fn
        self.kind = _KINDS.get(id(fn), "generic")

    @property
    def needs_preactivation(self) -> bool:
        return self.kind == "generic"

    def apply(self, z: np.ndarray, out: np.ndarray) -> None:
        """`out = fn(z)`; `out` may be `z` itself."""
        if self.kind == "tanh":
            np.tanh(z, out=out)
        elif self.kind == "sigmoid":
            np.multiply(z, 0.5, out=out)
            np.tanh(out, out=out)
            out *= 0.5
            out += 0.5
        elif self.kind == "relu":
            relu_into(z, out)
        elif self.kind == "linear":
            if out is not z:
                np.copyto(out, z)
        else:
            out[...] = self.fn(Tensor(z)).value

    def derivative(self, z: np.ndarray | None, y: np.ndarray) -> np.ndarray:
        """`fn'` at every element, from the outputs `y` (or preactivations `z` when generic)."""
        if self.kind == "tanh":
            d = y * y
            np.subtract(1, d, out=d)
            return d
        if self.kind == "sigmoid":
            return y * (1 - y)
        if self.kind == "relu":
            return (y > 0).astype(y.dtype)
        if self.kind == "linear":
            return np.ones_like(y)
        zt = Tensor(z)
        with stop_recording(), GradientTape() as tape:
            tape.watch(zt)
            out = self.fn(zt)
        grad = tape.gradient(out, zt, output_gradients=np.ones_like(y))
        return np.zeros_like(y) if grad is None else grad


def _grouped_matmul(
    x: np.ndarray,
    w: np.ndarray,
    masks: np.ndarray | None,
    bias: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """`x @ w (+ bias)` where column group `g` of `w` multiplies `x * masks[g]`.

    `x` is `(..., batch, n)`, `masks` `(k, batch, n)` or None; `out`, if given, a
    C-contiguous array of the result's shape to write.
    """
    n = x.shape[-1]
    x2 = x.reshape(-1, n)
    out2 = None if out is None else out.reshape(len(x2), w.shape[1])
    if masks is None:
        # The sequence's input projection, the biggest GEMM of the layer.
        return matmul_rows(x2, w, bias, out=out2).reshape(*x.shape[:-1], w.shape[1])
    out = np.empty((len(x2), w.shape[1]), np.result_type(x2, w)) if out2 is None else out2
    k = len(masks)
    width = w.shape[1] // k

    # By rows, like matmul_rows (split over the engine's threads in a parallel_scope).
    def rows(r0: int, r1: int) -> None:
        for g in range(k):
            cols = slice(g * width, (g + 1) * width)
            xg = x2[r0:r1] * _mask_rows(masks[g], r0, r1)
            np.matmul(xg, w[:, cols], out=out[r0:r1, cols])

    split_work(rows, len(x2), 2.0 * x2.size * w.shape[1])
    if bias is not None:
        out += bias
    return out.reshape(*x.shape[:-1], w.shape[1])


def _mask_rows(mask: np.ndarray, r0: int, r1: int) -> np.ndarray:
    """Rows `r0:r1` of a `(batch, n)` mask repeated down `x`'s flattened `(..., batch)` rows."""
    batch = len(mask)
    if r0 // batch == (r1 - 1) // batch:
        return mask[r0 % batch : (r1 - 1) % batch + 1]
    return mask[np.arange(r0, r1) % batch]


def _grouped_matmul_grads(
    x: np.ndarray,
    w: np.ndarray,
    masks: np.ndarray | None,
    dy: np.ndarray,
    need_x: bool,
    need_w: bool,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Gradients of `_grouped_matmul(x, w, masks)` given the output gradient `dy`.

    `out`, if given, is a C-contiguous array shaped like `x` for the input gradient.
    """
    n, width_all = x.shape[-1], w.shape[1]
    dy2 = dy.reshape(-1, width_all)
    x2 = x.reshape(-1, n)
    out2 = None if out is None or not need_x else out.reshape(x2.shape)
    if masks is None:
        dx2, dw, _ = matmul_rows_grads(x2, w, dy2, need_x, need_w, out=out2)
        return (None if dx2 is None else dx2.reshape(x.shape)), dw
    k = len(masks)
    width = width_all // k
    dx2 = None
    if need_x:
        dx2 = np.empty(x2.shape, np.result_type(dy2, w)) if out2 is None else out2

    # By rows like the forward pass; each part returns its share of dw.
    def rows(r0: int, r1: int) -> np.ndarray | None:
        dw = np.empty_like(w) if need_w else None
        if dx2 is not None:
            dx2[r0:r1] = 0
        for g in range(k):
            cols = slice(g * width, (g + 1) * width)
            mask = _mask_rows(masks[g], r0, r1)
            if dx2 is not None:
                dx2[r0:r1] += (dy2[r0:r1, cols] @ w[:, cols].T) * mask
            if dw is not None:
                dw[:, cols] = (x2[r0:r1] * mask).T @ dy2[r0:r1, cols]
        return dw

    parts = split_work(rows, len(x2), 4.0 * x2.size * width_all)
    dw = sum(parts) if need_w else None
    return (None if dx2 is None else dx2.reshape(x.shape)), dw


class _Sequence:
    """Everything one fused call shares between its forward and backward passes."""

    def __init__(
        self,
        x: np.ndarray,
        mask: Any,
        go_backwards: bool,
        kernel: np.ndarray,
        recurrent_kernel: np.ndarray,
        gate_order: np.ndarray | None,
        dropout_mask: Any,
        recurrent_dropout_mask: Any,
    ) -> None:
        if x.ndim != 3:
            raise ValueError(
                "Recurrent layers take inputs of shape (batch, timesteps, features), "
                f"got {x.shape}."
            )
        self.dtype = kernel.dtype
        self.batch, self.steps, self.features = x.shape
        if self.steps == 0:
            raise ValueError("Recurrent layers need at least one timestep, got a sequence of 0.")
        if x.shape[-1] != kernel.shape[0]:
            raise ValueError(
                f"The inputs have {x.shape[-1]} features but the kernel expects "
                f"{kernel.shape[0]}; build the layer for inputs of this size."
            )
        self.units = recurrent_kernel.shape[0]
        self.go_backwards = go_backwards
        xt = x.transpose(1, 0, 2)
        self.xt = np.ascontiguousarray(xt[::-1] if go_backwards else xt, dtype=self.dtype)
        self.order = gate_order
        self.kernel = kernel if gate_order is None else kernel[:, gate_order]
        self.rkernel = recurrent_kernel if gate_order is None else recurrent_kernel[:, gate_order]
        self.dmask = self._dropout(dropout_mask, self.features)
        self.rmask = self._dropout(recurrent_dropout_mask, self.units)
        self.mask = None
        if mask is not None:
            m = np.asarray(as_array(mask), dtype=bool)
            if m.shape != (self.batch, self.steps):
                raise ValueError(
                    f"The mask must have shape (batch, timesteps) = {(self.batch, self.steps)}, "
                    f"got {m.shape}."
                )
            if not m.all():
                mt = m.T
                self.mask = np.ascontiguousarray(mt[::-1] if go_backwards else mt)
        if self.mask is not None:
            self.maskf = self.mask[:, :, None].astype(self.dtype)
            self.partial = ~self.mask.all(axis=1)
            self.hold = ~self.mask[:, :, None]

    def _dropout(self, masks: Any, size: int) -> np.ndarray | None:
        if masks is None:
            return None
        m = np.asarray(as_array(masks), dtype=self.dtype)
        if m.ndim == 2:
            m = m[None]
        if m.ndim != 3 or m.shape[1:] != (self.batch, size):
            raise ValueError(
                f"Dropout masks must have shape (k, batch, {size}), got {np.shape(masks)}."
            )
        gates = self.kernel.shape[1] // self.units
        if len(m) not in (1, gates):
            raise ValueError(
                f"Dropout masks must come as one for every gate or one per gate (k = 1 or "
                f"{gates}), got k = {len(m)}."
            )
        if self.order is not None and len(m) > 1:
            groups = len(m)
            m = m[[int(self.order[g * self.units]) // self.units for g in range(groups)]]
        return m

    def project_ahead(
        self,
        ahead: Pipeline,
        bias: np.ndarray | None,
        scale: np.ndarray | None = None,
    ) -> tuple[np.ndarray, Iterator[tuple[int, int]]]:
        """The input contribution to every step's preactivations, `(T, B, gates * units)`,
        projected a block of steps at a time on `ahead`'s threads.

        Returns the array and an iterator over its blocks of steps, in order, that
        yields each block once its rows are written: the first is projected here
        (no waiting for a thread to wake), the others beside the loop over the
        earlier ones. With `scale`, a per-column vector of powers of two (such as
        -1 and -2), the result is that contribution times `scale`, exactly: the
        kernel and bias are scaled instead of the much larger result.
        """
        kernel, bias = self._scaled(bias, scale)
        out = np.empty((self.steps, self.batch, kernel.shape[1]), np.result_type(self.xt, kernel))
        blocks = _blocks(self.steps, out[0].nbytes)

        def project(t0: int, t1: int) -> None:
            _grouped_matmul(self.xt[t0:t1], kernel, self.dmask, bias, out[t0:t1])

        return out, _run_ahead(ahead, blocks, project)

    def project_gates_ahead(
        self,
        ahead: Pipeline,
        bias: np.ndarray | None,
        scale: np.ndarray | None,
        gates: int,
    ) -> tuple[np.ndarray, Iterator[tuple[int, int]]]:
        """`project_ahead` with each step's gates laid out gate-major: `(T, gates, B, units)`.

        Each step's preactivations `out[t]` are then one contiguous block per
        gate: the recurrent GEMM writes them gate-major too (`_gate_kernels`),
        and the cell's products need no transposing copy. A block of steps is
        one batched call of `(B, features) x (features, units)` GEMMs: with
        OpenBLAS's AVX-512 kernels as fast as the one wide GEMM (216 against
        226 us for the benchmark's 8 steps), with its Haswell kernels 14% slower
        (358 against 314 us); all blocks but the first run on the thread beside
        the loop.
        """
        kernel, bias = self._scaled(bias, scale)
        units = kernel.shape[1] // gates
        w4 = _gate_kernels(kernel, gates)
        b4 = None if bias is None else bias.reshape(gates, 1, units)
        dtype = np.result_type(self.xt, kernel)
        out = np.empty((self.steps, gates, self.batch, units), dtype)
        blocks = _blocks(self.steps, out[0].nbytes)
        masks = self.dmask

        def project(t0: int, t1: int) -> None:
            x = self.xt[t0:t1, None]  # (n, 1, B, features): the same inputs for every gate
            if masks is not None:
                x = x * masks  # one mask for every gate, or one per gate
            np.matmul(x, w4, out=out[t0:t1])
            if b4 is not None:
                out[t0:t1] += b4

        return out, _run_ahead(ahead, blocks, project)

    def _scaled(
        self, bias: np.ndarray | None, scale: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The kernel and bias times `scale` (column by column), or as they are."""
        if scale is None:
            return self.kernel, bias
        return self.kernel * scale, None if bias is None else bias * scale

    def masked_out(self, value: np.ndarray) -> np.ndarray:
        """`value` (T, B, n) with masked steps zeroed."""
        return value if self.mask is None else value * self.maskf

    def unorder(self, grad: np.ndarray | None) -> np.ndarray | None:
        """Undo the internal gate order on the last axis of a gradient."""
        if grad is None or self.order is None:
            return grad
        out = np.empty_like(grad)
        out[..., self.order] = grad
        return out

    def hold_rows(self, t: int, new: np.ndarray, old: np.ndarray) -> None:
        """At a partly masked step, keep the old state in the masked rows."""
        if self.mask is not None and self.partial[t]:
            np.copyto(new, old, where=self.hold[t])

    def held_back(self, t: int, back: np.ndarray, dh: np.ndarray) -> np.ndarray:
        """The state gradient before step `t`: `back`, plus, at a partly masked step,
        the masked rows' `dh` (their state was held, so its gradient passes through)."""
        if self.mask is not None and self.partial[t]:
            back += dh * self.hold[t]
        return back


def _pack(
    values: Sequence[np.ndarray],
    parents: tuple[Any, ...],
    vjp: Callable[[list[np.ndarray | None], tuple[bool, ...]], tuple[Any, ...]],
) -> list[Tensor]:
    """Record one tape entry for an op with several outputs and return them as tensors.

    The outputs live in one flat buffer: the op's entry produces the buffer and
    each output is a view taken by a small entry that routes its gradient back
    into the buffer's gradient.
    """
    if len(values) == 1:
        return [record(values[0], parents, lambda g, n: vjp([g], n))]
    sizes = [v.size for v in values]
    offsets = np.cumsum([0, *sizes])
    flat = np.concatenate([v.reshape(-1) for v in values])

    def flat_vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        parts = [g[offsets[i] : offsets[i + 1]].reshape(v.shape) for i, v in enumerate(values)]
        return vjp(parts, n)

    buffer = record(flat, parents, flat_vjp)
    outs = []
    for i, v in enumerate(values):
        view = flat[offsets[i] : offsets[i + 1]].reshape(v.shape)

        def unpack_vjp(g: np.ndarray, n: tuple[bool, ...], i: int = i) -> tuple[np.ndarray]:
            full = np.zeros_like(flat)
            full[offsets[i] : offsets[i + 1]] = g.reshape(-1)
            return (full,)

        outs.append(record(view, (buffer,), unpack_vjp))
    return outs


Backward = Callable[[np.ndarray, list[np.ndarray | None], tuple[bool, ...]], tuple[Any, ...]]


def _finish(
    seq: _Sequence,
    ys: np.ndarray,
    states: list[np.ndarray],
    parents: tuple[Any, ...],
    backward: Backward,
    return_sequences: bool,
    return_state: bool,
    zero_output_for_mask: bool,
) -> Tensor | list[Tensor]:
    """Assemble the outputs from the carried outputs `ys` (T, B, u) and record the op."""
    zero = zero_output_for_mask and seq.mask is not None
    if return_sequences:
        # Always a copy: with a batch of one the transposed steps are contiguous already,
        # and the output must not share memory with the states the backward pass reads.
        out = np.array((seq.masked_out(ys) if zero else ys).transpose(1, 0, 2), order="C")
    else:
        out = ys[-1] * seq.maskf[-1] if zero else ys[-1].copy()
    values = [out, *(s.copy() for s in states)] if return_state else [out]

    def vjp(grads: list[np.ndarray | None], n: tuple[bool, ...]) -> tuple[Any, ...]:
        dys = np.zeros_like(ys)
        if return_sequences:
            dys[...] = grads[0].transpose(1, 0, 2)
        else:
            dys[-1] = grads[0]
        if zero:
            dys *= seq.maskf
        dstates = list(grads[1:]) if return_state else [None] * len(states)
        return backward(dys, dstates, n)

    outs = _pack(values, parents, vjp)
    return outs if return_state else outs[0]


def _state_grads(
    dstates: list[np.ndarray | None], shape: tuple[int, ...], dtype: np.dtype
) -> list[np.ndarray]:
    """Writable gradients of the final states (zeros where nothing flowed back)."""
    return [np.zeros(shape, dtype) if g is None else np.array(g, dtype=dtype) for g in dstates]


# _WORK: the backward passes' preactivation gradients (6.5 MB for the LSTM benchmark
# model) and the LSTM's per-block derivatives live in per-thread scratch buffers, reused
# from step to step: never needed after the op's backward returns, and allocating them
# anew each step let glibc shrink and regrow its heap, which cost the LSTM benchmark
# about 6,500 page faults and 10 ms per training step (43.7 against 49-56 ms).

# Bytes of per-step gate values in a block of steps (a quarter of L2 here): what one
# projection or gradient call of a Pipeline, and one backward derivative pass, work on.
_BLOCK_BYTES = 512 << 10


@contextlib.contextmanager
def _recurrence() -> Iterator[Pipeline]:
    """Where a loop over timesteps runs: a `Pipeline` for the big GEMMs beside it, and,
    when that has a thread, BLAS held at one thread for the loop's small per-step GEMMs
    (see `single_threaded_blas`). Without one (`set_split_threads(1)`) the pipeline's
    calls run inline and BLAS keeps its own threads for them and the loop."""
    pipeline = Pipeline()
    hold = single_threaded_blas() if pipeline.threaded else contextlib.nullcontext()
    with hold, pipeline:
        yield pipeline


def _run_ahead(
    ahead: Pipeline, blocks: list[tuple[int, int]], project: Callable[[int, int], None]
) -> Iterator[tuple[int, int]]:
    """Queue `project` on every block but the first on `ahead` now; the iterator
    projects the first here (no waiting for a thread to wake), then yields each
    block, in order, once its call is done."""
    for block in blocks[1:]:
        ahead.submit(project, *block)

    def ready() -> Iterator[tuple[int, int]]:
        project(*blocks[0])
        yield blocks[0]
        for k, block in enumerate(blocks[1:]):
            ahead.result(k)
            yield block

    return ready()


def _blocks(steps: int, step_bytes: int) -> list[tuple[int, int]]:
    """`(t0, t1)` blocks of about `_BLOCK_BYTES` covering `range(steps)`, in order."""
    size = max(1, _BLOCK_BYTES // max(1, step_bytes))
    return [(t0, min(steps, t0 + size)) for t0 in range(0, steps, size)]


class _BlockGrads:
    """A recurrent op's input, kernel, recurrent-kernel and bias gradients, block by block.

    The backward loop hands over each block of steps once its preactivation
    gradients `d[t0:t1]` are final; `block` (run on a Pipeline thread while the
    loop goes on with earlier steps) writes that block's input gradients and
    returns its share of the weight gradients, which `total` adds in block
    order.

    Args:
        seq: the sequence.
        d: the preactivation gradients `(T, B, gates * units)` the loop writes.
        need_x, need_kernel: which of the input-side gradients to compute.
        rec: for the recurrent kernel's gradient (None if not needed), tuples
            `(h, masks, w, cols)`: column block `cols` of it is `h`-by-`d[..., cols]`
            as `_grouped_matmul_grads` computes for `w`.
        need_bias: whether to sum `d` over steps and batch.
        recurrent_bias: also sum `d` over steps and batch before `to_input`.
        to_input: called with `(t0, t1)` after the recurrent-side sums and before
            the input side, to turn `d[t0:t1]` into the input side's gradients.
    """

    def __init__(
        self,
        seq: _Sequence,
        d: np.ndarray,
        need_x: bool,
        need_kernel: bool,
        rec: list[tuple[np.ndarray, np.ndarray | None, np.ndarray, slice]] | None,
        need_bias: bool,
        recurrent_bias: bool = False,
        to_input: Callable[[int, int], None] | None = None,
    ) -> None:
        self.seq, self.d = seq, d
        self.need_x, self.need_kernel = need_x, need_kernel
        self.rec, self.need_bias = rec, need_bias
        self.recurrent_bias, self.to_input = recurrent_bias, to_input
        self.dxt = np.empty(seq.xt.shape, np.result_type(d, seq.kernel)) if need_x else None

    def block(self, t0: int, t1: int) -> tuple[Any, ...]:
        d = self.d[t0:t1]
        drk = None
        if self.rec is not None:
            drk = [
                _rec_weight_grad(h[t0:t1], w, masks, d[..., cols]) for h, masks, w, cols in self.rec
            ]
        d_rec_bias = _step_sums(d) if self.recurrent_bias else None
        if self.to_input is not None:
            self.to_input(t0, t1)
        out = None if self.dxt is None else self.dxt[t0:t1]
        dk = _grouped_matmul_grads(
            self.seq.xt[t0:t1],
            self.seq.kernel,
            self.seq.dmask,
            d,
            self.need_x,
            self.need_kernel,
            out,
        )[1]
        return drk, dk, _step_sums(d) if self.need_bias else None, d_rec_bias

    def total(self, parts: list[tuple[Any, ...]]) -> tuple[Any, ...]:
        """`(dx, dkernel, drecurrent_kernel, dbias, drecurrent_bias)`.

        `dx` is batch-major, in the inputs' order; the sums add `parts` (the
        blocks' results, as `block` returned them) in order.
        """
        dx = None
        if self.dxt is not None:
            dx = (self.dxt[::-1] if self.seq.go_backwards else self.dxt).transpose(1, 0, 2)
        drk = None
        if self.rec is not None:
            w_all = self.seq.rkernel
            drk = np.empty_like(w_all)
            for i, (_, _, _, cols) in enumerate(self.rec):
                drk[:, cols] = sum(p[0][i] for p in parts)
        dk = sum(p[1] for p in parts) if self.need_kernel else None
        dbias = sum(p[2] for p in parts) if self.need_bias else None
        d_rec_bias = sum(p[3] for p in parts) if self.recurrent_bias else None
        return dx, dk, drk, dbias, d_rec_bias


def _step_sums(d: np.ndarray) -> np.ndarray:
    """`d` (T, B, n) summed over steps and batch, as one GEMV (a bias gradient)."""
    return column_sums(d.reshape(-1, d.shape[-1]))


def _rec_forward(h: np.ndarray, w: np.ndarray, masks: np.ndarray | None, out: np.ndarray) -> None:
    """`out = h @ w`, with recurrent dropout masks per gate group."""
    if masks is None:
        np.matmul(h, w, out=out)
    else:
        _grouped_matmul(h, w, masks, out=out)


def _gate_kernels(w: np.ndarray, gates: int) -> np.ndarray:
    """`(n, gates * units)` -> `(gates, n, units)`, contiguous: `x @ result` is `x @ w`
    laid out gate-major, as `gates` GEMMs of one gate's width. For the LSTM's
    recurrent `(B, units) x (units, units)` ones OpenBLAS's AVX-512 kernels take
    a small-matrix path: 17.5 us for the four against 23.4 us for the one
    `(64, 64) x (64, 256)`, measured on a 2-core Xeon (25.9 against 25.2 us with
    its Haswell kernels)."""
    n, width = w.shape
    return np.ascontiguousarray(w.reshape(n, gates, width // gates).transpose(1, 0, 2))


def _rec_forward_gates(
    h: np.ndarray, w4: np.ndarray, masks: np.ndarray | None, out: np.ndarray
) -> None:
    """`out[g] = (h * masks[g]) @ w4[g]` for every gate `g` (one mask for all when
    there is one), as one batched GEMM."""
    if masks is not None:
        h = h * masks
    np.matmul(h, w4, out=out)


def _rec_backward(
    da: np.ndarray, h: np.ndarray, w: np.ndarray, wt: np.ndarray, masks: np.ndarray | None
) -> np.ndarray:
    """Gradient of `_rec_forward` with respect to `h`, as a new array."""
    if masks is None:
        return da @ wt
    return _grouped_matmul_grads(h, w, masks, da, True, False)[0]


def _rec_weight_grad(
    h_prev: np.ndarray, w: np.ndarray, masks: np.ndarray | None, da: np.ndarray
) -> np.ndarray:
    """Gradient of the recurrent kernel: one GEMM over the given steps, stacked."""
    return _grouped_matmul_grads(h_prev, w, masks, da, False, True)[1]


def _numpy_has_avx512_tanh() -> bool:
    """Whether NumPy runs its AVX-512 float32 tanh on this CPU (its SIMD dispatch)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return False
    return bool(features.get("AVX512_SKX"))


# The LSTM's fused gate activations take the tanh form (its o, i and f gates
# as tanh(x / 2) / 2 + 1 / 2, its candidate as tanh(x)) where NumPy's tanh is
# AVX-512, and `_sigmoid_of_negated`'s exp form elsewhere. Measured per step's
# (4, 64, 64) float32 gates on a 2-core Xeon with AVX-512: 12.4 us for the tanh
# form against 17.1 us for the exp form and its candidate fix-up; on AVX2
# machines NumPy's tanh is the slow one (see `_sigmoid_of_negated`). The two
# forms agree to float rounding; the choice is fixed per machine.
_LSTM_TANH_GATES = _numpy_has_avx512_tanh()


def _sigmoid_of_negated(a: np.ndarray) -> None:
    """In place: `a` holds `-x`; afterwards it holds `sigmoid(x) = 1 / (1 + exp(-x))`.

    Three passes, one of them `exp`: on an AVX2 machine about 30% faster than
    `np.tanh` alone on float32 (NumPy's AVX2 tanh is slow there), which the fused
    ops used before as `tanh(x / 2) / 2 + 1 / 2`. With AVX-512 the tanh form was
    as fast on one Xeon and faster on another (`_LSTM_TANH_GATES`, which the
    LSTM follows). Large `-x` overflow to inf, which gives the limit 0 (callers
    run under `np.errstate(over="ignore")`).
    """
    np.exp(a, out=a)
    a += 1
    np.divide(1, a, out=a)


def _activate_gates(z: np.ndarray, pre: np.ndarray | None, fast: bool, act: _Activation) -> None:
    """Apply the gates' activation to preactivations `z` in place, keeping them in `pre` first.

    With `fast` the activation is a sigmoid and `z` holds the negated preactivations.
    """
    if pre is not None:
        pre[...] = z
    if fast:
        _sigmoid_of_negated(z)
    else:
        act.apply(z, z)


def _gradients(
    n: tuple[bool, ...],
    dx: np.ndarray | None,
    dstates0: list[np.ndarray],
    dk: np.ndarray | None,
    drk: np.ndarray | None,
    dbias: np.ndarray | None,
) -> tuple[Any, ...]:
    """The parents' gradients in order: inputs, initial states, kernel, recurrent kernel, bias."""
    state_grads = [g if need else None for g, need in zip(dstates0, n[1 : 1 + len(dstates0)])]
    return (dx, *state_grads, dk, drk, dbias)


def _parents(inputs: Any, states: Sequence[Any], *weights: Any) -> tuple[Any, ...]:
    return (inputs, *states, *(w for w in weights if w is not None))


def _as_float(x: Any, dtype: np.dtype) -> np.ndarray:
    return np.asarray(as_array(x), dtype=dtype)


# SimpleRNN ----------------------------------------------------------------------------
def simple_rnn(
    inputs: Any,
    initial_state: Any,
    kernel: Any,
    recurrent_kernel: Any,
    bias: Any = None,
    *,
    mask: Any = None,
    activation: Callable[..., Any] = activations.tanh,
    go_backwards: bool = False,
    return_sequences: bool = False,
    return_state: bool = False,
    zero_output_for_mask: bool = False,
    dropout_mask: Any = None,
    recurrent_dropout_mask: Any = None,
) -> Tensor | list[Tensor]:
    """A fully connected RNN over a whole sequence: `h = activation(x W + h R + b)`.

    Args:
        inputs: `(batch, timesteps, features)`.
        initial_state: the initial `h`, `(batch, units)`.
        kernel: `(features, units)`.
        recurrent_kernel: `(units, units)`.
        bias: `(units,)` or None.
        mask: optional boolean `(batch, timesteps)`, True for the steps to use.
        activation: a built-in elementwise activation (see `fusable_activation`).
        go_backwards: process the last step first (the outputs come out reversed).
        return_sequences: return every step's output, not just the last.
        return_state: also return the final `h`.
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        dropout_mask: optional scaled input dropout mask `(1, batch, features)`.
        recurrent_dropout_mask: optional scaled mask on `h`, `(1, batch, units)`.

    Returns:
        The output, or `[output, h]` with `return_state`.

    Example:
        >>> x = np.ones((2, 5, 3), "float32")
        >>> k, r = np.ones((3, 4), "float32"), np.eye(4, dtype="float32")
        >>> simple_rnn(x, np.zeros((2, 4), "float32"), k, r).shape
        (2, 4)
    """
    w, r = as_array(kernel), as_array(recurrent_kernel)
    seq = _Sequence(
        as_array(inputs), mask, go_backwards, w, r, None, dropout_mask, recurrent_dropout_mask
    )
    act = _Activation(activation)
    has_bias = bias is not None
    steps, batch, units = seq.steps, seq.batch, seq.units
    h_all = np.empty((steps + 1, batch, units), seq.dtype)
    h_all[0] = as_array(initial_state)
    keep_pre = act.needs_preactivation
    with _recurrence() as ahead:
        pre, blocks = seq.project_ahead(ahead, _as_float(bias, seq.dtype) if has_bias else None)
        for t0, t1 in blocks:
            for t in range(t0, t1):
                h = h_all[t + 1]
                _rec_forward(h_all[t], r, seq.rmask, h)
                h += pre[t]
                if keep_pre:
                    pre[t] = h
                act.apply(h, h)
                seq.hold_rows(t, h, h_all[t])

    def backward(
        dys: np.ndarray, dstates: list[np.ndarray | None], n: tuple[bool, ...]
    ) -> tuple[Any, ...]:
        (dh,) = _state_grads(dstates, (batch, units), seq.dtype)
        deriv = seq.masked_out(act.derivative(pre if keep_pre else None, h_all[1:]))
        dpre = scratch("simple_rnn_dpre", deriv.shape, deriv.dtype)  # see _WORK
        rt = np.ascontiguousarray(r.T)
        rec = [(h_all[:-1], seq.rmask, r, slice(None))] if n[3] else None
        grads = _BlockGrads(seq, dpre, n[0], n[2], rec, has_bias and n[4])
        with _recurrence() as behind:
            for t0, t1 in reversed(_blocks(steps, dpre[0].nbytes)):
                for t in range(t1 - 1, t0 - 1, -1):
                    dh += dys[t]
                    np.multiply(dh, deriv[t], out=dpre[t])
                    back = _rec_backward(dpre[t], h_all[t], r, rt, seq.rmask)
                    dh = seq.held_back(t, back, dh)
                behind.submit(grads.block, t0, t1)
            dx, dk, drk, dbias, _ = grads.total(behind.results())
        return _gradients(n, dx, [dh], dk, drk, dbias)

    return _finish(
        seq,
        h_all[1:],
        [h_all[-1]],
        _parents(inputs, [initial_state], kernel, recurrent_kernel, bias),
        backward,
        return_sequences,
        return_state,
        zero_output_for_mask,
    )


# LSTM ---------------------------------------------------------------------------------
def lstm(
    inputs: Any,
    initial_state: Sequence[Any],
    kernel: Any,
    recurrent_kernel: Any,
    bias: Any = None,
    *,
    mask: Any = None,
    activation: Callable[..., Any] = activations.tanh,
    recurrent_activation: Callable[..., Any] = activations.sigmoid,
    go_backwards: bool = False,
    return_sequences: bool = False,
    return_state: bool = False,
    zero_output_for_mask: bool = False,
    dropout_mask: Any = None,
    recurrent_dropout_mask: Any = None,
) -> Tensor | list[Tensor]:
    """A long short-term memory layer over a whole sequence, Keras gate order `i, f, c, o`.

    `i, f, o = recurrent_activation(...)`, `c = f * c + i * activation(...)`,
    `h = o * activation(c)`, each gate's preactivation `x W + h R + b`.

    Args:
        inputs: `(batch, timesteps, features)`.
        initial_state: `[h, c]`, each `(batch, units)`.
        kernel: `(features, 4 * units)`.
        recurrent_kernel: `(units, 4 * units)`.
        bias: `(4 * units,)` or None.
        mask: optional boolean `(batch, timesteps)`, True for the steps to use.
        activation: the cell and candidate activation (built-in, elementwise).
        recurrent_activation: the gates' activation (built-in, elementwise).
        go_backwards: process the last step first (the outputs come out reversed).
        return_sequences: return every step's output, not just the last.
        return_state: also return the final `h` and `c`.
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        dropout_mask: optional scaled input dropout masks, `(1 or 4, batch, features)`.
        recurrent_dropout_mask: optional scaled masks on `h`, `(1 or 4, batch, units)`.

    Returns:
        The output, or `[output, h, c]` with `return_state`.

    Example:
        >>> x = np.ones((2, 5, 3), "float32")
        >>> k, r = np.ones((3, 16), "float32"), np.ones((4, 16), "float32")
        >>> h0 = np.zeros((2, 4), "float32")
        >>> [t.shape for t in lstm(x, [h0, h0], k, r, return_state=True)]
        [(2, 4), (2, 4), (2, 4)]
    """
    w, r = as_array(kernel), as_array(recurrent_kernel)
    units = r.shape[0]
    order = np.r_[3 * units : 4 * units, 0 : 3 * units]
    seq = _Sequence(
        as_array(inputs), mask, go_backwards, w, r, order, dropout_mask, recurrent_dropout_mask
    )
    act, ract = _Activation(activation), _Activation(recurrent_activation)
    fast = act.kind == "tanh" and ract.kind == "sigmoid"
    keep_pre = act.needs_preactivation or ract.needs_preactivation
    has_bias = bias is not None
    steps, batch = seq.steps, seq.batch
    s3 = 3 * units
    rk = seq.rkernel
    scale = None
    rk_fwd = rk
    tanh_gates = fast and _LSTM_TANH_GATES
    if fast:
        # One pass over every gate's block serves all four, the preactivations
        # scaled per gate through the kernels and bias:
        # - tanh form, sigmoid(x) = tanh(x / 2) / 2 + 1 / 2: the o, i and f
        #   preactivations halved; the candidate's tanh(c) is written to `cand`
        #   and its block keeps the preactivation.
        # - exp form, tanh(x) = 2 sigmoid(2x) - 1: the gate preactivations
        #   negated and the candidate's doubled too (its block then holds
        #   (1 + c) / 2; its true value is kept in `cand`).
        gate_scale, candidate_scale = (0.5, 1) if tanh_gates else (-1, -2)
        scale = np.full(4 * units, gate_scale, seq.dtype)
        scale[s3:] = candidate_scale
        rk_fwd = rk * scale
    # Gate-major steps: each step's gates are four contiguous (batch, units) blocks, in
    # the internal order o, i, f, c, written so by the projection and the recurrent GEMM.
    r4 = _gate_kernels(rk_fwd, 4)
    h_all = np.empty((steps + 1, batch, units), seq.dtype)
    # What the backward pass multiplies the o, i and f gates' derivatives by, kept
    # side by side per step like the gates: tanh(c), the candidate, and the cell
    # state before the step (the last entry holds only the final state).
    held = np.empty((steps + 1, 3, batch, units), seq.dtype)
    tc, cand, c_all = held[:-1, 0], held[:-1, 1], held[:, 2]
    h_all[0] = as_array(initial_state[0])
    c_all[0] = as_array(initial_state[1])
    rec = np.empty((4, batch, units), seq.dtype)
    ig = np.empty((batch, units), seq.dtype)
    with np.errstate(over="ignore"), _recurrence() as ahead:  # see _sigmoid_of_negated
        b = _as_float(bias, seq.dtype)[order] if has_bias else None
        gates, blocks = seq.project_gates_ahead(ahead, b, scale, 4)
        pre = np.empty_like(gates) if keep_pre else None
        for t0, t1 in blocks:
            for t in range(t0, t1):
                a = gates[t]
                _rec_forward_gates(h_all[t], r4, seq.rmask, rec)
                a += rec
                if pre is not None:
                    pre[t] = a
                o_t, i_t, f_t, c_t = a
                if tanh_gates:
                    sigmoids = a[:3]
                    np.tanh(sigmoids, out=sigmoids)
                    np.tanh(c_t, out=cand[t])
                    sigmoids *= 0.5
                    sigmoids += 0.5
                elif fast:
                    _sigmoid_of_negated(a)
                    np.multiply(c_t, 2, out=cand[t])
                    cand[t] -= 1
                else:
                    ract.apply(a[:3], a[:3])
                    act.apply(c_t, cand[t])
                c = c_all[t + 1]
                np.multiply(f_t, c_all[t], out=c)
                np.multiply(i_t, cand[t], out=ig)
                c += ig
                act.apply(c, tc[t])
                h = h_all[t + 1]
                np.multiply(o_t, tc[t], out=h)
                seq.hold_rows(t, h, h_all[t])
                seq.hold_rows(t, c, c_all[t])

    def backward(
        dys: np.ndarray, dstates: list[np.ndarray | None], n: tuple[bool, ...]
    ) -> tuple[Any, ...]:
        dh, dc = _state_grads(dstates, (batch, units), seq.dtype)
        o, i, f = gates[:, 0], gates[:, 1], gates[:, 2]

        def local_derivatives(t0: int, t1: int) -> tuple[np.ndarray, ...]:
            """Steps t0:t1's gate factors `(n, 4, batch, units)`, `o * tanh'(c)` and
            forget factors.

            A step's gate gradients are `dh` times its o factor and `dc` times the
            others: each gate's derivative times the value the gate multiplies
            (`tanh(c)`, the candidate, the previous cell state, the input gate),
            two passes per block here instead of four per step in the loop.
            """
            g = gates[t0:t1]
            if tanh_gates:
                # s (1 - s) for the gates; 1 - tanh(c)**2 for the candidate, whose
                # block holds its preactivation.
                deriv = scratch("lstm_deriv", g.shape, g.dtype)  # see _WORK
                np.subtract(1, g[:, :3], out=deriv[:, :3])
                deriv[:, :3] *= g[:, :3]
                np.square(cand[t0:t1], out=deriv[:, 3])
                np.subtract(1, deriv[:, 3], out=deriv[:, 3])
            elif fast:
                # s (1 - s) for the gates, and for the candidate block (1 + c) / 2 it
                # gives (1 - c**2) / 4: two passes over the blocks cover all four.
                deriv = np.subtract(1, g, out=scratch("lstm_deriv", g.shape, g.dtype))  # _WORK
                deriv *= g
                deriv[:, 3] *= 4
            else:
                z = None if pre is None else pre[t0:t1]
                deriv = np.empty_like(g)
                deriv[:, :3] = ract.derivative(None if z is None else z[:, :3], g[:, :3])
                deriv[:, 3] = act.derivative(None if z is None else z[:, 3], cand[t0:t1])
            deriv[:, :3] *= held[t0:t1]
            deriv[:, 3] *= i[t0:t1]
            p_c = act.derivative(
                c_all[t0 + 1 : t1 + 1] if act.needs_preactivation else None, tc[t0:t1]
            )
            p_c *= o[t0:t1]
            f_keep = f[t0:t1]
            if seq.mask is not None:
                deriv *= seq.maskf[t0:t1, None]
                p_c *= seq.maskf[t0:t1]
                f_keep = np.where(seq.hold[t0:t1], 1, f_keep)
            return deriv, p_c, f_keep

        dgates = scratch("lstm_dgates", (steps, batch, 4 * units), seq.dtype)  # see _WORK
        # Each step's gate gradients, written gate-major into its (batch, 4 * units) rows.
        by_gate = dgates.reshape(steps, batch, 4, units).transpose(0, 2, 1, 3)
        rt = np.ascontiguousarray(rk.T)
        tmp = np.empty((batch, units), seq.dtype)
        prod = np.empty((4, batch, units), seq.dtype)
        rec = [(h_all[:-1], seq.rmask, rk, slice(None))] if n[4] else None
        grads = _BlockGrads(seq, dgates, n[0], n[3], rec, has_bias and n[5])
        with _recurrence() as behind:
            # In blocks of steps, last first: each block's derivatives are still in cache
            # when its steps read them, and its weight and input gradients are computed
            # on another thread while the loop goes on with the earlier blocks.
            for t0, t1 in reversed(_blocks(steps, gates[0].nbytes)):
                deriv, p_c, f_keep = local_derivatives(t0, t1)
                for t in range(t1 - 1, t0 - 1, -1):
                    k = t - t0
                    if return_sequences or t == steps - 1:
                        dh += dys[t]
                    np.multiply(dh, p_c[k], out=tmp)
                    dc += tmp
                    # The output gate's block by dh and the others' by dc, all
                    # contiguous; one strided copy writes them into the step's rows.
                    np.multiply(dh, deriv[k, 0], out=prod[0])
                    np.multiply(dc, deriv[k, 1:], out=prod[1:])
                    np.copyto(by_gate[t], prod)
                    dc *= f_keep[k]
                    back = _rec_backward(dgates[t], h_all[t], rk, rt, seq.rmask)
                    dh = seq.held_back(t, back, dh)
                behind.submit(grads.block, t0, t1)
            dx, dk, drk, dbias, _ = grads.total(behind.results())
        return _gradients(n, dx, [dh, dc], *(seq.unorder(g) for g in (dk, drk, dbias)))

    return _finish(
        seq,
        h_all[1:],
        [h_all[-1], c_all[-1]],
        _parents(inputs, initial_state, kernel, recurrent_kernel, bias),
        backward,
        return_sequences,
        return_state,
        zero_output_for_mask,
    )


# GRU ----------------------------------------------------------------------------------
def gru(
    inputs: Any,
    initial_state: Any,
    kernel: Any,
    recurrent_kernel: Any,
    bias: Any = None,
    *,
    mask: Any = None,
    activation: Callable[..., Any] = activations.tanh,
    recurrent_activation: Callable[..., Any] = activations.sigmoid,
    reset_after: bool = True,
    go_backwards: bool = False,
    return_sequences: bool = False,
    return_state: bool = False,
    zero_output_for_mask: bool = False,
    dropout_mask: Any = None,
    recurrent_dropout_mask: Any = None,
) -> Tensor | list[Tensor]:
    """A gated recurrent unit over a whole sequence, Keras gate order `z, r, h`.

    `z, r = recurrent_activation(...)`, candidate
    `hh = activation(x W_h + r * (h R_h + b_rh))` with `reset_after` (else
    `activation(x W_h + (r * h) R_h)`), and `h = z * h + (1 - z) * hh`.

    Args:
        inputs: `(batch, timesteps, features)`.
        initial_state: the initial `h`, `(batch, units)`.
        kernel: `(features, 3 * units)`.
        recurrent_kernel: `(units, 3 * units)`.
        bias: `(2, 3 * units)` (input and recurrent biases) with `reset_after`,
            `(3 * units,)` without, or None.
        mask: optional boolean `(batch, timesteps)`, True for the steps to use.
        activation: the candidate's activation (built-in, elementwise).
        recurrent_activation: the gates' activation (built-in, elementwise).
        reset_after: apply the reset gate after the recurrent matmul (cuDNN style).
        go_backwards: process the last step first (the outputs come out reversed).
        return_sequences: return every step's output, not just the last.
        return_state: also return the final `h`.
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        dropout_mask: optional scaled input dropout masks, `(1 or 3, batch, features)`.
        recurrent_dropout_mask: optional scaled masks on `h`, `(1 or 3, batch, units)`.

    Returns:
        The output, or `[output, h]` with `return_state`.

    Example:
        >>> x = np.ones((2, 5, 3), "float32")
        >>> k, r = np.ones((3, 12), "float32"), np.ones((4, 12), "float32")
        >>> gru(x, np.zeros((2, 4), "float32"), k, r, return_sequences=True).shape
        (2, 5, 4)
    """
    w, r = as_array(kernel), as_array(recurrent_kernel)
    seq = _Sequence(
        as_array(inputs), mask, go_backwards, w, r, None, dropout_mask, recurrent_dropout_mask
    )
    act, ract = _Activation(activation), _Activation(recurrent_activation)
    fast = act.kind == "tanh" and ract.kind == "sigmoid"
    has_bias = bias is not None
    b = _as_float(bias, seq.dtype) if has_bias else None
    expected = (2, 3 * seq.units) if reset_after else (3 * seq.units,)
    if b is not None and b.shape != expected:
        raise ValueError(
            f"A GRU with reset_after={reset_after} takes a bias of shape {expected}, got {b.shape}."
        )
    variant = _gru_reset_after if reset_after else _gru_reset_before
    return variant(
        seq,
        _parents(inputs, [initial_state], kernel, recurrent_kernel, bias),
        initial_state,
        b,
        act,
        ract,
        fast,
        (return_sequences, return_state, zero_output_for_mask),
    )


def _negated_gates(units: int, dtype: np.dtype) -> np.ndarray:
    """Column scales that negate a GRU's z and r preactivations, for _sigmoid_of_negated."""
    scale = np.ones(3 * units, dtype)
    scale[: 2 * units] = -1
    return scale


def _gru_derivative(
    act: _Activation,
    ract: _Activation,
    gates: np.ndarray,
    pre: np.ndarray | None,
    units: int,
    fast: bool,
) -> np.ndarray:
    """The local derivative of every gate column: `z, r` then the candidate."""
    s2 = 2 * units
    if fast:
        # s (1 - s) in two contiguous passes, then the tanh column's 1 - c**2.
        deriv = np.subtract(1, gates)
        deriv *= gates
        deriv[..., s2:] = act.derivative(None, gates[..., s2:])
        return deriv
    deriv = np.empty_like(gates)
    deriv[..., :s2] = ract.derivative(None if pre is None else pre[..., :s2], gates[..., :s2])
    deriv[..., s2:] = act.derivative(None if pre is None else pre[..., s2:], gates[..., s2:])
    return deriv


def _gru_reset_after(
    seq: _Sequence,
    parents: tuple[Any, ...],
    initial_state: Any,
    b: np.ndarray | None,
    act: _Activation,
    ract: _Activation,
    fast: bool,
    outputs: tuple[bool, bool, bool],
) -> Tensor | list[Tensor]:
    steps, batch, units = seq.steps, seq.batch, seq.units
    s2 = 2 * units
    rk = seq.rkernel
    keep_pre = act.needs_preactivation or ract.needs_preactivation
    folded = None
    if b is not None:
        # The recurrent biases of z and r simply add to the input ones.
        folded = b[0].copy()
        folded[:s2] += b[1, :s2]
    scale = _negated_gates(units, seq.dtype) if fast else None
    rk_fwd = rk if scale is None else rk * scale
    h_all = np.empty((steps + 1, batch, units), seq.dtype)
    h_all[0] = as_array(initial_state)
    hh_all = np.empty((steps, batch, units), seq.dtype)
    diff = np.empty((steps, batch, units), seq.dtype)  # h_prev - candidate: dh/dz
    rec = np.empty((batch, 3 * units), seq.dtype)
    tmp = np.empty((batch, units), seq.dtype)
    with np.errstate(over="ignore"), _recurrence() as ahead:  # see _sigmoid_of_negated
        gates, blocks = seq.project_ahead(ahead, folded, scale)
        pre = np.empty_like(gates) if keep_pre else None
        for t0, t1 in blocks:
            for t in range(t0, t1):
                a = gates[t]
                _rec_forward(h_all[t], rk_fwd, seq.rmask, rec)
                zr = a[:, :s2]
                zr += rec[:, :s2]
                _activate_gates(zr, None if pre is None else pre[t, :, :s2], fast, ract)
                if b is not None:
                    np.add(rec[:, s2:], b[1, s2:], out=hh_all[t])
                else:
                    hh_all[t] = rec[:, s2:]
                hc = a[:, s2:]
                np.multiply(a[:, units:s2], hh_all[t], out=tmp)
                hc += tmp
                if pre is not None:
                    pre[t, :, s2:] = hc
                act.apply(hc, hc)
                np.subtract(h_all[t], hc, out=diff[t])
                np.multiply(diff[t], a[:, :units], out=tmp)
                np.add(hc, tmp, out=h_all[t + 1])
                seq.hold_rows(t, h_all[t + 1], h_all[t])

    def backward(
        dys: np.ndarray, dstates: list[np.ndarray | None], n: tuple[bool, ...]
    ) -> tuple[Any, ...]:
        (dh,) = _state_grads(dstates, (batch, units), seq.dtype)
        z, rg = gates[..., :units], gates[..., units:s2]
        z_keep = z if seq.mask is None else np.where(seq.hold, 1, z)
        # Recurrent side: [dz, dr, d(h R_h + b_rh)]; the input side differs in the last block.
        drec = scratch("gru_drec", (steps, batch, 3 * units), seq.dtype)  # see _WORK
        d4 = drec.reshape(steps, batch, 3, units)
        d_cand = np.empty((steps, batch, units), seq.dtype)
        rt = np.ascontiguousarray(rk.T)
        dense = outputs[0]
        need_bias = b is not None and n[4]

        def to_input(t0: int, t1: int) -> None:
            # The input side sees the candidate's preactivation gradient, not r times it.
            drec[t0:t1, :, s2:] = d_cand[t0:t1]

        rec = [(h_all[:-1], seq.rmask, rk, slice(None))] if n[3] else None
        grads = _BlockGrads(seq, drec, n[0], n[2], rec, need_bias, need_bias, to_input)
        with _recurrence() as behind:
            for t0, t1 in reversed(_blocks(steps, gates[0].nbytes)):
                block_pre = None if pre is None else pre[t0:t1]
                deriv = _gru_derivative(act, ract, gates[t0:t1], block_pre, units, fast)
                if seq.mask is not None:
                    deriv *= seq.maskf[t0:t1]
                d3 = deriv.reshape(t1 - t0, batch, 3, units)
                for t in range(t1 - 1, t0 - 1, -1):
                    if dense or t == steps - 1:
                        dh += dys[t]
                    np.multiply(dh, z_keep[t], out=tmp)
                    dc = d_cand[t]
                    np.subtract(dh, tmp, out=dc)
                    dc *= d3[t - t0, :, 2]
                    np.multiply(dh, diff[t], out=d4[t, :, 0])
                    np.multiply(dc, hh_all[t], out=d4[t, :, 1])
                    d4[t, :, :2] *= d3[t - t0, :, :2]
                    np.multiply(dc, rg[t], out=d4[t, :, 2])
                    back = _rec_backward(drec[t], h_all[t], rk, rt, seq.rmask)
                    back += tmp
                    dh = back
                behind.submit(grads.block, t0, t1)
            dx, dk, drk, dbias, d_rec_bias = grads.total(behind.results())
        dbias = np.stack([dbias, d_rec_bias]) if need_bias else None
        return _gradients(n, dx, [dh], dk, drk, dbias)

    return _finish(seq, h_all[1:], [h_all[-1]], parents, backward, *outputs)


def _gru_reset_before(
    seq: _Sequence,
    parents: tuple[Any, ...],
    initial_state: Any,
    b: np.ndarray | None,
    act: _Activation,
    ract: _Activation,
    fast: bool,
    outputs: tuple[bool, bool, bool],
) -> Tensor | list[Tensor]:
    steps, batch, units = seq.steps, seq.batch, seq.units
    s2 = 2 * units
    rk = seq.rkernel
    rk_zr, rk_h = rk[:, :s2], np.ascontiguousarray(rk[:, s2:])
    m_zr = None if seq.rmask is None else seq.rmask[: min(2, len(seq.rmask))]
    m_h = None if seq.rmask is None else seq.rmask[-1]
    keep_pre = act.needs_preactivation or ract.needs_preactivation
    rk_zr_fwd = np.ascontiguousarray(rk_zr)
    if fast:
        rk_zr_fwd *= -1
    h_all = np.empty((steps + 1, batch, units), seq.dtype)
    h_all[0] = as_array(initial_state)
    rh_all = np.empty((steps, batch, units), seq.dtype)
    rec = np.empty((batch, s2), seq.dtype)
    tmp = np.empty((batch, units), seq.dtype)
    with np.errstate(over="ignore"), _recurrence() as ahead:  # see _sigmoid_of_negated
        scale = _negated_gates(units, seq.dtype) if fast else None
        gates, blocks = seq.project_ahead(ahead, b, scale)
        pre = np.empty_like(gates) if keep_pre else None
        for t0, t1 in blocks:
            for t in range(t0, t1):
                a = gates[t]
                _rec_forward(h_all[t], rk_zr_fwd, m_zr, rec)
                zr = a[:, :s2]
                zr += rec
                _activate_gates(zr, None if pre is None else pre[t, :, :s2], fast, ract)
                np.multiply(a[:, units:s2], h_all[t], out=rh_all[t])
                if m_h is not None:
                    rh_all[t] *= m_h
                hc = a[:, s2:]
                np.matmul(rh_all[t], rk_h, out=tmp)
                hc += tmp
                if pre is not None:
                    pre[t, :, s2:] = hc
                act.apply(hc, hc)
                np.subtract(h_all[t], hc, out=tmp)
                tmp *= a[:, :units]
                np.add(hc, tmp, out=h_all[t + 1])
                seq.hold_rows(t, h_all[t + 1], h_all[t])

    def backward(
        dys: np.ndarray, dstates: list[np.ndarray | None], n: tuple[bool, ...]
    ) -> tuple[Any, ...]:
        (dh,) = _state_grads(dstates, (batch, units), seq.dtype)
        z, rg, hc = (gates[..., k * units : (k + 1) * units] for k in range(3))
        deriv = _gru_derivative(act, ract, gates, pre, units, fast)
        d_zr, d_h = deriv[..., :s2], deriv[..., s2:]
        p_h = (1 - z) * d_h
        p_z = (h_all[:-1] - hc) * d_zr[..., :units]
        # d(r * h_masked)/dr is h_masked; d/dh is r * mask.
        h_r = h_all[:-1] * d_zr[..., units:]
        r_back = rg
        if m_h is not None:
            h_r *= m_h
            r_back = rg * m_h
        if seq.mask is not None:
            p_h *= seq.maskf
            p_z *= seq.maskf
        z_keep = z if seq.mask is None else np.where(seq.hold, 1, z)
        dgates = scratch("gru_dgates", (steps, batch, 3 * units), seq.dtype)  # see _WORK
        rt_zr = np.ascontiguousarray(rk_zr.T)
        rt_h = np.ascontiguousarray(rk_h.T)
        drh = np.empty((batch, units), seq.dtype)
        rec = None
        if n[3]:
            rec = [(h_all[:-1], m_zr, rk_zr, slice(0, s2)), (rh_all, None, rk_h, slice(s2, None))]
        grads = _BlockGrads(seq, dgates, n[0], n[2], rec, b is not None and n[4])
        with _recurrence() as behind:
            for t0, t1 in reversed(_blocks(steps, dgates[0].nbytes)):
                for t in range(t1 - 1, t0 - 1, -1):
                    dh += dys[t]
                    da = dgates[t]
                    np.multiply(dh, p_h[t], out=da[:, s2:])
                    np.matmul(da[:, s2:], rt_h, out=drh)
                    np.multiply(drh, h_r[t], out=da[:, units:s2])
                    np.multiply(dh, p_z[t], out=da[:, :units])
                    back = _rec_backward(da[:, :s2], h_all[t], rk_zr, rt_zr, m_zr)
                    np.multiply(drh, r_back[t], out=tmp)
                    back += tmp
                    np.multiply(dh, z_keep[t], out=tmp)
                    back += tmp
                    dh = back
                behind.submit(grads.block, t0, t1)
            dx, dk, drk, dbias, _ = grads.total(behind.results())
        return _gradients(n, dx, [dh], dk, drk, dbias)

    return _finish(seq, h_all[1:], [h_all[-1]], parents, backward, *outputs)
