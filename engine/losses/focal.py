"""Focal crossentropies (Lin et al., 2018): crossentropy down-weighted on easy examples.

The labels are constants here: the kernels differentiate `y_pred` only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.config import epsilon
from engine.backend.tensor import Tensor
from engine.losses.fused import (
    LossTerms,
    as_float,
    check_same_shape,
    fused,
    loss_tensor,
    power_grad,
    sigmoid,
    softmax,
)
from engine.losses.loss import LossFunctionWrapper
from engine.losses.probabilistic import check_axis, check_label_smoothing


# Binary focal crossentropy -------------------------------------------------
def _bfce_kernel(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    source: Tensor | None,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> LossTerms:
    ls = check_label_smoothing(label_smoothing)
    axis = check_axis(axis, "binary_focal_crossentropy")
    alpha, gamma = float(alpha), float(gamma)
    eps = epsilon()
    t = as_float(y_true, y_pred.dtype)
    check_same_shape(t, y_pred, "binary_focal_crossentropy")
    if ls:
        t = t * (1.0 - ls) + 0.5 * ls
    p = sigmoid(y_pred) if from_logits else y_pred
    c = np.clip(p, eps, 1 - eps)
    bce = -(t * np.log(c) + (1 - t) * np.log(1 - c))
    base = 1 - (t * p + (1 - t) * (1 - p))
    focal = base**gamma
    weight = t * alpha + (1 - t) * (1 - alpha) if apply_class_balancing else 1.0
    elem = weight * focal * bce
    scale = 1.0 / elem.shape[axis]

    def grad(g: np.ndarray, need_true: bool, need_pred: bool) -> tuple[Any, Any]:
        if not need_pred:
            return None, None
        dbce = ((1 - t) / (1 - c) - t / c) * ((p >= eps) & (p <= 1 - eps))
        # base = 1 - p_t and d p_t / d p = 2t - 1.
        dfocal = -power_grad(base, gamma) * (2 * t - 1)
        d = np.expand_dims(g, axis) * scale * weight * (dfocal * bce + focal * dbce)
        return None, (d * p * (1 - p) if from_logits else d)

    return LossTerms(np.mean(elem, axis=axis, dtype=elem.dtype), grad)


@fused(_bfce_kernel)
def binary_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """The binary crossentropy scaled by the focal factor `(1 - p_t) ** gamma`, averaged over axis.

    Args:
        y_true: labels in [0, 1], shape `(batch, ..., d)`.
        y_pred: probabilities, or logits with `from_logits=True`; same shape.
        apply_class_balancing: weight class 1 by `alpha` and class 0 by `1 - alpha`.
        alpha: the class-1 weight when balancing.
        gamma: the focusing parameter; 0 gives the plain binary crossentropy.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: in [0, 1]; squeezes the labels towards 0.5.
        axis: the axis the mean is taken over.

    Example:
        >>> binary_focal_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], gamma=2).numpy()
        array([0.32986468, 0.20579839], dtype=float32)
    """
    return loss_tensor(
        _bfce_kernel,
        y_true,
        y_pred,
        apply_class_balancing=apply_class_balancing,
        alpha=alpha,
        gamma=gamma,
        from_logits=from_logits,
        label_smoothing=label_smoothing,
        axis=axis,
    )


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """The binary focal crossentropy: `(1 - p_t) ** gamma` times the binary crossentropy.

    Args:
        apply_class_balancing: weight class 1 by `alpha` and class 0 by `1 - alpha`.
        alpha: the class-1 weight when balancing.
        gamma: the focusing parameter; 0 gives the plain binary crossentropy.
        from_logits: whether `y_pred` holds logits rather than probabilities.
        label_smoothing: in [0, 1]; squeezes the labels towards 0.5.
        axis: the axis the mean is taken over.
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> loss = BinaryFocalCrossentropy(gamma=2, from_logits=True)
        >>> loss([0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8]).numpy()
        array(0.691..., dtype=float32)
    """

    def __init__(
        self,
        apply_class_balancing: bool = False,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "binary_focal_crossentropy",
        dtype: Any = None,
    ) -> None:
        check_label_smoothing(label_smoothing)
        super().__init__(
            binary_focal_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            apply_class_balancing=apply_class_balancing,
            alpha=alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )
        self.apply_class_balancing = apply_class_balancing
        self.alpha = alpha
        self.gamma = gamma
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {
            **self._base_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
            "apply_class_balancing": self.apply_class_balancing,
            "alpha": self.alpha,
            "gamma": self.gamma,
        }


# Categorical focal crossentropy ----------------------------------------------
def _cfce_kernel(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    source: Tensor | None,
    alpha: float | list[float] = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> LossTerms:
    ls = check_label_smoothing(label_smoothing)
    axis = check_axis(axis, "categorical_focal_crossentropy")
    gamma = float(gamma)
    eps = epsilon()
    t = as_float(y_true, y_pred.dtype)
    check_same_shape(t, y_pred, "categorical_focal_crossentropy")
    if ls:
        t = t * (1.0 - ls) + ls / t.shape[-1]
    a = np.asarray(alpha, dtype=y_pred.dtype)
    probs = softmax(y_pred, axis) if from_logits else y_pred
    total = np.sum(probs, axis=axis, keepdims=True)
    q = probs / total
    c = np.clip(q, eps, 1 - eps)
    log_c = np.log(c)
    modulating = (1 - c) ** gamma
    values = np.sum(a * modulating * -t * log_c, axis=axis)

    def grad(g: np.ndarray, need_true: bool, need_pred: bool) -> tuple[Any, Any]:
        if not need_pred:
            return None, None
        # d/dc of -a * t * (1 - c)**gamma * log(c), then through the clip and q = p / sum(p).
        dc = -a * t * (modulating / c - power_grad(1 - c, gamma) * log_c)
        gq = np.expand_dims(g, axis) * dc * ((q >= eps) & (q <= 1 - eps))
        gp = (gq - np.sum(gq * q, axis=axis, keepdims=True)) / total
        if from_logits:
            gp = probs * (gp - np.sum(gp * probs, axis=axis, keepdims=True))
        return None, gp

    return LossTerms(values, grad)


@fused(_cfce_kernel)
def categorical_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    alpha: float | list[float] = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """`sum(alpha * (1 - p) ** gamma * -y_true * log(p), axis)` over the renormalised predictions.

    Args:
        y_true: one-hot labels, shape `(batch, ..., num_classes)`.
        y_pred: probabilities, or logits with `from_logits=True`; same shape.
        alpha: a weight for all classes, or a list with one weight per class.
        gamma: the focusing parameter; 0 removes the focal effect.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: in [0, 1]; as for `categorical_crossentropy`.
        axis: the class axis.

    Example:
        >>> categorical_focal_crossentropy([[0, 1, 0]], [[0.05, 0.9, 0.05]]).numpy()
        array([0.0002634], dtype=float32)
    """
    return loss_tensor(
        _cfce_kernel,
        y_true,
        y_pred,
        alpha=alpha,
        gamma=gamma,
        from_logits=from_logits,
        label_smoothing=label_smoothing,
        axis=axis,
    )


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """The alpha-balanced focal crossentropy for one-hot labels.

    Args:
        alpha: a weight for all classes, or a list with one weight per class.
        gamma: the focusing parameter; 0 removes the focal effect.
        from_logits: whether `y_pred` holds logits rather than probabilities.
        label_smoothing: in [0, 1]; as for `CategoricalCrossentropy`.
        axis: the class axis.
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype; floatx() when omitted.

    Example:
        >>> cfce = CategoricalFocalCrossentropy()
        >>> cfce([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]).numpy()
        array(0.23315276, dtype=float32)
    """

    def __init__(
        self,
        alpha: float | list[float] = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_focal_crossentropy",
        dtype: Any = None,
    ) -> None:
        check_label_smoothing(label_smoothing)
        super().__init__(
            categorical_focal_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            alpha=alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )
        self.alpha = alpha
        self.gamma = gamma
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {
            **self._base_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
            "alpha": self.alpha,
            "gamma": self.gamma,
        }
