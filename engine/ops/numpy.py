"""NumPy-style differentiable ops (the `keras.ops` numpy namespace).

Each op computes on arrays and records a vector-Jacobian product on the active
gradient tape. Inputs may be tensors, arrays or Python scalars.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.tensor import Tensor
from engine.ops.core import as_array, record, unbroadcast

Axis = int | Sequence[int] | None


def _norm_axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim for a in axis)


def _expand_reduced(g: np.ndarray, axis: Axis, ndim: int, keepdims: bool) -> np.ndarray:
    if keepdims or ndim == 0:
        return g
    return np.expand_dims(g, _norm_axes(axis, ndim))


# Elementwise binary --------------------------------------------------------
def add(x1: Any, x2: Any) -> Tensor:
    """Elementwise `x1 + x2` with broadcasting."""
    a, b = as_array(x1), as_array(x2)
    return record(
        a + b,
        (x1, x2),
        lambda g, n: (
            unbroadcast(g, a.shape) if n[0] else None,
            unbroadcast(g, b.shape) if n[1] else None,
        ),
    )


def subtract(x1: Any, x2: Any) -> Tensor:
    """Elementwise `x1 - x2` with broadcasting."""
    a, b = as_array(x1), as_array(x2)
    return record(
        a - b,
        (x1, x2),
        lambda g, n: (
            unbroadcast(g, a.shape) if n[0] else None,
            unbroadcast(-g, b.shape) if n[1] else None,
        ),
    )


def multiply(x1: Any, x2: Any) -> Tensor:
    """Elementwise `x1 * x2` with broadcasting."""
    a, b = as_array(x1), as_array(x2)
    return record(
        a * b,
        (x1, x2),
        lambda g, n: (
            unbroadcast(g * b, a.shape) if n[0] else None,
            unbroadcast(g * a, b.shape) if n[1] else None,
        ),
    )


def divide(x1: Any, x2: Any) -> Tensor:
    """Elementwise `x1 / x2` with broadcasting."""
    a, b = as_array(x1), as_array(x2)
    out = a / b
    return record(
        out,
        (x1, x2),
        lambda g, n: (
            unbroadcast(g / b, a.shape) if n[0] else None,
            unbroadcast(-g * out / b, b.shape) if n[1] else None,
        ),
    )


true_divide = divide


def power(x1: Any, x2: Any) -> Tensor:
    """Elementwise `x1 ** x2`."""
    a, b = as_array(x1), as_array(x2)
    out = a**b

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, Any]:
        ga = unbroadcast(g * b * a ** (b - 1), a.shape) if n[0] else None
        gb = None
        if n[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = unbroadcast(
                    g * out * np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0), b.shape
                )
        return ga, gb

    return record(out, (x1, x2), vjp)


def maximum(x1: Any, x2: Any) -> Tensor:
    """Elementwise maximum; the gradient goes to the larger input (to `x1` on ties)."""
    a, b = as_array(x1), as_array(x2)
    pick = a >= b
    return record(
        np.maximum(a, b),
        (x1, x2),
        lambda g, n: (
            unbroadcast(g * pick, a.shape) if n[0] else None,
            unbroadcast(g * ~pick, b.shape) if n[1] else None,
        ),
    )


def minimum(x1: Any, x2: Any) -> Tensor:
    """Elementwise minimum; the gradient goes to the smaller input (to `x1` on ties)."""
    a, b = as_array(x1), as_array(x2)
    pick = a <= b
    return record(
        np.minimum(a, b),
        (x1, x2),
        lambda g, n: (
            unbroadcast(g * pick, a.shape) if n[0] else None,
            unbroadcast(g * ~pick, b.shape) if n[1] else None,
        ),
    )


def matmul(x1: Any, x2: Any) -> Tensor:
    """Matrix product with NumPy's `@` semantics (batched, broadcasting)."""
    a, b = as_array(x1), as_array(x2)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, Any]:
        ga = gb = None
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if n[0] else None, g * a if n[1] else None)
        if n[0]:
            if b.ndim == 1:
                ga = np.multiply.outer(g, b)
            else:
                ga = g @ np.swapaxes(b, -1, -2) if a.ndim > 1 else g @ b.T
            ga = unbroadcast(ga, a.shape)
        if n[1]:
            if a.ndim == 1:
                gb = np.multiply.outer(a, g)
            elif b.ndim == 2 and a.ndim > 2:
                gb = a.reshape(-1, a.shape[-1]).T @ g.reshape(-1, g.shape[-1])
            elif b.ndim == 1:
                gb = (a * g[..., None]).reshape(-1, a.shape[-1]).sum(0)
            else:
                gb = unbroadcast(np.swapaxes(a, -1, -2) @ g, b.shape)
        return ga, gb

    return record(a @ b, (x1, x2), vjp)


