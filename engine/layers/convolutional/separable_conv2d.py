"""`SeparableConv2D`: depthwise-separable convolution over `(batch, height, width, channels)`."""

from __future__ import annotations

from typing import Any

from engine.layers.convolutional.base_separable_conv import BaseSeparableConv
from engine.ops.conv import IntOrTuple


class SeparableConv2D(BaseSeparableConv):
    """2D separable convolution: a depthwise convolution, then a pointwise one mixing channels.

    Weights, in Keras's order and layout: `depthwise_kernel` `(kh, kw,
    channels, depth_multiplier)`, `pointwise_kernel` `(1, 1, channels *
    depth_multiplier, filters)`, `bias` `(filters,)`.

    Args:
        filters: the number of output channels.
        kernel_size: an int or `(kh, kw)`.
        strides: an int or `(sh, sw)`; > 1 excludes `dilation_rate` > 1.
        padding: "valid" or "same".
        data_format: "channels_last" (or None); "channels_first" is not supported.
        dilation_rate: an int or `(dh, dw)`.
        depth_multiplier: the number of depthwise filters per input channel.
        activation: activation name or function (linear when None).
        use_bias: whether to add a bias vector.
        depthwise_initializer, pointwise_initializer, bias_initializer: initializers.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer: optional penalties.
        activity_regularizer: optional penalty on the output.
        depthwise_constraint, pointwise_constraint, bias_constraint: optional projections.

    Example:
        >>> x = np.random.rand(4, 10, 10, 12).astype("float32")
        >>> SeparableConv2D(4, 3, strides=2, activation="relu")(x).shape
        (4, 4, 4, 4)
    """

    def __init__(
        self,
        filters: int,
        kernel_size: IntOrTuple,
        strides: IntOrTuple = (1, 1),
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: IntOrTuple = (1, 1),
        depth_multiplier: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        pointwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        pointwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            rank=2,
            depth_multiplier=depth_multiplier,
            filters=filters,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            pointwise_initializer=pointwise_initializer,
            bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            pointwise_regularizer=pointwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            pointwise_constraint=pointwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
