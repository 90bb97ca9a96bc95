"""`Conv1DTranspose`/`Conv2DTranspose` and `ops.conv_transpose`: shapes, gradients, oracles."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import layers, ops
from engine.backend import GradientTape, Tensor
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients

rng = np.random.default_rng(0)


def data(*shape: int) -> np.ndarray:
    return rng.normal(size=shape).astype("float32")


def keras_left_pad(kernel: int, stride: int, dilation: int, padding: str, extra) -> int:
    """Keras's JAX-backend left padding of the dilated input, transcribed for the oracle."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        return span - 1
    total = stride + span - 2 if extra is None else span + span % 2 - 2 + extra
    return min(total // 2 + total % 2, span - 1)


def keras_output_length(size: int, kernel: int, stride: int, dilation: int, padding: str, extra):
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if extra is None else extra
        return (size - 1) * stride + span + extra
    return size * stride if extra is None else (size - 1) * stride + span % 2 + extra


def naive_conv_transpose(x, kernel, strides, padding, output_padding, dilation):
    """Scatter every input pixel through the kernel, then crop: loops, no shared code."""
    rank = kernel.ndim - 2
    extra = (None,) * rank if output_padding is None else output_padding
    outs = [
        keras_output_length(x.shape[1 + a], kernel.shape[a], strides[a], dilation[a], padding,
                            extra[a])
        for a in range(rank)
    ]  # fmt: skip
    crop = [
        (kernel.shape[a] - 1) * dilation[a]
        - keras_left_pad(kernel.shape[a], strides[a], dilation[a], padding, extra[a])
        for a in range(rank)
    ]
    x4 = x if rank == 2 else x[:, None]
    k4 = kernel if rank == 2 else kernel[None]
    s, d = ((1, *strides), (1, *dilation)) if rank == 1 else (strides, dilation)
    c0, c1 = (0, *crop) if rank == 1 else crop
    o0, o1 = (1, *outs) if rank == 1 else outs
    span = [(k4.shape[a] - 1) * d[a] + 1 for a in range(2)]
    full = np.zeros(
        (x.shape[0], (x4.shape[1] - 1) * s[0] + span[0] + o0 + c0,
         (x4.shape[2] - 1) * s[1] + span[1] + o1 + c1, kernel.shape[-2])
    )  # fmt: skip
    for i in range(x4.shape[1]):
        for j in range(x4.shape[2]):
            for p in range(k4.shape[0]):
                for q in range(k4.shape[1]):
                    full[:, i * s[0] + p * d[0], j * s[1] + q * d[1]] += x4[:, i, j] @ k4[p, q].T
    out = full[:, c0 : c0 + o0, c1 : c1 + o1]
    return out if rank == 2 else out[:, 0]


MODES_2D = [
    # (input shape, Conv2DTranspose kwargs)
    ((2, 3, 4, 3), dict(filters=2, kernel_size=3)),
    ((2, 3, 4, 3), dict(filters=2, kernel_size=3, strides=2)),
    ((1, 3, 2, 2), dict(filters=2, kernel_size=2, strides=3)),
    ((2, 3, 4, 2), dict(filters=3, kernel_size=3, padding="same")),
    ((2, 3, 3, 2), dict(filters=2, kernel_size=3, strides=2, padding="same")),
    ((1, 3, 4, 2), dict(filters=2, kernel_size=(4, 2), strides=(2, 3), padding="same")),
    ((2, 3, 3, 2), dict(filters=2, kernel_size=3, strides=2, output_padding=1)),
    ((1, 3, 3, 2), dict(filters=2, kernel_size=2, strides=3, padding="same", output_padding=2)),
    ((1, 3, 4, 2), dict(filters=2, kernel_size=3, strides=2, padding="same", output_padding=0)),
    ((1, 4, 3, 2), dict(filters=2, kernel_size=3, dilation_rate=2)),
    ((1, 4, 3, 2), dict(filters=2, kernel_size=2, dilation_rate=(2, 1), padding="same")),
]

MODES_1D = [
    ((2, 5, 3), dict(filters=2, kernel_size=3, strides=2)),
    ((2, 5, 2), dict(filters=3, kernel_size=4, strides=2, padding="same")),
    ((2, 4, 2), dict(filters=2, kernel_size=3, strides=3, padding="same", output_padding=1)),
    ((1, 5, 2), dict(filters=2, kernel_size=3, dilation_rate=2, padding="same")),
]


@pytest.mark.parametrize("shape, kwargs", MODES_2D)
def test_conv2d_transpose_gradients(shape, kwargs, float64):
    layer = layers.Conv2DTranspose(bias_initializer="random_normal", **kwargs)
    check_layer_gradients(layer, rng.normal(size=shape))


@pytest.mark.parametrize("shape, kwargs", MODES_1D)
def test_conv1d_transpose_gradients(shape, kwargs, float64):
    layer = layers.Conv1DTranspose(bias_initializer="random_normal", **kwargs)
    check_layer_gradients(layer, rng.normal(size=shape))


@pytest.mark.parametrize("shape, kwargs", MODES_2D + MODES_1D)
def test_matches_the_naive_scatter(shape, kwargs):
    cls = layers.Conv2DTranspose if len(shape) == 4 else layers.Conv1DTranspose
    layer = cls(**kwargs, use_bias=False)
    x = data(*shape)
    y = layer(x).numpy()
    expected = naive_conv_transpose(
        x, layer.kernel.numpy(), layer.strides, layer.padding, layer.output_padding,
        layer.dilation_rate,
    )  # fmt: skip
    assert y.shape == expected.shape == layer.compute_output_shape(shape)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "x_shape, kernel, strides, padding, dilation",
    [
        ((2, 4, 5, 3), (3, 3), (1, 1), "valid", (1, 1)),
        ((2, 4, 5, 3), (3, 3), (1, 1), "same", (1, 1)),
        ((2, 4, 5, 3), (3, 3), (2, 2), "same", (1, 1)),
        ((2, 4, 5, 3), (4, 2), (2, 3), "same", (1, 1)),
        ((2, 4, 5, 3), (2, 2), (3, 3), "valid", (1, 1)),
        ((2, 5, 4, 3), (3, 3), (1, 1), "same", (2, 2)),
        ((2, 7, 3), (3,), (2,), "same", (1,)),
    ],
)
def test_is_the_adjoint_of_conv(x_shape, kernel, strides, padding, dilation):
    """<conv_transpose(x), y> == <x, conv(y)> for the 'same'/'valid' conv of the output size."""
    x = rng.normal(size=x_shape)
    w = rng.normal(size=(*kernel, 4, x_shape[-1]))
    out = ops.conv_transpose(x, w, strides, padding, dilation_rate=dilation).numpy()
    y = rng.normal(size=out.shape)
    back = ops.conv(y, w, strides, padding, dilation_rate=dilation).numpy()
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(out * y), np.sum(x * back), rtol=1e-10)


