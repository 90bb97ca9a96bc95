"""`BaseConvTranspose`: the N-D transposed convolution that the 1D and 2D layers specialise."""

from __future__ import annotations

from typing import Any

from engine import activations, constraints, initializers, regularizers
from engine.layers.convolutional.base_conv import (
    check_positive_int,
    check_strides_and_dilation,
    input_channels,
)
from engine.layers.layer import Layer
from engine.ops.conv import (
    IntOrTuple,
    check_data_format,
    conv_transpose,
    conv_transpose_output_length,
    standardize_padding,
    standardize_tuple,
)


class BaseConvTranspose(Layer):
    """An N-D transposed convolution: the adjoint of a convolution, plus bias and activation.

    The kernel has Keras's transposed layout `(*kernel_size, filters, channels)`:
    output channels come before input channels.

    Args:
        rank: the number of spatial axes (1 or 2).
        filters: the number of output channels.
        kernel_size: an int or one int per spatial axis.
        strides: an int or one int per spatial axis; > 1 excludes dilation > 1.
        padding: "valid" or "same".
        data_format: "channels_last" (or None); "channels_first" is not supported.
        dilation_rate: an int or one int per spatial axis.
        activation: activation name or function (linear when None).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers for the weights.
        kernel_regularizer, bias_regularizer: optional weight penalties.
        activity_regularizer: optional penalty on the output.
        kernel_constraint, bias_constraint: optional projections after each update.
        output_padding: None, or an int or one int per axis (each below its
            stride) of extra output rows/columns at the bottom/right.

    Example:
        >>> layer = BaseConvTranspose(2, 8, 3, strides=2, padding="same")
        >>> layer(np.ones((1, 5, 5, 3), "float32")).shape
        (1, 10, 10, 8)
    """

    _engine_threads = True

    def __init__(
        self,
        rank: int,
        filters: int,
        kernel_size: IntOrTuple,
        strides: IntOrTuple = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: IntOrTuple = 1,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        output_padding: IntOrTuple | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        check_strides_and_dilation(self.strides, self.dilation_rate)
        self.padding = standardize_padding(padding)
        self.output_padding = (
            None
            if output_padding is None
            else standardize_tuple(output_padding, rank, "output_padding", allow_zero=True)
        )
        if self.output_padding is not None and any(
            p >= s for p, s in zip(self.output_padding, self.strides)
        ):
            raise ValueError(
                f"output_padding {self.output_padding} must be smaller than strides "
                f"{self.strides} along every axis."
            )
        self.data_format = check_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape: Any) -> None:
        channels = input_channels(self, input_shape, self.rank)
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, self.filters, channels),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
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
        outputs = conv_transpose(
            inputs,
            self.kernel,
            strides=self.strides,
            padding=self.padding,
            output_padding=self.output_padding,
            dilation_rate=self.dilation_rate,
            bias=self.bias,
        )
        return self.activation(outputs) if self.activation is not None else outputs

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        shape = tuple(input_shape)
        input_channels(self, shape, self.rank)
        extra = self.output_padding or (None,) * self.rank
        spatial = tuple(
            conv_transpose_output_length(size, k, s, self.padding, p, d)
            for size, k, s, p, d in zip(
                shape[1:-1], self.kernel_size, self.strides, extra, self.dilation_rate
            )
        )
        return (shape[0], *spatial, self.filters)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                # Keras 3 leaves output_padding out of the config, so a reloaded
                # layer silently changes its output size; it is kept here.
                "output_padding": self.output_padding,
                "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
            }
        )
        return config
