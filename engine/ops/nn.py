"""Neural-network ops (the `keras.ops` nn namespace): activations and fused kernels.

Fused ops compute a whole expression in one tape entry with a hand-written
backward, which is what makes the engine fast. Every activation here is one
tape entry; its derivative is computed only when the backward pass asks for
it, and every formula is arranged so that float32 inputs of any finite
magnitude give finite outputs and gradients wherever the true values are
finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.backend import config
from engine.backend.config import floatx
from engine.backend.tensor import Tensor
from engine.ops.core import as_array, record, relu_into

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715
# Past |x| = 1e4 the tanh-approximate GELU gate is exactly 0 or 1 in any float
# type, while x**3 would overflow float32 from about 7e12: clip before cubing.
_GELU_CLIP = 1e4
_INV_SQRT2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _floating(x: Any) -> np.ndarray:
    """The array behind `x`, converted to floatx when it holds integers or booleans."""
    a = as_array(x)
    if a.dtype.kind not in "fc":
        a = a.astype(floatx())
    return a


def _const(a: np.ndarray, value: float) -> np.generic:
    """`value` as a scalar of `a`'s dtype, so that mask * constant keeps that dtype."""
    return a.dtype.type(value)


def _pointwise(x: Any, out: np.ndarray, derivative: Callable[[], np.ndarray]) -> Tensor:
    """Record an elementwise op whose local derivative is computed only on backward."""
    return record(out, (x,), lambda g, n: (g * derivative(),))


def _sigmoid(a: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


def _softplus(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))


# The standard normal CDF for exact GELU. NumPy has no erf, so erfc is rebuilt
# in the classic form erfc(z) = t * exp(P(t) - z**2) with t = 1 / (1 + z / 2),
# where P(t) = log(exp(z**2) * erfc(z) / t) is smooth on t in (0, 1] (z >= 0).
# P is interpolated by a Chebyshev series fitted once at import time against
# exp(z**2) * erfc(z) from the standard library for z < 2, and from erfc's
# continued fraction beyond, where that product loses precision (and erfc
# underflows past z = 26). One series for all z keeps evaluation free of
# masks and gathers.
# Evaluation is in float64; float64 inputs get a degree accurate to about
# 2e-13 relative, other inputs a lower degree accurate to about 7e-9 (far
# below float32 resolution) at two thirds of the cost.
# erfc(40) underflows float64: clipping z there keeps z**2 finite.
_ERFC_Z_MAX = 40.0


def _erfcx(z: float) -> float:
    """`exp(z**2) * erfc(z)` for a scalar z >= 0 (import time only)."""
    if z < 2.0:
        return math.exp(z * z) * math.erfc(z)
    # erfc(z) = exp(-z**2) / sqrt(pi) / (z + (1/2) / (z + 1 / (z + (3/2) / (z + ...)))),
    # which converges quickly for z >= 2; evaluated from the tail inwards.
    f = z
    for k in range(200, 0, -1):
        f = z + 0.5 * k / f
    return 1.0 / (math.sqrt(math.pi) * f)


def _erfc_exponent(t: float) -> float:
    z = 2.0 * (1.0 / t - 1.0)
    return math.log(_erfcx(z) / t)


def _chebyshev(fn: Callable[[float], float], degree: int) -> np.ndarray:
    return np.polynomial.Chebyshev.interpolate(np.vectorize(fn), degree, domain=[0, 1]).coef


_ERFC_SERIES = {True: _chebyshev(_erfc_exponent, 20), False: _chebyshev(_erfc_exponent, 12)}


