"""Hinge losses for maximum-margin classifiers.

Labels are -1 or 1 (binary 0/1 labels are converted for `hinge` and
`squared_hinge`, as Keras does). The labels are constants: the kernels
differentiate `y_pred` only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.tensor import Tensor
from engine.losses.fused import LossTerms, as_float, fused, loss_tensor
from engine.losses.loss import LossFunctionWrapper


def _signed_labels(y_true: np.ndarray) -> np.ndarray:
    """Map 0/1 labels to -1/1; leave any other labels unchanged."""
    if np.all((y_true == 0) | (y_true == 1)):
        return 2 * y_true - 1
    return y_true


# Hinge ---------------------------------------------------------------------
def _hinge_kernel(y_true: np.ndarray, y_pred: np.ndarray, source: Tensor | None) -> LossTerms:
    t = _signed_labels(as_float(y_true, y_pred.dtype))
    margin = 1 - t * y_pred
    scale = 1.0 / margin.shape[-1]

    def grad(g: np.ndarray, need_true: bool, need_pred: bool) -> tuple[Any, Any]:
        if not need_pred:
            return None, None
        return None, -g[..., None] * scale * t * (margin > 0)

    return LossTerms(np.mean(np.maximum(margin, 0), axis=-1, dtype=margin.dtype), grad)


@fused(_hinge_kernel)
def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """`mean(maximum(1 - y_true * y_pred, 0), -1)`.

    Args:
        y_true: labels, -1 or 1 (0/1 labels are converted), shape `(batch, ..., d)`.
        y_pred: predictions, same shape.

    Example:
        >>> hinge([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).numpy()
        array([1.1, 1.5], dtype=float32)
    """
    return loss_tensor(_hinge_kernel, y_true, y_pred)


class Hinge(LossFunctionWrapper):
    """The hinge loss `maximum(1 - y_true * y_pred, 0)`, averaged.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> Hinge()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).numpy()
        array(1.3, dtype=float32)
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "hinge",
        dtype: Any = None,
    ) -> None:
        super().__init__(hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return self._base_config()


# Squared hinge ---------------------------------------------------------------
def _squared_hinge_kernel(
    y_true: np.ndarray, y_pred: np.ndarray, source: Tensor | None
) -> LossTerms:
    t = _signed_labels(as_float(y_true, y_pred.dtype))
    margin = np.maximum(1 - t * y_pred, 0)
    scale = 2.0 / margin.shape[-1]

    def grad(g: np.ndarray, need_true: bool, need_pred: bool) -> tuple[Any, Any]:
        if not need_pred:
            return None, None
        return None, -g[..., None] * scale * margin * t

    return LossTerms(np.mean(margin * margin, axis=-1, dtype=margin.dtype), grad)


@fused(_squared_hinge_kernel)
def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """`mean(square(maximum(1 - y_true * y_pred, 0)), -1)`.

    Args:
        y_true: labels, -1 or 1 (0/1 labels are converted), shape `(batch, ..., d)`.
        y_pred: predictions, same shape.

    Example:
        >>> squared_hinge([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).numpy()
        array([1.46, 2.26], dtype=float32)
    """
    return loss_tensor(_squared_hinge_kernel, y_true, y_pred)


class SquaredHinge(LossFunctionWrapper):
    """The squared hinge loss `square(maximum(1 - y_true * y_pred, 0))`, averaged.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> SquaredHinge()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).numpy()
        array(1.86, dtype=float32)
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "squared_hinge",
        dtype: Any = None,
    ) -> None:
        super().__init__(squared_hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return self._base_config()


# Categorical hinge -----------------------------------------------------------
def _categorical_hinge_kernel(
    y_true: np.ndarray, y_pred: np.ndarray, source: Tensor | None
) -> LossTerms:
    t = as_float(y_true, y_pred.dtype)
    pos = np.sum(t * y_pred, axis=-1)
    others = (1 - t) * y_pred
    neg = np.max(others, axis=-1)
    margin = neg - pos + 1

    def grad(g: np.ndarray, need_true: bool, need_pred: bool) -> tuple[Any, Any]:
        if not need_pred:
            return None, None
        # The max passes its gradient to the largest entries, shared equally among ties.
        top = others == neg[..., None]
        share = (top / top.sum(axis=-1, keepdims=True)).astype(t.dtype, copy=False)
        active = (g * (margin > 0))[..., None]
        return None, active * ((1 - t) * share - t)

    return LossTerms(np.maximum(margin, 0), grad)


@fused(_categorical_hinge_kernel)
def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """`maximum(neg - pos + 1, 0)`: the best wrong score against the true score, with a margin.

    `pos = sum(y_true * y_pred)` and `neg = max((1 - y_true) * y_pred)`.

    Args:
        y_true: one-hot labels (0/1 or -1/+1), shape `(batch, ..., num_classes)`.
        y_pred: predictions, same shape.

    Example:
        >>> categorical_hinge([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).numpy()
        array([1.2, 1.6], dtype=float32)
    """
    return loss_tensor(_categorical_hinge_kernel, y_true, y_pred)


class CategoricalHinge(LossFunctionWrapper):
    """The categorical hinge loss `maximum(neg - pos + 1, 0)`.

    `pos` is the score of the true class, `neg` the largest score of the others.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> CategoricalHinge()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).numpy()
        array(1.4000001, dtype=float32)
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_hinge",
        dtype: Any = None,
    ) -> None:
        super().__init__(categorical_hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return self._base_config()