def dot(x1: Any, x2: Any) -> Tensor:
    """`numpy.dot` for vectors and matrices (same as `matmul` there)."""
    return matmul(x1, x2)


def tensordot(x1: Any, x2: Any, axes: Any = 2) -> Tensor:
    """`numpy.tensordot` with its gradient."""
    a, b = as_array(x1), as_array(x2)
    if isinstance(axes, int):
        ax_a = list(range(a.ndim - axes, a.ndim))
        ax_b = list(range(axes))
    else:
        ax_a = [axes[0]] if isinstance(axes[0], int) else list(axes[0])
        ax_b = [axes[1]] if isinstance(axes[1], int) else list(axes[1])
        ax_a = [x % a.ndim for x in ax_a]
        ax_b = [x % b.ndim for x in ax_b]
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [i for i in range(b.ndim) if i not in ax_b]
    out = np.tensordot(a, b, (ax_a, ax_b))

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, Any]:
        ga = gb = None
        nfa = len(free_a)
        if n[0]:
            # g: free_a + free_b ; contract free_b with b's free axes -> free_a + ax_b order of b
            t = np.tensordot(g, b, (list(range(nfa, g.ndim)), free_b))
            # t axes: free_a then ax_b (in b's order of the remaining axes, i.e. sorted ax_b)
            rem_b = [i for i in range(b.ndim) if i not in free_b]
            src = free_a + [ax_a[ax_b.index(j)] for j in rem_b]
            ga = np.transpose(t, np.argsort(src))
        if n[1]:
            t = np.tensordot(a, g, (free_a, list(range(nfa))))
            rem_a = [i for i in range(a.ndim) if i not in free_a]
            src = [ax_b[ax_a.index(j)] for j in rem_a] + free_b
            gb = np.transpose(t, np.argsort(src))
        return ga, gb

    return record(out, (x1, x2), vjp)


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """`numpy.einsum` (explicit `->` form) with its gradient."""
    arrays = [as_array(o) for o in operands]
    if "->" not in subscripts:
        raise ValueError("engine.ops.einsum needs explicit output subscripts ('ij,jk->ik').")
    lhs, rhs = subscripts.replace(" ", "").split("->")
    ins = lhs.split(",")
    out = np.einsum(subscripts, *arrays, optimize=True)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> list[Any]:
        grads: list[Any] = []
        for i, need in enumerate(n):
            if not need:
                grads.append(None)
                continue
            others = [s for j, s in enumerate(ins) if j != i]
            other_arrays = [arr for j, arr in enumerate(arrays) if j != i]
            target = ins[i]
            present = set(rhs) | set("".join(others))
            missing = [c for c in target if c not in present]
            spec = ",".join([rhs, *others]) + "->" + "".join(c for c in target if c in present)
            gi = np.einsum(spec, g, *other_arrays, optimize=True)
            if missing:
                # Letters summed away only in this operand: broadcast back.
                axes_missing = [k for k, c in enumerate(target) if c in missing]
                gi = np.broadcast_to(np.expand_dims(gi, axes_missing), arrays[i].shape)
            grads.append(np.ascontiguousarray(gi))
        return grads

    return record(out, tuple(operands), vjp)


# Elementwise unary ---------------------------------------------------------
def _unary(x: Any, out: np.ndarray, dfn: Any) -> Tensor:
    return record(out, (x,), lambda g, n: (g * dfn(),))


def negative(x: Any) -> Tensor:
    """Elementwise `-x`."""
    return record(-as_array(x), (x,), lambda g, n: (-g,))


