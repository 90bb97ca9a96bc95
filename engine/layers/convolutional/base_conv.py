"""`BaseConv`: the N-D convolution layer that `Conv1D` and `Conv2D` specialise."""

from __future__ import annotations

from typing import Any

from engine import activations, constraints, initializers, regularizers
from engine.layers.layer import Layer
from engine.ops.conv import (
    IntOrTuple,
    check_data_format,
    conv,
    conv_output_length,
    standardize_padding,
    standardize_tuple,
)


def check_positive_int(value: Any, name: str) -> int:
    """`value` if it is a positive int, else a ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
    return value


def check_strides_and_dilation(strides: tuple[int, ...], dilation: tuple[int, ...]) -> None:
    """Keras rejects strides > 1 together with dilation_rate > 1."""
    if max(strides) > 1 and max(dilation) > 1:
        raise ValueError(
            f"strides > 1 cannot be combined with dilation_rate > 1; got strides={strides} "
            f"and dilation_rate={dilation}."
        )


def input_channels(layer: Layer, input_shape: Any, rank: int) -> int:
    """The channel count of a channels-last input shape, checked for rank and known size."""
    shape = tuple(input_shape)
    if len(shape) != rank + 2:
        dims = "(batch, steps, channels)" if rank == 1 else "(batch, height, width, channels)"
        raise ValueError(
            f"Layer {layer.name!r} expects inputs of rank {rank + 2} {dims}, got shape {shape}."
        )
    if shape[-1] is None:
        raise ValueError(
            f"Layer {layer.name!r} needs a known channel (last) dimension, got shape {shape}."
        )
    return int(shape[-1])


fused_activation = activations.fused_activation


def conv_output_shape(
    layer: Layer,
    input_shape: Any,
    channels: int,
    kernel_size: tuple[int, ...],
    strides: tuple[int, ...],
    padding: str,
    dilation_rate: tuple[int, ...],
) -> tuple[int | None, ...]:
    """The output shape of a convolution, rejecting inputs too small for the kernel."""
    shape = tuple(input_shape)
    spatial = tuple(
        conv_output_length(size, k, s, padding, d)
        for size, k, s, d in zip(shape[1:-1], kernel_size, strides, dilation_rate)
    )
    if any(n is not None and n < 1 for n in spatial):
        raise ValueError(
            f"Layer {layer.name!r}: inputs of shape {shape} are too small for kernel_size "
            f"{kernel_size} with dilation_rate {dilation_rate} and padding={padding!r}; "
            "use padding='same' or a smaller kernel."
        )
    return (shape[0], *spatial, channels)


class BaseConv(Layer):
    """An N-D convolution: `activation(conv(inputs, kernel) + bias)` over channels-last inputs.

    Args:
        rank: the number of spatial axes (1 or 2).
        filters: the number of output channels.
        kernel_size: an int or one int per spatial axis.
        strides: an int or one int per spatial axis; > 1 excludes dilation > 1.
        padding: "valid", "same" (odd padding pixel at the bottom/right, as in
            Keras) or, in 1D, "causal".
        data_format: "channels_last" (or None); "channels_first" is not supported.
        dilation_rate: an int or one int per spatial axis.
        groups: split the input channels into this many groups, each convolved
            with `filters // groups` filters.
        activation: activation name or function (linear when None).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers for the weights.
        kernel_regularizer, bias_regularizer: optional weight penalties.
        activity_regularizer: optional penalty on the output.
        kernel_constraint, bias_constraint: optional projections after each update.

    Example:
        >>> layer = BaseConv(2, 8, 3, padding="same")
        >>> layer(np.ones((1, 5, 5, 3), "float32")).shape
        (1, 5, 5, 8)
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
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.filters = check_positive_int(filters, "filters")
        self.groups = check_positive_int(groups, "groups")
        if self.filters % self.groups:
            raise ValueError(
                f"filters ({self.filters}) must be divisible by groups ({self.groups})."
            )
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(strides, rank, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        check_strides_and_dilation(self.strides, self.dilation_rate)
        self.padding = standardize_padding(padding, allow_causal=rank == 1)
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
        if channels % self.groups:
            raise ValueError(
                f"Layer {self.name!r}: the {channels} input channels must be divisible by "
                f"groups ({self.groups}); input shape {tuple(input_shape)}."
            )
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, channels // self.groups, self.filters),
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
        outputs = conv(
            inputs,
            self.kernel,
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
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "groups": self.groups,
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
