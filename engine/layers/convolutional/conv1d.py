"""`Conv1D`: temporal convolution over `(batch, steps, channels)` inputs."""

from __future__ import annotations

from typing import Any

from engine.layers.convolutional.base_conv import BaseConv
from engine.ops.conv import IntOrTuple


class Conv1D(BaseConv):
    """1D convolution layer (e.g. temporal convolution over a sequence).

    The kernel has shape `(kernel_size, channels // groups, filters)`, as in
    Keras. Like Keras 3, the layer does not support masking: a mask on its
    inputs (e.g. from `Embedding(mask_zero=True)`) is not passed on.

    Args:
        filters: the number of output channels.
        kernel_size: the length of the convolution window.
        strides: the stride; > 1 excludes `dilation_rate` > 1.
        padding: "valid", "same" (odd padding step at the end) or "causal"
            (left padding only, so `output[t]` never sees `input[t + 1:]`).
        data_format: "channels_last" (or None); "channels_first" is not supported.
        dilation_rate: the dilation rate of the window.
        groups: split the input channels into this many groups.
        activation: activation name or function (linear when None).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers for the weights.
        kernel_regularizer, bias_regularizer: optional weight penalties.
        activity_regularizer: optional penalty on the output.
        kernel_constraint, bias_constraint: optional projections after each update.

    Example:
        >>> x = np.random.rand(4, 10, 128).astype("float32")
        >>> Conv1D(32, 3, activation="relu")(x).shape
        (4, 8, 32)
    """

    def __init__(
        self,
        filters: int,
        kernel_size: IntOrTuple,
        strides: IntOrTuple = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: IntOrTuple = 1,
        groups: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            rank=1,
            filters=filters,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            groups=groups,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