def exp(x: Any) -> Tensor:
    """Elementwise `e ** x`."""
    out = np.exp(as_array(x))
    return record(out, (x,), lambda g, n: (g * out,))


def log(x: Any) -> Tensor:
    """Elementwise natural logarithm."""
    a = as_array(x)
    return record(np.log(a), (x,), lambda g, n: (g / a,))


def log1p(x: Any) -> Tensor:
    """Elementwise `log(1 + x)`."""
    a = as_array(x)
    return record(np.log1p(a), (x,), lambda g, n: (g / (1 + a),))


def expm1(x: Any) -> Tensor:
    """Elementwise `exp(x) - 1`."""
    a = as_array(x)
    out = np.expm1(a)
    return record(out, (x,), lambda g, n: (g * (out + 1),))


def sqrt(x: Any) -> Tensor:
    """Elementwise square root."""
    out = np.sqrt(as_array(x))
    return record(out, (x,), lambda g, n: (g * 0.5 / out,))


def rsqrt(x: Any) -> Tensor:
    """Elementwise `1 / sqrt(x)`."""
    out = 1.0 / np.sqrt(as_array(x))
    return record(out, (x,), lambda g, n: (g * -0.5 * out**3,))


def square(x: Any) -> Tensor:
    """Elementwise `x ** 2`."""
    a = as_array(x)
    return record(a * a, (x,), lambda g, n: (2 * g * a,))


def abs(x: Any) -> Tensor:
    """Elementwise absolute value (gradient `sign(x)`)."""
    a = as_array(x)
    return record(np.abs(a), (x,), lambda g, n: (g * np.sign(a),))


absolute = abs


def sign(x: Any) -> Tensor:
    """Elementwise sign; its gradient is zero."""
    a = as_array(x)
    return record(np.sign(a), (x,), lambda g, n: (np.zeros_like(g),))


def tanh(x: Any) -> Tensor:
    """Elementwise hyperbolic tangent."""
    out = np.tanh(as_array(x))
    return record(out, (x,), lambda g, n: (g * (1 - out * out),))


def sin(x: Any) -> Tensor:
    """Elementwise sine."""
    a = as_array(x)
    return record(np.sin(a), (x,), lambda g, n: (g * np.cos(a),))


def cos(x: Any) -> Tensor:
    """Elementwise cosine."""
    a = as_array(x)
    return record(np.cos(a), (x,), lambda g, n: (-g * np.sin(a),))


def clip(x: Any, x_min: Any, x_max: Any) -> Tensor:
    """Clip values to `[x_min, x_max]`; the gradient is zero outside."""
    a = as_array(x)
    lo, hi = as_array(x_min), as_array(x_max)
    inside = (a >= lo) & (a <= hi)
    return record(np.clip(a, lo, hi), (x,), lambda g, n: (g * inside,))


def where(condition: Any, x1: Any, x2: Any) -> Tensor:
    """Pick from `x1` where `condition` holds, else from `x2`."""
    c = np.asarray(as_array(condition), dtype=bool)
    a, b = as_array(x1), as_array(x2)
    return record(
        np.where(c, a, b),
        (x1, x2),
        lambda g, n: (
            unbroadcast(np.where(c, g, 0), a.shape) if n[0] else None,
            unbroadcast(np.where(c, 0, g), b.shape) if n[1] else None,
        ),
    )


def cast(x: Any, dtype: Any) -> Tensor:
    """Convert to `dtype`; gradients flow only between float types."""
    a = as_array(x)
    dt = np.dtype(dtype)
    out = a.astype(dt)
    if a.dtype.kind != "f" or dt.kind != "f":
        return Tensor(out)
    return record(out, (x,), lambda g, n: (g.astype(a.dtype),))


def stop_gradient(x: Any) -> Tensor:
    """Return `x` as a tensor through which no gradient flows."""
    return Tensor(as_array(x))


def identity(x: Any) -> Tensor:
    """Return `x` unchanged (gradient passes through)."""
    return record(as_array(x), (x,), lambda g, n: (g,))


