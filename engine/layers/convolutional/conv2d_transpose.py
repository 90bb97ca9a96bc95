"""`Conv2DTranspose`: transposed convolution (learned upsampling) of images."""

from __future__ import annotations

from typing import Any

from engine.layers.convolutional.base_conv_transpose import BaseConvTranspose
from engine.ops.conv import IntOrTuple


class Conv2DTranspose(BaseConvTranspose):
    """2D transposed convolution layer: the adjoint of `Conv2D`, mapping its output shape back.

    The kernel has Keras's transposed layout `(kh, kw, filters, channels)` (filters before
    channels). Output sizes follow Keras: "same" gives `size * stride`,
    "valid" gives `(size - 1) * stride + dilated kernel size` (at least
    `size * stride`); `output_padding` overrides the extra rows.

    Args:
        filters: the number of output channels.
        kernel_size: an int or `(kh, kw)`.
        strides: an int or `(sh, sw)`; > 1 excludes `dilation_rate` > 1.
        padding: "valid" or "same".
        data_format: "channels_last" (or None); "channels_first" is not supported.
        dilation_rate: an int or `(dh, dw)`.
        activation: activation name or function (linear when None).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers for the weights.
        kernel_regularizer, bias_regularizer: optional weight penalties.
        activity_regularizer: optional penalty on the output.
        kernel_constraint, bias_constraint: optional projections after each update.
        output_padding: None, or an int or `(ph, pw)` below the stride: the
            output size becomes `(size - 1) * stride + kernel size + output_padding`
            ("valid") or `(size - 1) * stride + kernel size % 2 + output_padding` ("same").

    Example:
        >>> x = np.random.rand(4, 10, 8, 128).astype("float32")
        >>> Conv2DTranspose(32, 2, 2, activation="relu")(x).shape
        (4, 20, 16, 32)
    """

    def __init__(
        self,
        filters: int,
        kernel_size: IntOrTuple,
        strides: IntOrTuple = (1, 1),
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: IntOrTuple = (1, 1),
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
        super().__init__(
            rank=2,
            filters=filters,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            output_padding=output_padding,
            **kwargs,
        )
