"""`GroupNormalization`: normalize each sample over groups of features."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine import constraints, initializers, regularizers
from engine.layers.layer import Layer
from engine.ops.normalization import group_normalization


class GroupNormalization(Layer):
    """Group normalization (Wu & He, 2018): batch-independent normalization over feature groups.

    The features on `axis` are split into `groups` consecutive groups; each
    sample is normalized with the mean and biased variance of its group (over
    the group's features and every other non-batch axis), then scaled by the
    per-feature `gamma` and shifted by `beta`. `groups=1` normalizes over all
    features like a layer norm with per-feature weights; `groups=-1` uses one
    group per feature (instance normalization).

    Args:
        groups: the number of groups; must divide the number of features.
            -1 means one group per feature.
        axis: the feature axis.
        epsilon: added to the variance to avoid dividing by zero.
        center: add the learned offset `beta`.
        scale: multiply by the learned scale `gamma`.
        beta_initializer, gamma_initializer: initializers of the weights.
        beta_regularizer, gamma_regularizer: optional penalties.
        beta_constraint, gamma_constraint: optional projections after each update.

    Example:
        >>> layer = GroupNormalization(groups=2)
        >>> y = layer(np.arange(16, dtype="float32").reshape(1, 2, 2, 4))
        >>> y.shape, layer.gamma.shape
        ((1, 2, 2, 4), (4,))
    """

    _engine_threads = True

    def __init__(
        self,
        groups: int = 32,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
            raise TypeError(f"GroupNormalization groups must be an integer, got {groups!r}.")
        if groups == 0 or groups < -1:
            raise ValueError(
                f"GroupNormalization groups must be a positive integer or -1 (one group per "
                f"feature), got {groups}."
            )
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"GroupNormalization axis must be one integer, got {axis!r}.")
        self.groups = int(groups)
        self.axis = int(axis)
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
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
        if not -ndim <= self.axis < ndim or self.axis % ndim == 0:
            raise ValueError(
                f"GroupNormalization axis {self.axis} must be a feature axis of inputs of shape "
                f"{tuple(input_shape)}, not the batch axis 0."
            )
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(
                f"GroupNormalization needs a known size on axis {self.axis}, got input shape "
                f"{tuple(input_shape)}."
            )
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(
                f"GroupNormalization groups ({self.groups}) cannot be more than the number of "
                f"features ({dim}) on axis {self.axis}."
            )
        if dim % self.groups:
            raise ValueError(
                f"GroupNormalization needs the number of features ({dim}) to be a multiple of "
                f"groups ({self.groups}); pick a number of groups that divides {dim}."
            )
        if self.scale:
            self.gamma = self.add_weight(
                shape=(dim,),
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                name="gamma",
            )
        if self.center:
            self.beta = self.add_weight(
                shape=(dim,),
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                name="beta",
            )
        self.built = True

    def call(self, inputs: Any) -> Any:
        return group_normalization(
            inputs, self.groups, self.gamma, self.beta, axis=self.axis, epsilon=self.epsilon
        )

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "groups": self.groups,
                "axis": self.axis,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint),
            }
        )
        return config
