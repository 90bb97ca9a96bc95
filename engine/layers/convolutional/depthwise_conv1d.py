"""`DepthwiseConv1D`: depthwise convolution over `(batch, steps, channels)`."""

from __future__ import annotations

from typing import Any

from engine.layers.convolutional.base_depthwise_conv import BaseDepthwiseConv
from engine.ops.conv import IntOrTuple


class DepthwiseConv1D(BaseDepthwiseConv):
    """1D depthwise convolution: each input channel convolved with its own filters.

    The kernel, named `kernel` as in Keras, has shape `(kernel_size, channels,
    depth_multiplier)`; the output has `channels * depth_multiplier` channels,
    channel `c * depth_multiplier + m` coming from input channel `c`.

    Args:
        kernel_size: the length of the window.
        strides: the stride; > 1 excludes `dilation_rate` > 1.
        padding: "valid" or "same".
        depth_multiplier: the number of filters per input channel.
        data_format: "channels_last" (or None); "channels_first" is not supported.
        dilation_rate: the dilation rate.
        activation: activation name or function (linear when None).
        use_bias: whether to add a bias vector.
        depthwise_initializer, bias_initializer: initializers for the weights.
        depthwise_regularizer, bias_regularizer: optional weight penalties.
        activity_regularizer: optional penalty on the output.
        depthwise_constraint, bias_constraint: optional projections after each update.

    Example:
        >>> x = np.random.rand(4, 10, 12).astype("float32")
        >>> DepthwiseConv1D(3, strides=2, depth_multiplier=3, activation="relu")(x).shape
        (4, 4, 36)
    """

    def __init__(
        self,
        kernel_size: IntOrTuple,
        strides: IntOrTuple = 1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        data_format: str | None = None,
        dilation_rate: IntOrTuple = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            rank=1,
            depth_multiplier=depth_multiplier,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
