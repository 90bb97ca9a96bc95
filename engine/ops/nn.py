"""Neural-network ops (the `keras.ops` nn namespace): activations and fused kernels.

Fused ops compute a whole expression in one tape entry with a hand-written
backward, which is what makes the engine fast.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.tensor import Tensor
from engine.ops.core import as_array, record


def relu(x: Any) -> Tensor:
    """`max(x, 0)`."""
    a = as_array(x)
    out = np.maximum(a, 0)
    return record(out, (x,), lambda g, n: (g * (a > 0),))


def sigmoid(x: Any) -> Tensor:
    """`1 / (1 + exp(-x))`, computed without overflow."""
    a = as_array(x)
    out = _sigmoid(a)
    t = record(out, (x,), lambda g, n: (g * out * (1 - out),))
    t._keras_logits = x if isinstance(x, Tensor) else Tensor(a)
    return t


def _sigmoid(a: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


def softmax(x: Any, axis: int = -1) -> Tensor:
    """Softmax along `axis`. The output remembers its logits for fused crossentropy."""
    a = as_array(x)
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    out = e / e.sum(axis=axis, keepdims=True)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)

    t = record(out, (x,), vjp)
    t._keras_logits = x if isinstance(x, Tensor) else Tensor(a)
    return t


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """`log(softmax(x))`, computed stably."""
    a = as_array(x)
    shifted = a - a.max(axis=axis, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    out = shifted - lse

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[np.ndarray]:
        return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)

    return record(out, (x,), vjp)


__all__ = sorted(
    name
    for name, value in list(globals().items())
    if callable(value) and not name.startswith("_") and getattr(value, "__module__", "") == __name__
)