def _clenshaw(coef: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Evaluate a Chebyshev series at `t` in [-1, 1] (in place: this is a hot loop)."""
    t2 = 2 * t
    b1 = np.full_like(t, coef[-1])
    b2 = np.zeros_like(t)
    tmp = np.empty_like(t)
    for c in coef[-2:0:-1]:
        np.multiply(t2, b1, out=tmp)
        tmp -= b2
        tmp += c
        b1, b2, tmp = tmp, b1, b2
    b1 *= t
    b1 -= b2
    b1 += coef[0]
    return b1


def _normal_cdf(a: np.ndarray) -> np.ndarray:
    """Phi(a) in float64; the lower tail keeps its relative precision."""
    x = a.astype(np.float64)
    z = np.minimum(np.abs(x) * _INV_SQRT2, _ERFC_Z_MAX)
    t = 1 / (1 + 0.5 * z)
    exponent = _clenshaw(_ERFC_SERIES[a.dtype == np.float64], 2 * t - 1)
    exponent -= z * z
    half_tail = 0.5 * t * np.exp(exponent)
    return np.where(x < 0, half_tail, 1 - half_tail)


# Rectifiers --------------------------------------------------------------------
def relu(x: Any) -> Tensor:
    """`max(x, 0)`.

    Example:
        >>> ops.relu([-1.0, 0.0, 2.0]).numpy()
        array([0., 0., 2.], dtype=float32)
    """
    a = as_array(x)
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        out = relu_into(a, np.empty_like(a))
    else:
        out = np.maximum(a, 0)
    return record(out, (x,), lambda g, n: (g * (a > 0),))


def relu6(x: Any) -> Tensor:
    """`min(max(x, 0), 6)`; the gradient is 1 strictly between 0 and 6."""
    a = as_array(x)
    return _pointwise(x, np.clip(a, 0, 6), lambda: (a > 0) & (a < 6))


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    """`x` where `x > 0`, else `negative_slope * x` (Keras 3 default slope 0.2)."""
    a = _floating(x)
    positive = a > 0
    out = np.where(positive, a, a * negative_slope)
    return record(out, (x,), lambda g, n: (np.where(positive, g, g * negative_slope),))


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """`x` where `x > 0`, else `alpha * (exp(x) - 1)`."""
    a = _floating(x)
    negative = np.minimum(a, 0)
    out = np.where(a > 0, a, alpha * np.expm1(negative))
    return record(out, (x,), lambda g, n: (np.where(a > 0, g, g * alpha * np.exp(negative)),))


def selu(x: Any) -> Tensor:
    """Scaled ELU: `scale * elu(x, alpha)` with the self-normalising constants."""
    a = _floating(x)
    negative = np.minimum(a, 0)
    out = _SELU_SCALE * np.where(a > 0, a, _SELU_ALPHA * np.expm1(negative))

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        return (
            np.where(a > 0, g * _SELU_SCALE, g * (_SELU_SCALE * _SELU_ALPHA) * np.exp(negative)),
        )

    return record(out, (x,), vjp)


def celu(x: Any, alpha: float = 1.0) -> Tensor:
    """Continuously differentiable ELU: `max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))`."""
    if alpha == 0:
        raise ValueError("celu needs a non-zero alpha.")
    a = _floating(x)
    # Past x / alpha = -1e4, exp is exactly zero; the floor keeps x / alpha finite.
    scaled = np.maximum(np.minimum(a, 0), -1e4 * alpha) / alpha
    out = np.where(a > 0, a, alpha * np.expm1(scaled))
    return record(out, (x,), lambda g, n: (np.where(a > 0, g, g * np.exp(scaled)),))


def threshold(x: Any, threshold: float, default_value: float) -> Tensor:
    """`x` where `x > threshold`, else `default_value`."""
    a = _floating(x)
    keep = a > threshold
    return _pointwise(x, np.where(keep, a, default_value).astype(a.dtype, copy=False), lambda: keep)


# Smooth gates ----------------------------------------------------------------------
def sigmoid(x: Any) -> Tensor:
    """`1 / (1 + exp(-x))`, computed without overflow.

    The output remembers its logits for fused binary crossentropy.
    """
    a = _floating(x)
    out = _sigmoid(a)
    t = record(out, (x,), lambda g, n: (g * out * (1 - out),))
    t._keras_logits = x if isinstance(x, Tensor) else Tensor(a)
    t._keras_activation = "sigmoid"
    return t


def log_sigmoid(x: Any) -> Tensor:
    """`log(sigmoid(x)) = -softplus(-x)`, finite for every finite `x`."""
    a = _floating(x)
    out = np.minimum(a, 0) - np.log1p(np.exp(-np.abs(a)))
    return _pointwise(x, out, lambda: _sigmoid(-a))


def softplus(x: Any) -> Tensor:
    """`log(1 + exp(x))`, computed as `max(x, 0) + log1p(exp(-|x|))`."""
    a = _floating(x)
    return _pointwise(x, _softplus(a), lambda: _sigmoid(a))


def softsign(x: Any) -> Tensor:
    """`x / (1 + |x|)`."""
    a = _floating(x)
    inv = 1 / (1 + np.abs(a))
    return _pointwise(x, a * inv, lambda: inv * inv)


def silu(x: Any) -> Tensor:
    """Sigmoid-weighted linear unit (swish): `x * sigmoid(x)`."""
    a = _floating(x)
    s = _sigmoid(a)
    return _pointwise(x, a * s, lambda: s * (1 + a * (1 - s)))


swish = silu


def gelu(x: Any, approximate: bool = True) -> Tensor:
    """Gaussian error linear unit `x * Phi(x)`.

    Args:
        x: input tensor.
        approximate: use the tanh approximation
            `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))`
            (the default of `keras.ops.gelu`); `False` gives the exact form with
            the normal CDF (the default of `keras.activations.gelu`).
    """
    a = _floating(x)
    if approximate:
        # 0.5 * (1 + tanh(u)) == sigmoid(2u), and the stable sigmoid keeps the
        # negative tail accurate where 1 + tanh(u) would cancel to zero.
        c = np.clip(a, -_GELU_CLIP, _GELU_CLIP)
        c2 = c * c
        s = _sigmoid(2 * _GELU_K * (c + _GELU_C * c2 * c))
        out = a * s

        def derivative() -> np.ndarray:
            du = 2 * _GELU_K * (1 + 3 * _GELU_C * c2)
            return s + a * s * (1 - s) * du

        return _pointwise(x, out, derivative)
    cdf = _normal_cdf(a)
    out = (a * cdf).astype(a.dtype, copy=False)

    def exact_derivative() -> np.ndarray:
        x64 = a.astype(np.float64)
        # exp(-x**2 / 2) is exactly zero past |x| = 40; clipping keeps x**2 finite.
        c = np.clip(x64, -40.0, 40.0)
        density = np.exp(-0.5 * c * c) * _INV_SQRT_2PI
        return (cdf + x64 * density).astype(a.dtype, copy=False)

    return _pointwise(x, out, exact_derivative)


def mish(x: Any) -> Tensor:
    """`x * tanh(softplus(x))`."""
    a = _floating(x)
    t = np.tanh(_softplus(a))
    return _pointwise(x, a * t, lambda: t + a * (1 - t * t) * _sigmoid(a))


def glu(x: Any, axis: int = -1) -> Tensor:
    """Gated linear unit: split `x` in two halves `a, b` along `axis`, return `a * sigmoid(b)`."""
    arr = _floating(x)
    size = arr.shape[axis]
    if size % 2:
        raise ValueError(
            f"glu splits axis {axis} in two halves, but it has odd size {size}; "
            "give it an even size."
        )
    lin, gate = np.split(arr, 2, axis=axis)
    s = _sigmoid(gate)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        return (np.concatenate([g * s, g * lin * s * (1 - s)], axis=axis),)

    return record(lin * s, (x,), vjp)


# Piecewise-linear shapes --------------------------------------------------------------
def hard_sigmoid(x: Any) -> Tensor:
    """`relu6(x + 3) / 6`: 0 below -3, 1 above 3, linear in between."""
    a = _floating(x)
    return _pointwise(
        x, np.clip(a / 6 + 0.5, 0, 1), lambda: ((a > -3) & (a < 3)) * _const(a, 1 / 6)
    )


def hard_silu(x: Any) -> Tensor:
    """Hard swish: `x * hard_sigmoid(x)`."""
    a = _floating(x)
    hs = np.clip(a / 6 + 0.5, 0, 1)
    return _pointwise(x, a * hs, lambda: hs + a * (((a > -3) & (a < 3)) * _const(a, 1 / 6)))


hard_swish = hard_silu


def hard_tanh(x: Any) -> Tensor:
    """`clip(x, -1, 1)`."""
    a = _floating(x)
    return _pointwise(x, np.clip(a, -1, 1), lambda: (a > -1) & (a < 1))


def hard_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    """`x` where `|x| > threshold`, else 0."""
    a = _floating(x)
    keep = np.abs(a) > threshold
    return _pointwise(x, np.where(keep, a, 0), lambda: keep)


def soft_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    """`x - threshold` above `threshold`, `x + threshold` below `-threshold`, else 0."""
    a = _floating(x)
    out = np.where(a > threshold, a - threshold, np.where(a < -threshold, a + threshold, 0))
    return _pointwise(x, out.astype(a.dtype, copy=False), lambda: np.abs(a) > threshold)


def tanh_shrink(x: Any) -> Tensor:
    """`x - tanh(x)`."""
    a = _floating(x)
    t = np.tanh(a)
    return _pointwise(x, a - t, lambda: t * t)


def sparse_plus(x: Any) -> Tensor:
    """0 for `x <= -1`, `(x + 1)**2 / 4` for `-1 < x < 1`, `x` for `x >= 1`."""
    a = _floating(x)
    inside = (a > -1) & (a < 1)
    shifted = np.clip(a, -1, 1) + 1
    out = np.where(a >= 1, a, np.where(inside, 0.25 * shifted * shifted, 0))
    return _pointwise(
        x, out.astype(a.dtype, copy=False), lambda: np.where(inside, 0.5 * shifted, a >= 1)
    )


def sparse_sigmoid(x: Any) -> Tensor:
    """0 for `x <= -1`, `(x + 1) / 2` for `-1 < x < 1`, 1 for `x >= 1`."""
    a = _floating(x)
    return _pointwise(
        x, np.clip(0.5 * (a + 1), 0, 1), lambda: ((a > -1) & (a < 1)) * _const(a, 0.5)
    )


def squareplus(x: Any, b: float = 4) -> Tensor:
    """`(x + sqrt(x**2 + b)) / 2`, computed without overflow or cancellation."""
    if b < 0:
        raise ValueError(f"squareplus needs b >= 0, got b={b}.")
    a = _floating(x)
    root = np.hypot(a, math.sqrt(b)).astype(a.dtype, copy=False)
    # With b = 0 the root vanishes at x = 0, where any positive divisor will do.
    divisor = np.where(root > 0, root, 1)
    # For x < 0 the sum x + root cancels; the equal b / (root - x), written as
    # (b / root) / (1 + |x| / root) so nothing overflows, does not.
    ratio = np.abs(a) / divisor
    half_b_over_root = 0.5 * b / divisor
    negative = a < 0
    out = np.where(negative, half_b_over_root / (1 + ratio), 0.5 * a + 0.5 * root)

    def derivative() -> np.ndarray:
        return np.where(negative, half_b_over_root / divisor / (1 + ratio), 0.5 + 0.5 * ratio)

    return _pointwise(x, out.astype(a.dtype, copy=False), derivative)


# Normalised exponentials ---------------------------------------------------------------
def softmax(x: Any, axis: int = -1) -> Tensor:
    """Softmax along `axis`. The output remembers its logits for fused crossentropy."""
    a = _floating(x)
    # A logit more than the float range below the maximum overflows to -inf
    # here, and exp(-inf) = 0 is then its exact probability.
    with np.errstate(over="ignore"):
        e = np.exp(a - a.max(axis=axis, keepdims=True))
    out = e / e.sum(axis=axis, keepdims=True)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)

    t = record(out, (x,), vjp)
    t._keras_logits = x if isinstance(x, Tensor) else Tensor(a)
    if isinstance(axis, (int, np.integer)) and a.ndim and axis % a.ndim == a.ndim - 1:
        t._keras_activation = "softmax"
    return t


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """`log(softmax(x))`, computed stably."""
    a = _floating(x)
    shifted = a - a.max(axis=axis, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    out = shifted - lse

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)

    return record(out, (x,), vjp)


def sparsemax(x: Any, axis: int = -1) -> Tensor:
    """Euclidean projection of `x` onto the probability simplex along `axis`.

    Like softmax it returns non-negative values summing to one, but it gives
    exact zeros to low scores (Martins & Astudillo, 2016).
    """
    a = _floating(x)
    # The projection is shift-invariant: subtracting the maximum (and working in
    # at least float64) keeps the running sums below from overflowing.
    moved = np.moveaxis(a, axis, -1).astype(np.promote_types(a.dtype, np.float64))
    moved = moved - moved.max(axis=-1, keepdims=True)
    z = -np.sort(-moved, axis=-1)
    ranks = np.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    cumsum = np.cumsum(z, axis=-1)
    support_size = np.sum(1 + ranks * z > cumsum, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumsum, support_size - 1, axis=-1) - 1) / support_size
    out = np.moveaxis(np.maximum(moved - tau, 0), -1, axis).astype(a.dtype)
    support = out > 0

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        gs = g * support
        count = support.sum(axis=axis, keepdims=True).astype(g.dtype)
        mean = gs.sum(axis=axis, keepdims=True) / count
        return (support * (g - mean),)

    return record(out, (x,), vjp)


def normalize(x: Any, axis: int = -1, order: int = 2, epsilon: float | None = None) -> Tensor:
    """Divide `x` by its `order`-norm along `axis`, as `keras.ops.normalize`.

    Norms below `epsilon` (default `engine.backend.epsilon()`) are replaced by
    `epsilon`, so zero vectors stay zero instead of becoming NaN.

    Args:
        x: input tensor.
        axis: the axis (or axes) holding each vector.
        order: the norm order, an int >= 1.
        epsilon: the smallest norm divided by.
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize needs an int order >= 1, got order={order!r}.")
    a = _floating(x)
    if a.ndim == 0:
        a = a.reshape(1)
    eps = config.epsilon() if epsilon is None else epsilon
    ax = tuple(axis) if isinstance(axis, list) else axis
    absolute = np.abs(a)
    # The norm is handled as peak * ratio with peak = max|x| and the ratio in
    # [1, n], so neither the sum of powers nor the norm itself can overflow.
    peak = np.max(absolute, axis=ax, keepdims=True)
    peak = np.where(peak > 0, peak, 1)
    scaled = absolute / peak
    if order == 2:
        ratio = np.sqrt(np.sum(scaled * scaled, axis=ax, keepdims=True))
    elif order == 1:
        ratio = np.sum(scaled, axis=ax, keepdims=True)
    else:
        ratio = np.sum(scaled**order, axis=ax, keepdims=True) ** (1 / order)
    clamped = ratio < eps / peak
    # Dividing by max(norm, eps) in two steps: by `first`, then by `ratio`.
    first = np.where(clamped, eps, peak)
    ratio = np.where(clamped, 1, ratio)

    def divide_by_norm(v: np.ndarray) -> np.ndarray:
        return v / first / ratio

    out = divide_by_norm(a)
    shape = np.shape(as_array(x))

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        g = g.reshape(a.shape)
        # d(norm)/dx = sign(x) * (|x| / norm) ** (order - 1), zero where clamped.
        dnorm = np.sign(a) if order == 1 else np.sign(a) * (scaled / ratio) ** (order - 1)
        along = divide_by_norm(np.sum(g * out, axis=ax, keepdims=True))
        return ((divide_by_norm(g) - np.where(clamped, 0, along) * dnorm).reshape(shape),)

    return record(out, (x,), vjp)


# Encodings --------------------------------------------------------------------------------
def one_hot(
    x: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False
) -> Tensor:
    """One-hot encode integer indices; indices outside `[0, num_classes)` give zero rows.

    Args:
        x: integer class indices of any shape.
        num_classes: the length of each one-hot vector.
        axis: where the new class axis goes (last by default).
        dtype: output dtype, floatx when None.
        sparse: must be False: the engine has no sparse tensors.
    """
    if sparse:
        raise ValueError("one_hot(sparse=True) is unavailable: the engine has dense tensors only.")
    idx = np.asarray(as_array(x))
    if idx.dtype.kind not in "iub":
        if idx.dtype.kind == "f" and np.all(np.isfinite(idx)) and np.all(idx == np.round(idx)):
            idx = idx.astype(np.int64)
        else:
            raise ValueError(f"one_hot needs integer class indices, got dtype {idx.dtype}.")
    num_classes = int(num_classes)
    flat = idx.reshape(-1).astype(np.int64)
    out = np.zeros((flat.size, num_classes), dtype=dtype or floatx())
    valid = (flat >= 0) & (flat < num_classes)
    out[np.nonzero(valid)[0], flat[valid]] = 1
    out = out.reshape((*idx.shape, num_classes))
    if axis != -1:
        out = np.moveaxis(out, -1, axis)
    return Tensor(out)


__all__ = sorted(
    name
    for name, value in list(globals().items())
    if callable(value) and not name.startswith("_") and getattr(value, "__module__", "") == __name__
)
