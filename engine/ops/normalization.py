"""Fused normalization ops: batch, layer, group and unit normalization.

Each op is one tape entry whose backward is written out by hand, so a
normalization layer costs a few vectorised passes over its input instead of a
dozen small ops. Arrays keep their float dtype (float32 stays float32); the
per-feature statistics are tiny and cost nothing next to the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend import config
from engine.backend.config import floatx
from engine.backend.tensor import Tensor
from engine.ops.core import as_array, record, unbroadcast

__all__ = [
    "batch_normalization",
    "fused_batch_norm",
    "group_normalization",
    "layer_normalization",
    "unit_normalization",
]

# Column sums run over row blocks this many elements wide: NumPy sums a
# narrow (M, C) array one short row at a time, several times slower (and less
# accurate in float32) than over wide rows with a final short reduction.
_WIDE_ROW = 8192


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


def _column_sums(a2: np.ndarray) -> np.ndarray:
    """`a2.sum(axis=0)` for a C-contiguous `(M, C)` array, summed over wide row blocks."""
    m, c = a2.shape
    r = min(m, max(1, _WIDE_ROW // max(c, 1)))
    if r <= 1:
        return a2.sum(axis=0)
    whole = m // r * r
    out = a2[:whole].reshape(-1, r * c).sum(axis=0).reshape(r, c).sum(axis=0)
    if whole < m:
        out += a2[whole:].sum(axis=0)
    return out


class _FeatureAxis:
    """Sums over every axis but one feature axis, fast when it is the last one."""

    def __init__(self, shape: tuple[int, ...], axis: int, what: str) -> None:
        ndim = len(shape)
        if not -ndim <= axis < ndim:
            raise ValueError(
                f"{what}: axis {axis} is out of range for inputs of shape {shape}; "
                f"use an axis in [-{ndim}, {ndim - 1}]."
            )
        self.axis = axis % ndim
        self.size = shape[self.axis]
        self.last = self.axis == ndim - 1
        self.reduce = tuple(i for i in range(ndim) if i != self.axis)
        self.count = int(np.prod(shape)) // max(self.size, 1)
        self.bshape = tuple(self.size if i == self.axis else 1 for i in range(ndim))

    def sum(self, a: np.ndarray) -> np.ndarray:
        """Sum of `a` (input-shaped) over the non-feature axes, in broadcast shape."""
        if self.last and a.flags.c_contiguous:
            return _column_sums(a.reshape(-1, self.size)).reshape(self.bshape)
        return a.sum(axis=self.reduce, keepdims=True)

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
    mu = ax.channel(_param(mean, dt), "mean")
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
    gamma = ax.channel(_param(scale, dt), "scale")
    beta = ax.channel(_param(offset, dt), "offset")
    if mask is not None:
        return _masked_batch_norm(x, a, ax, gamma, beta, scale, offset, epsilon, mask)

    count = ax.count
    mean = ax.sum(a) / count
    xhat = a - mean
    var = ax.sum(np.square(xhat)) / count
    inv = 1 / np.sqrt(var + epsilon)
    xhat *= inv
    if gamma is None:
        out = xhat if beta is None else xhat + beta
    else:
        out = xhat * gamma
        if beta is not None:
            out += beta
    mult = inv if gamma is None else inv * gamma

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        gbeta = ax.sum(g) if n[0] or n[2] else None
        ggamma = ax.sum(g * xhat) if n[0] or n[1] else None
        gx = None
        if n[0]:
            # d/dx of the normalized batch: the direct path minus the parts of g
            # explained by the batch mean and by the batch variance.
            gx = xhat * (ggamma / count)
            np.subtract(g, gx, out=gx)
            gx -= gbeta / count
            gx *= mult
        return (
            gx,
            ggamma.reshape(-1) if n[1] else None,
            gbeta.reshape(-1) if n[2] else None,
        )

    y = record(out, (x, scale, offset), vjp)
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


def _standardize(
    a: np.ndarray,
    axes: tuple[int, ...],
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    epsilon: float,
    rms_scaling: bool = False,
) -> tuple[np.ndarray, Any]:
    """Normalize `a` over `axes` with broadcastable `gamma`/`beta`; return (out, backward).

    `backward(g, need_x, need_gamma, need_beta)` returns the gradients of `a`
    and of the broadcast-shaped gamma and beta. With `rms_scaling` the output
    is Keras's `x * rsqrt(var(x) + epsilon) * gamma`: scaled by the variance,
    not centered.
    """
    count = int(np.prod([a.shape[i] for i in axes]))
    mean = a.mean(axis=axes, keepdims=True)
    centered = a - mean
    var = np.square(centered).sum(axis=axes, keepdims=True) / count
    inv = 1 / np.sqrt(var + epsilon)
    if rms_scaling:
        xhat = a * inv
    else:
        xhat = centered
        xhat *= inv
    if gamma is None:
        out = xhat if beta is None else xhat + beta
    else:
        out = xhat * gamma
        if beta is not None:
            out += beta

    def backward(g: np.ndarray, need_x: bool, need_gamma: bool, need_beta: bool) -> tuple:
        gbeta = unbroadcast(g, beta.shape) if need_beta and beta is not None else None
        ggamma = unbroadcast(g * xhat, gamma.shape) if need_gamma and gamma is not None else None
        gx = None
        if need_x:
            gs = g if gamma is None else g * gamma
            if rms_scaling:
                # Through inv only: d inv / dx = -inv**3 * (x - mean) / count.
                proj = (gs * a).sum(axis=axes, keepdims=True) * (inv**3 / count)
                gx = gs * inv
                gx -= centered * proj
            else:
                gx = gs * xhat
                proj = gx.sum(axis=axes, keepdims=True) / count
                np.multiply(xhat, proj, out=gx)
                np.subtract(gs, gx, out=gx)
                gx -= gs.sum(axis=axes, keepdims=True) / count
                gx *= inv
        return gx, ggamma, gbeta

    return out, backward


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
    in_shape = a.shape
    trailing = axes == tuple(range(a.ndim - len(axes), a.ndim))
    if trailing:
        # Trailing axes normalize contiguous rows: work on a (rows, features) view.
        feat = int(np.prod([in_shape[i] for i in axes]))
        work = a.reshape(-1, feat)
        work_axes: tuple[int, ...] = (1,)
        pshape: tuple[int, ...] = (feat,)
    else:
        work, work_axes = a, axes
        pshape = tuple(in_shape[i] if i in axes else 1 for i in range(a.ndim))
    size = int(np.prod([in_shape[i] for i in axes]))

    def shaped(p: np.ndarray | None, name: str) -> np.ndarray | None:
        if p is None:
            return None
        if p.size != size:
            raise ValueError(
                f"layer_normalization {name} must have {size} values, one per position of "
                f"the normalized axes {list(axes)}, got shape {p.shape}."
            )
        return p.reshape(pshape)

    gw, bw = shaped(g_arr, "gamma"), shaped(b_arr, "beta")
    out, backward = _standardize(work, work_axes, gw, bw, eps, rms_scaling)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        gx, gg, gb = backward(g.reshape(work.shape), n[0], n[1], len(n) > 2 and n[2])
        return (
            None if gx is None else gx.reshape(in_shape),
            None if gg is None else gg.reshape(g_arr.shape),
            None if gb is None else gb.reshape(b_arr.shape),
        )

    parents = (x, gamma) if rms_scaling else (x, gamma, beta)
    return record(out.reshape(in_shape), parents, vjp)


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
    p = ax.axis
    in_shape = a.shape
    grouped = (*in_shape[:p], groups, c // groups, *in_shape[p + 1 :])
    work = a.reshape(grouped)
    red = tuple(i for i in range(1, work.ndim) if i != p)
    pshape = tuple(groups if i == p else c // groups if i == p + 1 else 1 for i in range(work.ndim))
    g_arr = ax.channel(_param(gamma, dt), "gamma")
    b_arr = ax.channel(_param(beta, dt), "beta")
    gw = None if g_arr is None else g_arr.reshape(pshape)
    bw = None if b_arr is None else b_arr.reshape(pshape)
    out, backward = _standardize(work, red, gw, bw, epsilon)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, ...]:
        gx, gg, gb = backward(g.reshape(grouped), n[0], n[1], n[2])
        return (
            None if gx is None else gx.reshape(in_shape),
            None if gg is None else gg.reshape(-1),
            None if gb is None else gb.reshape(-1),
        )

    return record(out.reshape(in_shape), (x, gamma, beta), vjp)


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
