"""`LayerNormalization`: normalize each sample over its feature axes."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from engine import constraints, initializers, regularizers
from engine.layers.layer import Layer
from engine.ops.normalization import layer_normalization


class LayerNormalization(Layer):
    """Layer normalization (Ba et al., 2016): normalize each sample on its own.

    For every sample, the mean and the biased variance are taken over `axis`
    and the output is `gamma * (x - mean) / sqrt(var + epsilon) + beta`, with
    `gamma` and `beta` spanning the normalized axes. Nothing depends on the
    batch, so training and inference compute the same thing.

    Args:
        axis: the axis or axes to normalize over (the features); -1 is the last.
        epsilon: added to the variance to avoid dividing by zero.
        center: add the learned offset `beta`.
        scale: multiply by the learned scale `gamma`.
        rms_scaling: deprecated in Keras 3 and kept for loading its models:
            the output is `x * rsqrt(var + epsilon) * gamma` (scaled by the
            variance, not centered; `center` and `scale` are ignored).
        beta_initializer, gamma_initializer: initializers of the weights.
        beta_regularizer, gamma_regularizer: optional penalties.
        beta_constraint, gamma_constraint: optional projections after each update.

    Example:
        >>> layer = LayerNormalization(axis=[1, 2])
        >>> _ = layer(np.ones((2, 3, 4), "float32"))
        >>> layer.gamma.shape, layer.beta.shape
        ((3, 4), (3, 4))
    """

    _engine_threads = True

    def __init__(
        self,
        axis: int | list[int] | tuple[int, ...] = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        rms_scaling: bool = False,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        if rms_scaling:
            warnings.warn(
                "LayerNormalization(rms_scaling=True) is deprecated, as in Keras 3: it scales "
                "the inputs by their variance, not their root mean square.",
                stacklevel=2,
            )
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and all(_is_int(a) for a in axis):
            self.axis: int | list[int] = [int(a) for a in axis]
        elif _is_int(axis):
            self.axis = int(axis)
        else:
            raise TypeError(
                f"LayerNormalization axis must be an int or a list/tuple of ints, got {axis!r}."
            )
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.rms_scaling = rms_scaling
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = None
        self.beta = None
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        ndim = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(
                    f"LayerNormalization axis {a} is out of range for inputs of shape "
                    f"{tuple(input_shape)}; use axes in [-{ndim}, {ndim - 1}]."
                )
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ValueError(
                f"LayerNormalization needs known sizes on the normalized axes {axes}, got input "
                f"shape {tuple(input_shape)}."
            )
        # Keras keeps the axis as a list once built (its config shows it so).
        self.axis = list(axes)
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(
                shape=shape,
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                name="gamma",
            )
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(
                shape=shape,
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                name="beta",
            )
        self.built = True

    def call(self, inputs: Any) -> Any:
        return layer_normalization(
            inputs,
            self.gamma,
            self.beta,
            axis=self.axis,
            epsilon=self.epsilon,
            rms_scaling=self.rms_scaling,
        )

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "rms_scaling": self.rms_scaling,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint),
            }
        )
        return config


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
