"""Activation functions with Keras's names and signatures.

Each returns an engine `Tensor` and is differentiable through the gradient
tape; the work is done by the fused ops in `engine.ops.nn`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.config import floatx
from engine.backend.tensor import Tensor
from engine.ops import nn
from engine.ops import numpy as onp
from engine.ops.core import as_array, record


def relu(
    x: Any, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0
) -> Tensor:
    """Rectified linear unit, optionally leaky, capped and thresholded.

    With the defaults this is `max(x, 0)`. Otherwise, as in Keras:
    `max_value` where `x >= max_value`, `x` where `threshold < x < max_value`,
    and `negative_slope * (x - threshold)` below the threshold.

    Args:
        x: input tensor.
        negative_slope: slope below the threshold.
        max_value: the saturation value, no cap when None.
        threshold: the value below which the unit is damped or zero.

    Example:
        >>> relu([-10.0, -5.0, 0.0, 5.0, 10.0], max_value=5.0).numpy()
        array([0., 0., 0., 5., 5.], dtype=float32)
    """
    if max_value is None and threshold == 0:
        if negative_slope == 0:
            return nn.relu(x)
        return nn.leaky_relu(x, negative_slope=negative_slope)
    if max_value == 6 and threshold == 0 and negative_slope == 0:
        return nn.relu6(x)
    return _general_relu(x, negative_slope, max_value, threshold)


def _general_relu(x: Any, slope: float, max_value: float | None, threshold: float) -> Tensor:
    a = as_array(x)
    if a.dtype.kind != "f":
        a = a.astype(floatx())
    # Keras keeps x above the threshold (zero elsewhere), clips that part to
    # [0, max_value], then subtracts slope * relu(threshold - x).
    above = a > threshold if threshold != 0 else a > 0
    kept = np.where(above, a, 0)
    passes = above
    if max_value is not None:
        passes = above & (kept >= 0) & (kept <= max_value)
        kept = np.clip(kept, 0, max_value)
    below = a < threshold
    out = kept - slope * np.where(below, threshold - a, 0) if slope != 0 else kept

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        grad = g * passes
        if slope != 0:
            grad = grad + np.where(below, g * slope, 0)
        return (grad,)

    return record(out.astype(a.dtype, copy=False), (x,), vjp)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    """`x` for `x > 0`, `negative_slope * x` otherwise."""
    return nn.leaky_relu(x, negative_slope=negative_slope)


def relu6(x: Any) -> Tensor:
    """ReLU capped at 6."""
    return nn.relu6(x)


def softmax(x: Any, axis: int = -1) -> Tensor:
    """Softmax along `axis`; the output remembers its logits for crossentropy."""
    return nn.softmax(x, axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """Log-softmax along `axis`."""
    return nn.log_softmax(x, axis=axis)


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit: `x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise."""
    return nn.elu(x, alpha=alpha)


def selu(x: Any) -> Tensor:
    """Scaled exponential linear unit (use with `lecun_normal` initialisation)."""
    return nn.selu(x)


def celu(x: Any, alpha: float = 1.0) -> Tensor:
    """Continuously differentiable exponential linear unit."""
    return nn.celu(x, alpha=alpha)


def softplus(x: Any) -> Tensor:
    """`log(exp(x) + 1)`."""
    return nn.softplus(x)


def softsign(x: Any) -> Tensor:
    """`x / (abs(x) + 1)`."""
    return nn.softsign(x)


def silu(x: Any) -> Tensor:
    """Swish / SiLU: `x * sigmoid(x)`."""
    return nn.silu(x)


def gelu(x: Any, approximate: bool = False) -> Tensor:
    """Gaussian error linear unit; exact by default, as `keras.activations.gelu`.

    Args:
        x: input tensor.
        approximate: use the tanh approximation instead of the normal CDF.
    """
    return nn.gelu(x, approximate=approximate)


def glu(x: Any, axis: int = -1) -> Tensor:
    """Gated linear unit: halves `a, b` of `x` along `axis` give `a * sigmoid(b)`."""
    return nn.glu(x, axis=axis)


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent."""
    return onp.tanh(x)


def tanh_shrink(x: Any) -> Tensor:
    """`x - tanh(x)`."""
    return nn.tanh_shrink(x)


def hard_tanh(x: Any) -> Tensor:
    """`clip(x, -1, 1)`."""
    return nn.hard_tanh(x)


def sigmoid(x: Any) -> Tensor:
    """`1 / (1 + exp(-x))`; the output remembers its logits for crossentropy."""
    return nn.sigmoid(x)


def log_sigmoid(x: Any) -> Tensor:
    """`log(sigmoid(x))`."""
    return nn.log_sigmoid(x)


def exponential(x: Any) -> Tensor:
    """`exp(x)`."""
    return onp.exp(x)


def hard_sigmoid(x: Any) -> Tensor:
    """`relu6(x + 3) / 6`."""
    return nn.hard_sigmoid(x)


def hard_silu(x: Any) -> Tensor:
    """Hard swish: `x * relu6(x + 3) / 6`."""
    return nn.hard_silu(x)


def hard_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    """`x` where `|x| > threshold`, else 0."""
    return nn.hard_shrink(x, threshold=threshold)


def soft_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    """Shrink `x` toward zero by `threshold`, zero inside `[-threshold, threshold]`."""
    return nn.soft_shrink(x, threshold=threshold)


def sparse_plus(x: Any) -> Tensor:
    """Piecewise-quadratic softplus: 0, `(x + 1)**2 / 4`, `x`."""
    return nn.sparse_plus(x)


def sparse_sigmoid(x: Any) -> Tensor:
    """Piecewise-linear sigmoid: 0, `(x + 1) / 2`, 1."""
    return nn.sparse_sigmoid(x)


def sparsemax(x: Any, axis: int = -1) -> Tensor:
    """Projection onto the probability simplex along `axis` (sparse softmax)."""
    return nn.sparsemax(x, axis=axis)


def squareplus(x: Any, b: float = 4) -> Tensor:
    """`(x + sqrt(x**2 + b)) / 2`."""
    return nn.squareplus(x, b=b)


def threshold(x: Any, threshold: float, default_value: float) -> Tensor:
    """`x` where `x > threshold`, `default_value` otherwise."""
    return nn.threshold(x, threshold, default_value)


def mish(x: Any) -> Tensor:
    """`x * tanh(softplus(x))`."""
    return nn.mish(x)


def linear(x: Any) -> Any:
    """The identity: returns `x` unchanged."""
    return x


swish = silu
hard_swish = hard_silu
