"""The fused-op machinery behind the built-in losses.

Every built-in loss is one tape entry. A *kernel* computes the per-sample
losses from NumPy arrays and returns them with a closure for their
vector-Jacobian product; `run_kernel` turns that into a `LossOp`, which the
function forms record as they are and `Loss.__call__` records together with
the reduction (sample weights, masks, the mean over the batch). A training
step therefore pays one forward and one backward pass per loss, not a chain of
small ops.

Softmax and sigmoid outputs remember their logits (`Tensor._keras_logits`)
and which of the two they are (`Tensor._keras_activation`; softmax only over
the last axis). A crossentropy kernel whose `y_pred` is such an output
computes the loss from the logits with a stable log-softmax or log-sigmoid
and differentiates with respect to the logits directly, as Keras's TensorFlow
backend does.

Labels are constants for the focal, sparse and hinge losses (their kernels
give no gradient for `y_true`); the other kernels differentiate both inputs,
so a loss between two network outputs trains both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.backend.config import floatx
from engine.backend.tensor import Tensor, record, unwrap
from engine.ops import numpy as onp
from engine.ops.core import unbroadcast

Grad = Callable[[np.ndarray, bool, bool], tuple[np.ndarray | None, np.ndarray | None]]
VJP = Callable[[np.ndarray, tuple[bool, ...]], tuple[np.ndarray | None, ...]]


@dataclass(frozen=True)
class LossTerms:
    """What a kernel returns.

    Args:
        values: the per-sample losses.
        grad: `grad(g, need_true, need_pred)` maps the gradient of `values` to
            the gradients of the kernel's `y_true` and `y_pred` arrays (or of
            the logits, see `logits`), skipping the ones not needed.
        logits: the pre-activation tensor when the kernel fused the softmax or
            sigmoid that produced `y_pred`; the `y_pred` gradient is then with
            respect to it.
        mask: a boolean array over `values` marking the entries that count.
    """

    values: np.ndarray
    grad: Grad
    logits: Tensor | None = None
    mask: np.ndarray | None = None


@dataclass(frozen=True)
class LossOp:
    """Per-sample losses with the parents and VJP that one tape entry needs.

    Args:
        values: the per-sample losses.
        parents: the tensors (or arrays) the losses depend on.
        vjp: maps the gradient of `values` to one gradient per parent.
        mask: a boolean array over `values` marking the entries that count.
    """

    values: np.ndarray
    parents: tuple[Any, ...]
    vjp: VJP
    mask: np.ndarray | None = None

    @classmethod
    def of_tensor(cls, losses: Tensor) -> LossOp:
        """Wrap losses already computed by ops; the gradient passes through."""
        mask = losses._keras_mask
        return cls(
            losses.value,
            (losses,),
            lambda g, needs: (g,),
            None if mask is None else np.asarray(unwrap(mask), dtype=bool),
        )

    def record(self) -> Tensor:
        """Record the op on the active tapes and return the per-sample losses."""
        out = record(self.values, self.parents, self.vjp)
        if self.mask is not None:
            out._keras_mask = self.mask
        return out


Kernel = Callable[..., LossTerms]

_KERNELS: dict[Callable[..., Any], Kernel] = {}


def fused(kernel: Kernel) -> Callable[[Callable[..., Tensor]], Callable[..., Tensor]]:
    """Declare that a public loss function computes through `kernel`.

    `LossFunctionWrapper` then runs the kernel directly and folds the reduction
    into the same tape entry.
    """

    def decorate(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
        _KERNELS[fn] = kernel
        return fn

    return decorate


def kernel_of(fn: Callable[..., Any]) -> Kernel | None:
    """The kernel behind a built-in loss function, None for any other callable."""
    return _KERNELS.get(fn)


def compute_dtype(y_pred: Any) -> np.dtype:
    """The dtype a loss function computes in: a float tensor's own, floatx otherwise."""
    if isinstance(y_pred, Tensor) and y_pred.dtype.kind == "f":
        return y_pred.dtype
    return np.dtype(floatx())


