"""`PReLU`: a leaky rectifier whose negative slopes are learned weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine import constraints, initializers, regularizers
from engine.backend.tensor import Tensor
from engine.layers.layer import Layer
from engine.ops.core import as_array, record, unbroadcast


def prelu(x: Any, alpha: Any) -> Tensor:
    """`x` where `x > 0`, else `alpha * x`, as one tape entry.

    Args:
        x: inputs of shape `(batch, *dims)`.
        alpha: slopes broadcastable to `dims` (size-1 axes are shared).
    """
    a, w = as_array(x), as_array(alpha)
    if a.dtype.kind != "f":
        a = a.astype(w.dtype)
    positive = a > 0
    out = np.where(positive, a, w * a)

    def vjp(g: np.ndarray, n: tuple[bool, ...]) -> tuple[Any, Any]:
        gx = np.where(positive, g, g * w) if n[0] else None
        galpha = unbroadcast(np.where(positive, 0, g * a), w.shape) if n[1] else None
        return gx, galpha

    return record(out, (x, alpha), vjp)


class PReLU(Layer):
    """Parametric ReLU: `x` for `x >= 0`, `alpha * x` otherwise, with `alpha` learned.

    `alpha` has the shape of one sample (the input shape without the batch
    axis), with size 1 along each shared axis.

    Args:
        alpha_initializer: initializer of `alpha` (zeros, as in Keras).
        alpha_regularizer: optional penalty on `alpha`.
        alpha_constraint: optional projection of `alpha` after each update.
        shared_axes: input axes (1-based, the batch axis is 0) along which one
            slope is shared; e.g. `[1, 2]` for one slope per channel of
            `(batch, height, width, channels)` feature maps.

    Example:
        >>> layer = PReLU(shared_axes=[1, 2])
        >>> _ = layer(np.ones((2, 5, 5, 3), "float32"))
        >>> layer.alpha.shape
        (1, 1, 3)
    """

    def __init__(
        self,
        alpha_initializer: Any = "Zeros",
        alpha_regularizer: Any = None,
        alpha_constraint: Any = None,
        shared_axes: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = [int(a) for a in shared_axes]
        else:
            self.shared_axes = [int(shared_axes)]

    def build(self, input_shape: Any) -> None:
        ndim = len(input_shape)
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            position = axis % ndim if ndim else axis
            if not 1 <= position < ndim:
                raise ValueError(
                    f"PReLU shared_axes must be input axes other than the batch axis 0, got "
                    f"{self.shared_axes} for inputs of shape {tuple(input_shape)}."
                )
            param_shape[position - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(
                f"PReLU needs known sizes on every non-shared axis, got input shape "
                f"{tuple(input_shape)}; share the unknown axes with shared_axes."
            )
        self.alpha = self.add_weight(
            shape=tuple(param_shape),
            initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint,
            name="alpha",
        )
        self.built = True

    def call(self, inputs: Any) -> Any:
        return prelu(inputs, self.alpha)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes,
            }
        )
        return config