# Reductions --------------------------------------------------------------------
def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Sum over `axis` (all axes when None)."""
    a = as_array(x)
    ax = tuple(axis) if isinstance(axis, list) else axis
    return record(
        np.sum(a, axis=ax, keepdims=keepdims),
        (x,),
        lambda g, n: (np.broadcast_to(_expand_reduced(g, ax, a.ndim, keepdims), a.shape),),
    )


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Mean over `axis` (all axes when None)."""
    a = as_array(x)
    ax = tuple(axis) if isinstance(axis, list) else axis
    count = int(np.prod([a.shape[i] for i in _norm_axes(ax, a.ndim)])) if a.ndim else 1
    return record(
        np.mean(a, axis=ax, keepdims=keepdims),
        (x,),
        lambda g, n: (np.broadcast_to(_expand_reduced(g, ax, a.ndim, keepdims) / count, a.shape),),
    )


def var(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Biased variance over `axis`."""
    m = mean(x, axis=axis, keepdims=True)
    return mean(square(subtract(x, m)), axis=axis, keepdims=keepdims)


def std(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Biased standard deviation over `axis`."""
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def _extreme(x: Any, axis: Axis, keepdims: bool, fn: Any) -> Tensor:
    a = as_array(x)
    ax = tuple(axis) if isinstance(axis, list) else axis
    out = fn(a, axis=ax, keepdims=True)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        mask = a == out
        counts = mask.sum(axis=ax, keepdims=True)
        return (mask * (_expand_reduced(g, ax, a.ndim, keepdims) / counts),)

    return record(
        out if keepdims else np.squeeze(out, axis=ax) if ax is not None else out.reshape(()),
        (x,),
        vjp,
    )


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Maximum over `axis`; ties share the gradient."""
    return _extreme(x, axis, keepdims, np.max)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Minimum over `axis`; ties share the gradient."""
    return _extreme(x, axis, keepdims, np.min)


amax = max
amin = min


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Numerically stable `log(sum(exp(x)))` over `axis`."""
    a = as_array(x)
    ax = tuple(axis) if isinstance(axis, list) else axis
    m = np.max(a, axis=ax, keepdims=True)
    e = np.exp(a - m)
    s = e.sum(axis=ax, keepdims=True)
    out = np.log(s) + m
    res = out if keepdims else (np.squeeze(out, axis=ax) if ax is not None else out.reshape(()))
    return record(res, (x,), lambda g, n: (_expand_reduced(g, ax, a.ndim, keepdims) * e / s,))


def prod(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Product over `axis` (inputs assumed non-zero for the gradient)."""
    a = as_array(x)
    ax = tuple(axis) if isinstance(axis, list) else axis
    out = np.prod(a, axis=ax, keepdims=True)
    res = out if keepdims else (np.squeeze(out, axis=ax) if ax is not None else out.reshape(()))
    return record(res, (x,), lambda g, n: (_expand_reduced(g, ax, a.ndim, keepdims) * out / a,))


def cumsum(x: Any, axis: int | None = None) -> Tensor:
    """Cumulative sum along `axis` (flattened when None)."""
    a = as_array(x)
    if axis is None:
        out = np.cumsum(a.reshape(-1))
        return record(out, (x,), lambda g, n: (np.flip(np.cumsum(np.flip(g))).reshape(a.shape),))
    out = np.cumsum(a, axis=axis)
    return record(out, (x,), lambda g, n: (np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis),))


