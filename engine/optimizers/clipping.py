"""Gradient clipping by value, by per-tensor norm and by global norm, as Keras clips."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _sum_of_squares(x: np.ndarray) -> float:
    flat = x.reshape(-1)
    # A dot product sums the squares in the array's own dtype without a temporary.
    return float(np.dot(flat, flat))


def clip_by_value(grads: Sequence[np.ndarray], clipvalue: float) -> list[np.ndarray]:
    """Clip every element to `[-clipvalue, clipvalue]`.

    Example:
        >>> clip_by_value([np.array([-3.0, 0.5, 2.0])], 1.0)[0]
        array([-1. ,  0.5,  1. ])
    """
    return [np.clip(g, -clipvalue, clipvalue) for g in grads]


def clip_by_norm(grads: Sequence[np.ndarray], clipnorm: float) -> list[np.ndarray]:
    """Rescale each gradient on its own so that its L2 norm is at most `clipnorm`.

    Example:
        >>> clip_by_norm([np.array([3.0, 4.0])], 1.0)[0]
        array([0.6, 0.8])
    """
    clipped = []
    for g in grads:
        norm = math.sqrt(_sum_of_squares(g))
        clipped.append(g * (clipnorm / max(norm, clipnorm)) if norm > clipnorm else g)
    return clipped


def global_norm(grads: Sequence[np.ndarray]) -> float:
    """The L2 norm of all gradients taken together."""
    return math.sqrt(sum(_sum_of_squares(g) for g in grads))


def clip_by_global_norm(grads: Sequence[np.ndarray], clipnorm: float) -> list[np.ndarray]:
    """Rescale all gradients together so that their global L2 norm is at most `clipnorm`.

    A non-finite global norm turns every gradient into NaN, as in Keras, so that
    a diverged step is visible rather than silently scaled to zero.

    Example:
        >>> clip_by_global_norm([np.array([3.0]), np.array([4.0])], 1.0)
        [array([0.6]), array([0.8])]
    """
    norm = global_norm(grads)
    if not math.isfinite(norm):
        return [np.full_like(g, np.nan) for g in grads]
    if norm <= clipnorm:
        return list(grads)
    scale = clipnorm / norm
    return [g * scale for g in grads]