def squeeze_or_expand_to_same_rank(x1: Any, x2: Any, expand_rank_1: bool = True) -> tuple[Any, Any]:
    """Drop or add a trailing axis of length one when the ranks differ by exactly one.

    Works on tensors (differentiably) and on arrays, as Keras's helper of the same name.
    """
    r1, r2 = np.ndim(x1), np.ndim(x2)
    if r1 == r2 + 1 and np.shape(x1)[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = _expand_last(x2)
        else:
            x1 = _squeeze_last(x1)
    if r2 == r1 + 1 and np.shape(x2)[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = _expand_last(x1)
        else:
            x2 = _squeeze_last(x2)
    return x1, x2


def _expand_last(x: Any) -> Any:
    return onp.expand_dims(x, -1) if isinstance(x, Tensor) else np.expand_dims(x, -1)


def _squeeze_last(x: Any) -> Any:
    return onp.squeeze(x, -1) if isinstance(x, Tensor) else np.squeeze(x, -1)


def run_kernel(
    kernel: Kernel, y_true: Any, y_pred: Any, dtype: Any = None, **options: Any
) -> LossOp:
    """Run `kernel` on the arrays behind `y_true` and `y_pred` and wire up its VJP.

    Args:
        kernel: `kernel(y_true, y_pred, source, **options) -> LossTerms`, where
            `y_pred` is an array in the compute dtype, `y_true` the labels as
            given (any dtype) and `source` the original `y_pred` tensor.
        y_true: labels, a tensor or array-like.
        y_pred: predictions, a tensor or array-like.
        dtype: the compute dtype; by default that of a float `y_pred` tensor, else floatx.
        **options: the loss's keyword arguments (`from_logits`, ...).
    """
    dt = np.dtype(dtype) if dtype is not None else compute_dtype(y_pred)
    yp = np.asarray(unwrap(y_pred))
    if yp.dtype != dt:
        yp = yp.astype(dt)
    yt = np.asarray(unwrap(y_true))
    if yp.ndim == 0:
        raise ValueError(
            f"A loss needs y_pred with at least one axis (the features axis); got a scalar "
            f"{yp!r}. Pass predictions of shape (batch, ...)."
        )
    yt, yp = squeeze_or_expand_to_same_rank(yt, yp)
    terms = kernel(yt, yp, y_pred if isinstance(y_pred, Tensor) else None, **options)
    pred_parent = terms.logits if terms.logits is not None else y_pred
    true_shape, pred_shape = yt.shape, yp.shape

    def vjp(g: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray | None, ...]:
        g_true, g_pred = terms.grad(g, needs[0], needs[1])
        return (
            _to_parent(g_true, y_true, true_shape) if needs[0] else None,
            _to_parent(g_pred, pred_parent, pred_shape) if needs[1] else None,
        )

    return LossOp(terms.values, (y_true, pred_parent), vjp, terms.mask)


def _to_parent(g: np.ndarray | None, parent: Any, kernel_shape: tuple[int, ...]) -> Any:
    """Bring a kernel-side gradient to the parent's shape and dtype."""
    if g is None or not isinstance(parent, Tensor) or parent.dtype.kind != "f":
        return None
    if g.shape != kernel_shape:
        g = unbroadcast(g, kernel_shape)
    if g.shape != parent.shape:
        g = g.reshape(parent.shape)
    if g.dtype != parent.dtype:
        g = g.astype(parent.dtype)
    return g


def loss_tensor(kernel: Kernel, y_true: Any, y_pred: Any, **options: Any) -> Tensor:
    """Run a kernel as a function-form loss: the per-sample losses as one recorded op."""
    return run_kernel(kernel, y_true, y_pred, **options).record()


def activation_logits(source: Tensor | None, activation: str) -> Tensor | None:
    """The logits behind `source` if it is the output of `activation`, else None.

    Args:
        source: the `y_pred` tensor a loss received.
        activation: `"softmax"` (over the last axis) or `"sigmoid"`.
    """
    if source is None or source._keras_activation != activation:
        return None
    logits = source._keras_logits
    if not isinstance(logits, Tensor) or logits.shape != source.shape or source.size == 0:
        return None
    return logits


def sigmoid(x: np.ndarray) -> np.ndarray:
    """`1 / (1 + exp(-x))` without overflow, in the dtype of `x`."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along `axis`, shifted by the maximum for stability."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """`log(softmax(x))` along `axis`, computed stably."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def power_grad(base: np.ndarray, gamma: float) -> np.ndarray:
    """d(base ** gamma) / d(base), finite where base is zero (the focal factor's kink)."""
    if gamma == 0:
        return np.zeros_like(base)
    positive = base > 0
    d = gamma * np.where(positive, base, 1) ** (gamma - 1)
    return np.where(positive, d, 1.0 if gamma == 1 else 0.0).astype(base.dtype, copy=False)


def as_float(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`x` in `dtype`, without a copy when it already is."""
    return x if x.dtype == dtype else x.astype(dtype)


def check_same_shape(y_true: np.ndarray, y_pred: np.ndarray, loss: str) -> None:
    """Raise a ValueError naming the loss when the label and prediction shapes differ."""
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{loss} needs y_true and y_pred of the same shape; got y_true {y_true.shape} and "
            f"y_pred {y_pred.shape}. Reshape the labels to match the model's output."
        )