def torch_padding(kernel, stride, dilation, padding, extra):
    """Keras's torch-backend arguments; None when torch cannot express the Keras result."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        return 0, max(span, stride) - span if extra is None else extra
    extra = stride - span % 2 if extra is None else extra
    pad = max(-((span % 2 - span + extra) // 2), 0)
    out_pad = 2 * pad + span % 2 - span + extra
    return None if pad > 0 and out_pad > 0 else (pad, out_pad)


@pytest.mark.parametrize(
    "x_shape, k_shape, strides, padding, output_padding, dilation",
    [
        ((3, 5, 6, 4), (3, 3, 2, 4), (2, 2), "valid", None, (1, 1)),
        ((3, 5, 6, 4), (3, 3, 2, 4), (1, 1), "same", None, (1, 1)),
        ((3, 5, 6, 4), (4, 4, 3, 4), (2, 2), "same", None, (1, 1)),
        ((2, 4, 5, 3), (3, 2, 5, 3), (2, 3), "valid", (1, 2), (1, 1)),
        ((2, 4, 4, 3), (2, 2, 2, 3), (3, 3), "same", (2, 2), (1, 1)),
        ((2, 5, 4, 3), (3, 3, 2, 3), (1, 1), "same", None, (2, 2)),
        ((2, 9, 4), (4, 3, 4), (2,), "same", None, (1,)),
        ((2, 9, 4), (3, 3, 4), (3,), "valid", (2,), (1,)),
    ],
)
def test_matches_torch(x_shape, k_shape, strides, padding, output_padding, dilation):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rank = len(k_shape) - 2
    extra = output_padding or (None,) * rank
    args = [
        torch_padding(k_shape[a], strides[a], dilation[a], padding, extra[a]) for a in range(rank)
    ]
    assert None not in args, "the case must be one torch can express"
    x, w, b = data(*x_shape), data(*k_shape), data(k_shape[-2])
    tensors = [Tensor(x), Tensor(w), Tensor(b)]
    with GradientTape() as tape:
        tape.watch(tensors)
        y = ops.conv_transpose(
            tensors[0], tensors[1], strides, padding, output_padding, dilation_rate=dilation,
            bias=tensors[2],
        )  # fmt: skip
    g = data(*y.shape)
    gx, gw, gb = tape.gradient(y, tensors, output_gradients=g)

    perm = (0, rank + 1, *range(1, rank + 1))
    back = (0, *range(2, rank + 2), 1)
    tx = torch.tensor(x.transpose(perm), requires_grad=True)
    # Keras (k..., f, cin) -> torch (cin, f, k...).
    tw = torch.tensor(w.transpose(rank + 1, rank, *range(rank)).copy(), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    fn = F.conv_transpose1d if rank == 1 else F.conv_transpose2d
    ty = fn(
        tx, tw, tb, stride=strides, padding=[a[0] for a in args],
        output_padding=[a[1] for a in args], dilation=dilation,
    )  # fmt: skip
    ty.backward(torch.tensor(g.transpose(perm)))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy().transpose(back), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gx, tx.grad.numpy().transpose(back), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        gw, tw.grad.numpy().transpose(*range(2, rank + 2), 1, 0), rtol=1e-4, atol=1e-4
    )
    np.testing.assert_allclose(gb, tb.grad.numpy(), rtol=1e-4, atol=1e-4)
    assert y.dtype == gx.dtype == gw.dtype == np.float32


@pytest.mark.parametrize(
    "cls, kwargs, in_shape, out_shape",
    [
        # Expected shapes from Keras 3's own conv_transpose tests and docstrings.
        (layers.Conv1DTranspose, dict(filters=5, kernel_size=2, strides=2), (2, 8, 4), (2, 16, 5)),
        (
            layers.Conv1DTranspose,
            dict(filters=6, kernel_size=2, strides=3, padding="same", output_padding=2),
            (2, 8, 4),
            (2, 23, 6),
        ),
        (
            layers.Conv2DTranspose,
            dict(filters=6, kernel_size=(2, 3), strides=(2, 1)),
            (2, 8, 8, 4),
            (2, 16, 10, 6),
        ),
        (
            layers.Conv2DTranspose,
            dict(filters=2, kernel_size=7, strides=16),
            (1, 14, 14, 2),
            (1, 224, 224, 2),
        ),
        (layers.Conv2DTranspose, dict(filters=32, kernel_size=2, strides=2), (4, 10, 8, 3),
         (4, 20, 16, 32)),
    ],
)  # fmt: skip
def test_output_shapes_match_keras(cls, kwargs, in_shape, out_shape):
    layer = cls(**kwargs)
    assert layer(data(*in_shape)).shape == out_shape
    assert layer.compute_output_shape(in_shape) == out_shape
    symbolic = layer(engine.Input(shape=in_shape[1:]))
    assert symbolic.shape == (None, *out_shape[1:])


def test_weight_layout_is_reversed_like_keras():
    layer = layers.Conv2DTranspose(8, (3, 2))
    layer.build((None, 5, 5, 3))
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert [w.shape for w in layer.get_weights()] == [(3, 2, 8, 3), (8,)]
    layer1d = layers.Conv1DTranspose(4, 5, use_bias=False)
    layer1d.build((None, 7, 2))
    assert [w.shape for w in layer1d.get_weights()] == [(5, 4, 2)]


def test_config_round_trip_keeps_output_padding():
    layer = layers.Conv2DTranspose(
        4, 3, strides=2, padding="same", output_padding=1, activation="relu",
        kernel_regularizer="l2", name="up",
    )  # fmt: skip
    clone = assert_config_round_trip(layer)
    assert clone.output_padding == (1, 1)
    assert clone(data(1, 3, 3, 2)).shape == layer(data(1, 3, 3, 2)).shape == (1, 6, 6, 4)
    plain = assert_config_round_trip(layers.Conv1DTranspose(2, 3, dilation_rate=2))
    assert plain.output_padding is None
    assert layers.Convolution2DTranspose is layers.Conv2DTranspose


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2), "output_padding"),
        (lambda: layers.Conv2DTranspose(4, 3, data_format="channels_first"), "channels_first"),
        (lambda: layers.Conv1DTranspose(4, 3, padding="causal"), "padding"),
        (lambda: layers.Conv2DTranspose(0, 3), "filters"),
        (lambda: layers.Conv2DTranspose(4, 3, strides=2, dilation_rate=2), "dilation_rate"),
    ],
)
def test_invalid_arguments(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_invalid_inputs():
    with pytest.raises(ValueError, match="input channels"):
        ops.conv_transpose(data(1, 3, 3, 2), data(3, 3, 4, 5))
    with pytest.raises(ValueError, match="rank 3"):
        layers.Conv1DTranspose(2, 3)(data(1, 4, 4, 2))
