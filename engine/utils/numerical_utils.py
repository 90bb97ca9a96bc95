"""Array helpers Keras keeps in `keras.utils`: one-hot class matrices and normalisation."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.backend.config import floatx
from engine.backend.tensor import Tensor
from engine.ops import nn


def to_categorical(x: Any, num_classes: int | None = None) -> Any:
    """Convert class indices to a one-hot matrix with the class axis last.

    A trailing axis of length one is dropped first, as in Keras 3, so labels of
    shape `(n, 1)` give `(n, num_classes)`, not `(n, 1, num_classes)`. NumPy-like
    input gives a NumPy array (of floatx, where Keras returns float64, to keep
    training in float32); an engine `Tensor` gives a `Tensor`.

    Args:
        x: integer class indices in `[0, num_classes)`.
        num_classes: the number of classes, `max(x) + 1` when None.

    Example:
        >>> to_categorical([0, 2, 1], num_classes=3)
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    as_tensor = isinstance(x, Tensor)
    raw = np.asarray(x.value if as_tensor else x)
    if raw.dtype.kind == "f" and not np.all(np.isfinite(raw)):
        raise ValueError("to_categorical needs finite class indices; got NaN or inf.")
    if raw.dtype.kind not in "biuf":
        raise ValueError(f"to_categorical needs integer class indices, got dtype {raw.dtype}.")
    labels = raw.astype(np.int64)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)
    if num_classes is None or num_classes == 0:
        if flat.size == 0:
            raise ValueError("to_categorical cannot infer num_classes from empty input; pass it.")
        num_classes = int(flat.max()) + 1
    num_classes = int(num_classes)
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        raise ValueError(
            f"to_categorical got class indices in [{flat.min()}, {flat.max()}], outside "
            f"[0, {num_classes}); pass a larger num_classes or fix the labels."
        )
    categorical = np.zeros((flat.size, num_classes), dtype=floatx())
    categorical[np.arange(flat.size), flat] = 1
    categorical = categorical.reshape((*shape, num_classes))
    return Tensor(categorical) if as_tensor else categorical


def normalize(x: Any, axis: int = -1, order: int = 2) -> Any:
    """Scale `x` to unit `order`-norm along `axis`.

    NumPy input gives a NumPy array, and zero vectors stay zero. An engine
    `Tensor` goes through the differentiable `engine.ops.normalize`.

    Args:
        x: the array to normalise.
        axis: the axis along which vectors lie.
        order: the norm order (2 for Euclidean).

    Example:
        >>> normalize(np.array([[3.0, 4.0]]))
        array([[0.6, 0.8]])
    """
    if isinstance(x, Tensor):
        return nn.normalize(x, axis=axis, order=order)
    arr = np.asarray(x)
    if arr.ndim == 0:
        raise ValueError("normalize needs an array with at least one axis, got a scalar.")
    norm = np.atleast_1d(np.linalg.norm(arr, order, axis, keepdims=True))
    norm[norm == 0] = 1
    return arr / norm
