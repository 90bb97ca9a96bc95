"""Fused normalization ops: batch, layer, group and unit normalization.

Each op is one tape entry whose backward is written out by hand, so a
normalization layer costs a few vectorised passes over its input instead of a
dozen small ops. Arrays keep their float dtype (float32 stays float32); the
per-feature statistics are tiny and cost nothing next to the input.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend import config
from engine.backend.config import floatx
from engine.backend.tensor import Tensor
from engine.ops.core import as_array, record

__all__ = [
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


def _grouped_standardize(
    a: np.ndarray,
    groups: int,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    epsilon: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """Normalize `a`, viewed as `(P, pre, C, post)`, per sample p and group of channels.

    The statistics of group j of sample p are over `pre`, `post` and the group's
    `C // groups` channels; `gamma` and `beta` are per channel. Batch norm is
    `P = 1` with one group per channel, group norm `P = batch`.

    Returns:
        `(out, mean, var, backward)` with the `(P, groups)` statistics and
        `backward(g, need_x, need_gamma, need_beta) -> (gx, ggamma, gbeta)`.
    """
    p, pre, c, post = a.shape
    cg = c // groups
    count = pre * post * cg

    def group_sums(t: np.ndarray) -> np.ndarray:
        return t if cg == 1 else t.reshape(p, groups, cg).sum(axis=2)

    def spread(v: np.ndarray) -> np.ndarray:
        return (v if cg == 1 else np.repeat(v, cg, axis=1)).reshape(p, 1, c, 1)

    mean = group_sums(_sum_middle(a, p, pre, c, post)) / count
    xhat = a - spread(mean)
    buffer = np.square(xhat)
    var = group_sums(_sum_middle(buffer, p, pre, c, post)) / count
    inv = 1 / np.sqrt(var + epsilon)
    xhat *= spread(inv)
    gamma_b = None if gamma is None else gamma.reshape(1, 1, c, 1)
    beta_b = None if beta is None else beta.reshape(1, 1, c, 1)
    if gamma_b is not None:
        out = np.multiply(xhat, gamma_b, out=buffer)
        if beta_b is not None:
            out += beta_b
    elif beta_b is not None:
        out = np.add(xhat, beta_b, out=buffer)
    else:
        out = xhat

    def backward(g: np.ndarray, need_x: bool, need_gamma: bool, need_beta: bool) -> tuple:
        g_sums = _sum_middle(g, p, pre, c, post)
        t = g * xhat if need_x or need_gamma else None
        t_sums = None if t is None else _sum_middle(t, p, pre, c, post)
        gx = None
        if need_x:
            if cg == 1:
                # Per-channel statistics: gamma factors out of the whole bracket.
                np.multiply(xhat, spread(t_sums / count), out=t)
                gx = np.subtract(g, t, out=t)
                gx -= spread(g_sums / count)
                factor = spread(inv)
                gx *= factor if gamma_b is None else factor * gamma_b
            else:
                gs_sums, gsx_sums = (
                    (g_sums, t_sums) if gamma is None else (g_sums * gamma, t_sums * gamma)
                )
                np.multiply(xhat, spread(group_sums(gsx_sums) / count), out=t)
                if gamma_b is None:
                    gx = np.subtract(g, t, out=t)
                else:
                    gx = g * gamma_b
                    gx -= t
                gx -= spread(group_sums(gs_sums) / count)
                gx *= spread(inv)
        ggamma = t_sums.sum(axis=0) if need_gamma and gamma is not None else None
        gbeta = g_sums.sum(axis=0) if need_beta and beta is not None else None
        return gx, ggamma, gbeta

    return out, mean, var, backward


def _row_standardize(
    a: np.ndarray,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    epsilon: float,
    rms_scaling: bool,
) -> tuple[np.ndarray, Any]:
    """Normalize each row of a `(rows, K)` array, with `(K,)` gamma and beta.

    With `rms_scaling` the output is Keras's `x * rsqrt(var(x) + epsilon) * gamma`:
    scaled by the variance, not centered. Returns `(out, backward)` with
    `backward(g, need_x, need_gamma, need_beta) -> (gx, ggamma, gbeta)`.
    """
    rows, k = a.shape
    dt = a.dtype.str
    ones_k = _ones(k, dt)
    centered = a - ((a @ ones_k) / k)[:, None]
    buffer = np.square(centered)
    inv = 1 / np.sqrt((buffer @ ones_k) / k + epsilon)
    inv_c = inv[:, None]
    if rms_scaling:
        xhat = None
        out = np.multiply(a, inv_c, out=buffer)
        if gamma is not None:
            out *= gamma
    else:
        xhat = centered
        xhat *= inv_c
        if gamma is None and beta is None:
            out = xhat
        else:
            out = np.multiply(xhat, 1 if gamma is None else gamma, out=buffer)
    if beta is not None:
        out += beta
    weights = ones_k if gamma is None else gamma

    def backward(g: np.ndarray, need_x: bool, need_gamma: bool, need_beta: bool) -> tuple:
        ones_r = _ones(rows, dt)
        gbeta = ones_r @ g if need_beta and beta is not None else None
        ggamma = gx = None
        if rms_scaling:
            ga = g * a if need_x or need_gamma else None
            if need_gamma and gamma is not None:
                ggamma = inv @ ga
            if need_x:
                # Only through inv: d inv / dx = -inv**3 * (x - mean) / K.
                proj = (ga @ weights) * (inv**3 / k)
                gx = g * inv_c
                if gamma is not None:
                    gx *= gamma
                gx -= np.multiply(centered, proj[:, None], out=ga)
            return gx, ggamma, gbeta
        t = g * xhat if need_x or need_gamma else None
        if need_gamma and gamma is not None:
            ggamma = ones_r @ t
        if need_x:
            proj = (t @ weights) / k
            mean_gs = (g @ weights) / k
            np.multiply(xhat, proj[:, None], out=t)
            if gamma is None:
                gx = np.subtract(g, t, out=t)
            else:
                gx = g * gamma
                gx -= t
            gx -= mean_gs[:, None]
            gx *= inv_c
        return gx, ggamma, gbeta

    return out, backward


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
    out = a * mult
    out += shift

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        gx = g * mult if n[0] else None
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

    return record(out, (x, mean, variance, offset, scale), vjp)


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

    work = a.reshape(1, ax.pre, ax.size, ax.post)
    out, mean, var, backward = _grouped_standardize(work, ax.size, g_arr, b_arr, epsilon)

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
    a = _floating(x)
    dt = a.dtype
    eps = config.epsilon() if epsilon is None else epsilon
    axes = _normalized_axes(axis, a.ndim, "layer_normalization")
    g_arr = _param(gamma, dt)
    b_arr = None if rms_scaling else _param(beta, dt)
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
    work = np.ascontiguousarray(a.transpose(order)) if moved else a
    work_shape = work.shape
    out, backward = _row_standardize(
        work.reshape(-1, size),
        None if g_arr is None else g_arr.reshape(-1),
        None if b_arr is None else b_arr.reshape(-1),
        eps,
        rms_scaling,
    )

    def to_input_layout(v: np.ndarray) -> np.ndarray:
        v = v.reshape(work_shape)
        return np.ascontiguousarray(v.transpose(undo)) if moved else v

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        if moved:
            g = g.transpose(order)
        gx, gg, gb = backward(
            np.ascontiguousarray(g).reshape(-1, size), n[0], n[1], len(n) > 2 and n[2]
        )
        return (
            None if gx is None else to_input_layout(gx),
            None if gg is None else gg.reshape(g_arr.shape),
            None if gb is None else gb.reshape(b_arr.shape),
        )

    parents = (x, gamma) if rms_scaling else (x, gamma, beta)
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
    pre = ax.pre // a.shape[0]
    work = a.reshape(a.shape[0], pre, c, ax.post)
    out, _, _, backward = _grouped_standardize(work, groups, g_arr, b_arr, epsilon)

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