# Shape manipulation ---------------------------------------------------------
def reshape(x: Any, newshape: Sequence[int] | int) -> Tensor:
    """Reshape; `-1` infers one dimension."""
    a = as_array(x)
    return record(a.reshape(newshape), (x,), lambda g, n: (g.reshape(a.shape),))


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute axes (reverse them when `axes` is None)."""
    a = as_array(x)
    inv = None if axes is None else tuple(np.argsort(axes))
    return record(np.transpose(a, axes), (x,), lambda g, n: (np.transpose(g, inv),))


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """Swap two axes."""
    a = as_array(x)
    return record(np.swapaxes(a, axis1, axis2), (x,), lambda g, n: (np.swapaxes(g, axis1, axis2),))


def moveaxis(x: Any, source: int, destination: int) -> Tensor:
    """Move one axis to a new position."""
    a = as_array(x)
    return record(
        np.moveaxis(a, source, destination),
        (x,),
        lambda g, n: (np.moveaxis(g, destination, source),),
    )


def expand_dims(x: Any, axis: int | Sequence[int]) -> Tensor:
    """Insert axes of length one."""
    a = as_array(x)
    return record(np.expand_dims(a, axis), (x,), lambda g, n: (g.reshape(a.shape),))


def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> Tensor:
    """Remove axes of length one."""
    a = as_array(x)
    return record(np.squeeze(a, axis), (x,), lambda g, n: (g.reshape(a.shape),))


def flatten(x: Any) -> Tensor:
    """Flatten to one dimension."""
    return reshape(x, (-1,))


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    """Broadcast to `shape`."""
    a = as_array(x)
    return record(np.broadcast_to(a, shape), (x,), lambda g, n: (unbroadcast(g, a.shape),))


def tile(x: Any, repeats: Sequence[int] | int) -> Tensor:
    """Repeat the whole array `repeats` times along each axis."""
    a = as_array(x)
    out = np.tile(a, repeats)
    reps = (repeats,) if isinstance(repeats, int) else tuple(repeats)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        shape = (1,) * (g.ndim - a.ndim) + a.shape
        r = (1,) * (g.ndim - len(reps)) + reps
        split = []
        for rep, s in zip(r, shape):
            split.extend([rep, s])
        return (g.reshape(split).sum(axis=tuple(range(0, 2 * g.ndim, 2))).reshape(a.shape),)

    return record(out, (x,), vjp)


def repeat(x: Any, repeats: int, axis: int | None = None) -> Tensor:
    """Repeat each element `repeats` times along `axis`."""
    a = as_array(x)
    if axis is None:
        out = np.repeat(a.reshape(-1), repeats)
        return record(out, (x,), lambda g, n: (g.reshape(-1, repeats).sum(1).reshape(a.shape),))
    ax = axis % a.ndim
    out = np.repeat(a, repeats, axis=ax)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        shape = list(a.shape)
        shape.insert(ax + 1, repeats)
        return (g.reshape(shape).sum(axis=ax + 1),)

    return record(out, (x,), vjp)


def concatenate(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    arrays = [as_array(x) for x in xs]
    out = np.concatenate(arrays, axis=axis)
    splits = np.cumsum([arr.shape[axis] for arr in arrays])[:-1]
    return record(out, tuple(xs), lambda g, n: np.split(g, splits, axis=axis))


def stack(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    arrays = [as_array(x) for x in xs]
    out = np.stack(arrays, axis=axis)
    return record(
        out,
        tuple(xs),
        lambda g, n: [np.take(g, i, axis=axis) for i in range(len(arrays))],
    )


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """Split into several tensors along `axis`."""
    a = as_array(x)
    parts = np.split(a, indices_or_sections, axis=axis)
    offsets = np.cumsum([0] + [p.shape[axis] for p in parts])
    outs = []
    for i in range(len(parts)):
        sl = [slice(None)] * a.ndim
        sl[axis] = slice(int(offsets[i]), int(offsets[i + 1]))
        outs.append(getitem(x, tuple(sl)))
    return outs


def getitem(x: Any, key: Any) -> Tensor:
    """Index or slice like NumPy; the gradient scatters back (with repeats summed)."""
    a = as_array(x)
    if isinstance(key, Tensor):
        key = key.value
    if isinstance(key, tuple):
        key = tuple(k.value if isinstance(k, Tensor) else k for k in key)

    basic = _is_basic_index(key)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        out = np.zeros_like(a)
        if basic:
            # Slices and ints never select a cell twice: a plain assignment is
            # exact and far faster than the unbuffered np.add.at.
            out[key] = g
        else:
            np.add.at(out, key, g)
        return (out,)

    return record(a[key], (x,), vjp)


def _is_basic_index(key: Any) -> bool:
    """Whether `key` is NumPy basic indexing (ints, slices, None, Ellipsis)."""
    items = key if isinstance(key, tuple) else (key,)
    return all(
        k is None
        or k is Ellipsis
        or isinstance(k, slice)
        or (isinstance(k, (int, np.integer)) and not isinstance(k, bool))
        for k in items
    )


def take(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    """Gather entries along `axis` (flattened when None), like `numpy.take`."""
    a = as_array(x)
    idx = np.asarray(as_array(indices)).astype(np.intp)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        if axis is None:
            out = np.zeros(a.size, dtype=g.dtype)
            np.add.at(out, idx.reshape(-1), g.reshape(-1))
            return (out.reshape(a.shape),)
        ax = axis % a.ndim
        out = np.zeros_like(a)
        moved = np.moveaxis(out, ax, 0)
        gm = np.moveaxis(g, list(range(ax, ax + idx.ndim)), list(range(idx.ndim)))
        np.add.at(moved, idx, gm)
        return (out,)

    return record(np.take(a, idx, axis=axis), (x,), vjp)


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: float = 0) -> Tensor:
    """Pad with a constant value."""
    a = as_array(x)
    pw = (
        np.broadcast_to(np.asarray(pad_width), (a.ndim, 2))
        if np.ndim(pad_width) < 2
        else np.asarray(pad_width)
    )
    out = (
        np.pad(a, pw, mode=mode, constant_values=constant_values)
        if mode == "constant"
        else np.pad(a, pw, mode=mode)
    )
    sl = tuple(slice(int(lo), int(lo) + s) for (lo, _), s in zip(pw, a.shape))
    if mode != "constant":
        raise ValueError(f"pad mode {mode!r} has no gradient here; use 'constant'.")
    return record(out, (x,), lambda g, n: (g[sl],))


# Non-differentiable helpers (return plain tensors) ----------------------------
def argmax(x: Any, axis: int | None = None) -> Tensor:
    """Indices of the maxima (no gradient)."""
    return Tensor(np.argmax(as_array(x), axis=axis))


def argmin(x: Any, axis: int | None = None) -> Tensor:
    """Indices of the minima (no gradient)."""
    return Tensor(np.argmin(as_array(x), axis=axis))


def equal(x1: Any, x2: Any) -> Tensor:
    """Elementwise `==` (no gradient)."""
    return Tensor(np.equal(as_array(x1), as_array(x2)))


def not_equal(x1: Any, x2: Any) -> Tensor:
    """Elementwise `!=` (no gradient)."""
    return Tensor(np.not_equal(as_array(x1), as_array(x2)))


def greater(x1: Any, x2: Any) -> Tensor:
    """Elementwise `>` (no gradient)."""
    return Tensor(np.greater(as_array(x1), as_array(x2)))


def less(x1: Any, x2: Any) -> Tensor:
    """Elementwise `<` (no gradient)."""
    return Tensor(np.less(as_array(x1), as_array(x2)))


def zeros(shape: Sequence[int], dtype: Any = None) -> Tensor:
    """A tensor of zeros (floatx by default)."""
    from engine.backend.config import floatx

    return Tensor(np.zeros(shape, dtype=dtype or floatx()))


def ones(shape: Sequence[int], dtype: Any = None) -> Tensor:
    """A tensor of ones (floatx by default)."""
    from engine.backend.config import floatx

    return Tensor(np.ones(shape, dtype=dtype or floatx()))


def zeros_like(x: Any, dtype: Any = None) -> Tensor:
    """Zeros with the shape (and dtype) of `x`."""
    return Tensor(np.zeros_like(as_array(x), dtype=dtype))


def ones_like(x: Any, dtype: Any = None) -> Tensor:
    """Ones with the shape (and dtype) of `x`."""
    return Tensor(np.ones_like(as_array(x), dtype=dtype))


def shape(x: Any) -> tuple[int, ...]:
    """The static shape of `x`."""
    return tuple(np.shape(as_array(x)))


def convert_to_numpy(x: Any) -> np.ndarray:
    """Return `x` as a NumPy array."""
    return np.asarray(as_array(x))


__all__ = sorted(
    name
    for name, value in list(globals().items())
    if callable(value) and not name.startswith("_") and getattr(value, "__module__", "") == __name__
)
