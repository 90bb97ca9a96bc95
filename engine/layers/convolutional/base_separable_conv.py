"""`BaseSeparableConv`: the N-D depthwise-separable convolution the 1D and 2D layers specialise."""

from __future__ import annotations

from typing import Any

from engine import activations, constraints, initializers, regularizers
from engine.layers.convolutional.base_conv import (
    check_positive_int,
    check_strides_and_dilation,
    conv_output_shape,
    fused_activation,
    input_channels,
)
from engine.layers.layer import Layer
from engine.ops.conv import (
    IntOrTuple,
    check_data_format,
    separable_conv,
    standardize_padding,
    standardize_tuple,
)


class BaseSeparableConv(Layer):
    """A depthwise convolution, then a pointwise (1x1) convolution mixing the channels.

    Weights, in Keras's order: `depthwise_kernel` `(*kernel_size, channels,
    depth_multiplier)`, `pointwise_kernel` `(1, ..., channels *
    depth_multiplier, filters)`, `bias` `(filters,)`.

    Args:
        rank: the number of spatial axes (1 or 2).
        depth_multiplier: the number of depthwise filters per input channel.
        filters: the number of output channels.
        kernel_size: an int or one int per spatial axis (of the depthwise step).
        strides: an int or one int per spatial axis; > 1 excludes dilation > 1.
        padding: "valid" or "same".
        data_format: "channels_last" (or None); "channels_first" is not supported.
        dilation_rate: an int or one int per spatial axis.
        activation: activation name or function (linear when None).
        use_bias: whether to add a bias vector.
        depthwise_initializer, pointwise_initializer, bias_initializer: initializers.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer: optional penalties.
        activity_regularizer: optional penalty on the output.
        depthwise_constraint, pointwise_constraint, bias_constraint: optional projections.

    Example:
        >>> layer = BaseSeparableConv(2, 1, 8, 3)
        >>> layer(np.ones((1, 5, 5, 3), "float32")).shape
        (1, 3, 3, 8)
    """

    _engine_threads = True

    def __init__(
        self,
        rank: int,
        depth_multiplier: int,
        filters: int,
        kernel_size: IntOrTuple,
        strides: IntOrTuple = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: IntOrTuple = 1,
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
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.depth_multiplier = check_positive_int(depth_multiplier, "depth_multiplier")
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        check_strides_and_dilation(self.strides, self.dilation_rate)
        self.padding = standardize_padding(padding)
        self.data_format = check_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape: Any) -> None:
        channels = input_channels(self, input_shape, self.rank)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=(*self.kernel_size, channels, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
            name="depthwise_kernel",
        )
        self.pointwise_kernel = self.add_weight(
            shape=(*(1,) * self.rank, channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint,
            name="pointwise_kernel",
        )
        self.bias = (
            self.add_weight(
                shape=(self.filters,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
            if self.use_bias
            else None
        )
        self.built = True

    def call(self, inputs: Any) -> Any:
        outputs = separable_conv(
            inputs,
            self.depthwise_kernel,
            self.pointwise_kernel,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            bias=self.bias,
            activation=fused_activation(self.activation),
        )
        if self.activation is None or fused_activation(self.activation):
            return outputs
        return self.activation(outputs)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        input_channels(self, input_shape, self.rank)
        return conv_output_shape(
            self, input_shape, self.filters, self.kernel_size, self.strides, self.padding,
            self.dilation_rate,
        )  # fmt: skip

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "depth_multiplier": self.depth_multiplier,
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
                "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
                "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
            }
        )
        return config
