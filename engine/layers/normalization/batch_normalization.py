"""`BatchNormalization`: normalize with batch statistics in training, moving ones after."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine import constraints, initializers, regularizers
from engine.backend.tensor import unwrap
from engine.layers.layer import Layer
from engine.ops import numpy as onp
from engine.ops.normalization import batch_normalization, fused_batch_norm


class BatchNormalization(Layer):
    """Normalizes its inputs per feature, keeping the mean near 0 and the deviation near 1.

    In training (`fit`, or `training=True`) the layer normalizes with the
    current batch's mean and biased variance over every axis but `axis`, and
    updates its moving statistics in place:
    `moving = moving * momentum + batch_statistic * (1 - momentum)`.
    In inference (`evaluate`, `predict`, `training=False`) it normalizes with
    the moving statistics. Either way the output is
    `gamma * (x - mean) / sqrt(var + epsilon) + beta`.

    As in Keras 3, a layer with `trainable = False` is frozen: it runs in
    inference mode even when called with `training=True`, and its moving
    statistics stay as they are.

    Args:
        axis: the feature axis (e.g. -1 after a channels-last `Conv2D`).
        momentum: the momentum of the moving averages.
        epsilon: added to the variance to avoid dividing by zero.
        center: add the learned offset `beta`.
        scale: multiply by the learned scale `gamma`.
        beta_initializer, gamma_initializer: initializers of the learned weights.
        moving_mean_initializer, moving_variance_initializer: initializers of
            the moving statistics.
        beta_regularizer, gamma_regularizer: optional penalties.
        beta_constraint, gamma_constraint: optional projections after each update.
        synchronized: accepted for compatibility; training runs in one process,
            so the batch statistics are always those of the whole batch.

    Call arguments:
        mask: optional mask of shape `inputs.shape[:-1]`; in training only the
            positions where it is True contribute to the batch statistics.

    Example:
        >>> layer = BatchNormalization()
        >>> x = np.array([[1.0, 10.0], [3.0, 30.0]], "float32")
        >>> layer(x, training=True).numpy().round(2)
        array([[-1., -1.],
               [ 1.,  1.]], dtype=float32)
        >>> layer.moving_mean.numpy().round(4)
        array([0.02, 0.2 ], dtype=float32)
    """

    _engine_threads = True

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        synchronized: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(
                f"BatchNormalization axis must be one integer (the feature axis), got {axis!r}."
            )
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.synchronized = synchronized
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = None
        self.beta = None
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim:
            raise ValueError(
                f"BatchNormalization axis {self.axis} is out of range for inputs of shape "
                f"{tuple(input_shape)}; use an axis in [-{ndim}, {ndim - 1}]."
            )
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(
                f"BatchNormalization needs a known size on axis {self.axis}, got input shape "
                f"{tuple(input_shape)}."
            )
        shape = (dim,)
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape,
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                name="gamma",
            )
        if self.center:
            self.beta = self.add_weight(
                shape=shape,
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                name="beta",
            )
        self.moving_mean = self.add_weight(
            shape=shape,
            initializer=self.moving_mean_initializer,
            trainable=False,
            name="moving_mean",
        )
        self.moving_variance = self.add_weight(
            shape=shape,
            initializer=self.moving_variance_initializer,
            trainable=False,
            name="moving_variance",
        )
        self.built = True

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> Any:
        if mask is not None and np.ndim(unwrap(mask)) != np.ndim(unwrap(inputs)) - 1:
            raise ValueError(
                "The mask given to BatchNormalization must have one dimension less than the "
                f"inputs, got mask shape {np.shape(unwrap(mask))} for inputs of shape "
                f"{np.shape(unwrap(inputs))}."
            )
        x = inputs
        dtype = np.asarray(unwrap(inputs)).dtype
        # Like Keras, normalize half-precision inputs in float32, where the
        # variance of large activations cannot overflow.
        if dtype.kind != "f" or dtype.itemsize < 4:
            x = onp.cast(inputs, "float32" if dtype.kind == "f" else self.dtype)
        if training and self.trainable:
            outputs, mean, variance = fused_batch_norm(
                x, self.gamma, self.beta, axis=self.axis, epsilon=self.epsilon, mask=mask
            )
            self._update_moving(self.moving_mean.value, mean)
            self._update_moving(self.moving_variance.value, variance)
        else:
            outputs = batch_normalization(
                x,
                self.moving_mean,
                self.moving_variance,
                axis=self.axis,
                offset=self.beta,
                scale=self.gamma,
                epsilon=self.epsilon,
            )
        if dtype.kind == "f" and dtype.itemsize < 4:
            outputs = onp.cast(outputs, dtype)
        return outputs

    def _update_moving(self, moving: np.ndarray, batch_value: np.ndarray) -> None:
        # In place on the variable's array, outside the tape: the statistics
        # are state, not something the loss is differentiated against.
        moving *= self.momentum
        moving += batch_value * (1.0 - self.momentum)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(
                    self.moving_variance_initializer
                ),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint),
                "synchronized": self.synchronized,
            }
        )
        return config
