"""Reducing per-sample losses to what `Loss.__call__` returns, fused into the loss's op.

The rules are Keras 3's (`keras/src/losses/loss.py`): a mask becomes sample
weights (rescaled by `total / valid` for the averaging reductions, so masked
entries drop out of the mean), sample weights and losses are squeezed or
expanded to the same rank, multiplied, then summed and divided.

One extension: sample weights of lower rank than the losses (one weight per
sample for per-timestep losses) get trailing axes and broadcast, as Keras 2
did; Keras 3 would raise a broadcasting error there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine.backend.tensor import Tensor, record, unwrap
from engine.losses.fused import LossOp, squeeze_or_expand_to_same_rank
from engine.ops.core import unbroadcast

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction: str | None) -> str | None:
    """Return `reduction` if Keras knows it, else raise a ValueError listing the choices."""
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Unknown loss reduction {reduction!r}; use one of 'sum_over_batch_size', 'sum', "
            "'mean', 'mean_with_sample_weight', 'none' or None."
        )
    return reduction


def merge_mask(in_mask: Any, out_mask: Any) -> np.ndarray | None:
    """Combine the prediction's mask and the loss's own mask (entries must pass both)."""
    masks = [np.asarray(unwrap(m), dtype=bool) for m in (in_mask, out_mask) if m is not None]
    if not masks:
        return None
    return masks[0] if len(masks) == 1 else masks[0] & masks[1]


def reduce_loss(
    op: LossOp,
    sample_weight: Any = None,
    mask: np.ndarray | None = None,
    reduction: str | None = "sum_over_batch_size",
    dtype: Any = "float32",
) -> Tensor:
    """Weight and reduce the losses of `op`, recording both as a single tape entry.

    Args:
        op: the per-sample losses with their parents and VJP.
        sample_weight: None, a scalar, one weight per sample or one per loss entry.
        mask: a boolean array over the losses; False entries do not count.
        reduction: one of `REDUCTIONS`.
        dtype: the dtype of the result.
    """
    dt = np.dtype(dtype)
    values = op.values if op.values.dtype == dt else op.values.astype(dt)
    weights = _weights(sample_weight, mask, reduction, dt)
    vals = values
    if weights is not None:
        vals, weights = squeeze_or_expand_to_same_rank(vals, weights)
        weights = _align(weights, vals, values.shape)
        weighted = vals * weights
    else:
        weighted = vals
    if reduction in (None, "none") or weighted.shape in ((), (0,)):
        out = weighted
        divisor = 1.0
    else:
        divisor = _divisor(reduction, weights, weighted)
        total = weighted.sum(dtype=dt)
        out = np.asarray(total / divisor if divisor else 0, dtype=dt)
    vjp = _reduction_vjp(op, vals.shape, values.shape, weighted.shape, weights, divisor)
    return record(out, op.parents, vjp)


def _weights(
    sample_weight: Any, mask: np.ndarray | None, reduction: str | None, dt: np.dtype
) -> np.ndarray | None:
    """Merge the mask into the sample weights as Keras's `apply_mask` does."""
    sw = None if sample_weight is None else np.asarray(unwrap(sample_weight), dtype=dt)
    if mask is None:
        return sw
    m = np.asarray(mask, dtype=dt)
    if reduction in ("mean", "sum_over_batch_size"):
        valid = float(m.sum())
        m = m * (m.size / valid if valid else 0.0)
    if sw is None:
        return m
    m, sw = squeeze_or_expand_to_same_rank(m, sw)
    sw = _align(sw, m, m.shape)
    return _align(m, sw, m.shape) * sw


def _align(weights: np.ndarray, values: np.ndarray, losses_shape: tuple[int, ...]) -> np.ndarray:
    """Give lower-rank weights trailing axes and check that they broadcast against the losses."""
    if weights.ndim < values.ndim:
        weights = weights.reshape(weights.shape + (1,) * (values.ndim - weights.ndim))
    try:
        np.broadcast_shapes(weights.shape, values.shape)
    except ValueError:
        raise ValueError(
            f"sample_weight of shape {weights.shape} does not broadcast against the losses of "
            f"shape {losses_shape}; pass one weight per sample, shape {losses_shape[:1]}, or one "
            f"per loss entry, shape {losses_shape}."
        ) from None
    return weights


def _divisor(reduction: str | None, weights: np.ndarray | None, weighted: np.ndarray) -> float:
    if reduction == "sum":
        return 1.0
    if reduction == "mean_with_sample_weight" and weights is not None:
        return float(np.broadcast_to(weights, weighted.shape).sum())
    return float(weighted.size)


def _reduction_vjp(
    op: LossOp,
    vals_shape: tuple[int, ...],
    values_shape: tuple[int, ...],
    weighted_shape: tuple[int, ...],
    weights: np.ndarray | None,
    divisor: float,
) -> Callable[[np.ndarray, tuple[bool, ...]], tuple[np.ndarray | None, ...]]:
    """The VJP of weighting and reducing, chained into the losses' own VJP."""

    def vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray | None, ...]:
        g = np.broadcast_to(g * (1.0 / divisor if divisor else 0.0), weighted_shape)
        if weights is not None:
            g = g * weights
        g_values = unbroadcast(np.ascontiguousarray(g), vals_shape).reshape(values_shape)
        return op.vjp(g_values.astype(op.values.dtype, copy=False), needs)

    return vjp
