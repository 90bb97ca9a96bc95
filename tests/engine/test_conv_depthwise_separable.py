"""Depthwise and separable convolutions: gradients, PyTorch oracle, layouts, configs."""

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


def tf_same_pads(size: int, kernel: int, stride: int, dilation: int) -> list[int]:
    span = (kernel - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + span - size, 0)
    return [total // 2, total - total // 2]


DEPTHWISE_MODES = [
    ((2, 5, 6, 3), dict(kernel_size=3)),
    ((2, 5, 5, 2), dict(kernel_size=3, depth_multiplier=2, padding="same")),
    ((2, 7, 6, 2), dict(kernel_size=(3, 2), strides=2, padding="same", depth_multiplier=3)),
    ((1, 7, 7, 2), dict(kernel_size=3, dilation_rate=2, activation="tanh")),
    ((2, 6, 5, 3), dict(kernel_size=2, strides=(1, 2), use_bias=False)),
    ((2, 5, 5, 2), dict(kernel_size=3, padding="same", activation="relu")),
]


@pytest.mark.parametrize("shape, kwargs", DEPTHWISE_MODES)
def test_depthwise_conv2d_gradients(shape, kwargs, float64):
    layer = layers.DepthwiseConv2D(bias_initializer="random_normal", **kwargs)
    check_layer_gradients(layer, rng.normal(size=shape))


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((2, 7, 3), dict(kernel_size=3, depth_multiplier=2)),
        ((2, 7, 2), dict(kernel_size=4, strides=2, padding="same")),
        ((1, 8, 2), dict(kernel_size=3, dilation_rate=2, padding="same", depth_multiplier=2)),
    ],
)
def test_depthwise_conv1d_gradients(shape, kwargs, float64):
    layer = layers.DepthwiseConv1D(bias_initializer="random_normal", **kwargs)
    check_layer_gradients(layer, rng.normal(size=shape))


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((2, 5, 6, 3), dict(filters=4, kernel_size=3)),
        ((2, 7, 5, 2), dict(filters=3, kernel_size=3, strides=2, padding="same",
                            depth_multiplier=2)),
        ((1, 7, 7, 2), dict(filters=2, kernel_size=2, dilation_rate=2, padding="same")),
        ((2, 5, 5, 2), dict(filters=3, kernel_size=3, activation="relu")),
    ],
)  # fmt: skip
def test_separable_conv2d_gradients(shape, kwargs, float64):
    layer = layers.SeparableConv2D(bias_initializer="random_normal", **kwargs)
    check_layer_gradients(layer, rng.normal(size=shape))


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((2, 7, 3), dict(filters=2, kernel_size=3, depth_multiplier=2)),
        ((2, 9, 2), dict(filters=3, kernel_size=3, strides=2, padding="same")),
    ],
)
def test_separable_conv1d_gradients(shape, kwargs, float64):
    layer = layers.SeparableConv1D(bias_initializer="random_normal", **kwargs)
    check_layer_gradients(layer, rng.normal(size=shape))


def run_engine(fn, arrays):
    tensors = [Tensor(a) for a in arrays]
    with GradientTape() as tape:
        tape.watch(tensors)
        y = fn(*tensors)
    g = data(*y.shape)
    return y.numpy(), g, tape.gradient(y, tensors, output_gradients=g)


def torch_pad(tx, kernel, strides, padding, dilation):
    torch = pytest.importorskip("torch")
    if padding != "same":
        return tx
    pads: list[int] = []
    for axis in reversed(range(len(kernel))):
        pads += tf_same_pads(tx.shape[2 + axis], kernel[axis], strides[axis], dilation[axis])
    return torch.nn.functional.pad(tx, pads)


@pytest.mark.parametrize(
    "x_shape, kernel, multiplier, strides, padding, dilation",
    [
        ((3, 8, 9, 4), (3, 3), 1, (1, 1), "valid", (1, 1)),
        ((3, 9, 8, 3), (3, 3), 2, (2, 2), "same", (1, 1)),
        ((2, 9, 9, 2), (2, 3), 3, (1, 1), "same", (2, 2)),
        ((2, 11, 3), (4,), 2, (3,), "same", (1,)),
    ],
)
def test_depthwise_matches_torch_groups(x_shape, kernel, multiplier, strides, padding, dilation):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rank, cin = len(kernel), x_shape[-1]
    x, w, b = data(*x_shape), data(*kernel, cin, multiplier), data(cin * multiplier)
    y, g, (gx, gw, gb) = run_engine(
        lambda *t: ops.depthwise_conv(t[0], t[1], strides, padding, None, dilation, bias=t[2]),
        [x, w, b],
    )
    perm, back = (0, rank + 1, *range(1, rank + 1)), (0, *range(2, rank + 2), 1)
    tx = torch.tensor(x.transpose(perm), requires_grad=True)
    # (k..., cin, m) -> torch grouped weight (cin*m, 1, k...), output channel c*m + i.
    flat = w.reshape(*kernel, 1, cin * multiplier)
    tw = torch.tensor(flat.transpose(rank + 1, rank, *range(rank)).copy(), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    conv = F.conv1d if rank == 1 else F.conv2d
    ty = conv(torch_pad(tx, kernel, strides, padding, dilation), tw, tb, stride=strides,
              dilation=dilation, groups=cin)  # fmt: skip
    ty.backward(torch.tensor(g.transpose(perm)))
    tgw = tw.grad.numpy().transpose(*range(2, rank + 2), 1, 0).reshape(w.shape)
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(back), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gx, tx.grad.numpy().transpose(back), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gw, tgw, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gb, tb.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "x_shape, kernel, multiplier, filters, strides, padding",
    [
        ((3, 8, 9, 4), (3, 3), 1, 5, (1, 1), "valid"),
        ((3, 9, 8, 3), (3, 3), 2, 4, (2, 2), "same"),
        ((2, 10, 3), (3,), 2, 4, (2,), "same"),
    ],
)
def test_separable_matches_torch(x_shape, kernel, multiplier, filters, strides, padding):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rank, cin = len(kernel), x_shape[-1]
    x = data(*x_shape)
    dw, pw = data(*kernel, cin, multiplier), data(*(1,) * rank, cin * multiplier, filters)
    b = data(filters)
    y, g, grads = run_engine(
        lambda *t: ops.separable_conv(t[0], t[1], t[2], strides, padding, bias=t[3]),
        [x, dw, pw, b],
    )
    perm, back = (0, rank + 1, *range(1, rank + 1)), (0, *range(2, rank + 2), 1)
    kperm = (rank + 1, rank, *range(rank))
    tx = torch.tensor(x.transpose(perm), requires_grad=True)
    tdw = torch.tensor(
        dw.reshape(*kernel, 1, cin * multiplier).transpose(kperm).copy(), requires_grad=True
    )
    tpw = torch.tensor(pw.transpose(kperm).copy(), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    conv = F.conv1d if rank == 1 else F.conv2d
    mid = conv(torch_pad(tx, kernel, strides, padding, (1,) * rank), tdw, stride=strides,
               groups=cin)  # fmt: skip
    ty = conv(mid, tpw, tb)
    ty.backward(torch.tensor(g.transpose(perm)))
    expected = [
        tx.grad.numpy().transpose(back),
        tdw.grad.numpy().transpose(*range(2, rank + 2), 1, 0).reshape(dw.shape),
        tpw.grad.numpy().transpose(*range(2, rank + 2), 1, 0),
        tb.grad.numpy(),
    ]
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(back), rtol=1e-4, atol=1e-4)
    for a, e in zip(grads, expected):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4)


def test_weight_layouts_match_keras():
    depthwise = layers.DepthwiseConv2D(3, depth_multiplier=2)
    depthwise.build((None, 8, 8, 5))
    assert [w.name for w in depthwise.weights] == ["kernel", "bias"]
    assert [w.shape for w in depthwise.get_weights()] == [(3, 3, 5, 2), (10,)]
    separable = layers.SeparableConv2D(7, (3, 2), depth_multiplier=2)
    separable.build((None, 8, 8, 5))
    assert [w.name for w in separable.weights] == ["depthwise_kernel", "pointwise_kernel", "bias"]
    assert [w.shape for w in separable.get_weights()] == [(3, 2, 5, 2), (1, 1, 10, 7), (7,)]
    sep1d = layers.SeparableConv1D(4, 3, use_bias=False)
    sep1d.build((None, 9, 3))
    assert [w.shape for w in sep1d.get_weights()] == [(3, 3, 1), (1, 3, 4)]
    dw1d = layers.DepthwiseConv1D(5, depth_multiplier=3)
    dw1d.build((None, 9, 2))
    assert [w.shape for w in dw1d.get_weights()] == [(5, 2, 3), (6,)]


@pytest.mark.parametrize(
    "layer, in_shape, out_shape",
    [
        (layers.DepthwiseConv1D(3, strides=2, depth_multiplier=3), (4, 10, 12), (4, 4, 36)),
        (layers.SeparableConv1D(4, 3, strides=2), (4, 10, 12), (4, 4, 4)),
        (layers.SeparableConv2D(3, 4, 3, "same"), (4, 10, 10, 12), (4, 4, 4, 3)),
        (layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2), (2, 7, 5, 3), (2, 7, 5, 6)),
        (layers.DepthwiseConv2D(3, dilation_rate=2), (2, 7, 6, 3), (2, 3, 2, 3)),
    ],
)
def test_output_shapes(layer, in_shape, out_shape):
    assert layer(data(*in_shape)).shape == out_shape
    assert layer.compute_output_shape(in_shape) == out_shape
    assert layer(engine.Input(shape=in_shape[1:])).shape == (None, *out_shape[1:])


def test_config_round_trips():
    depthwise = assert_config_round_trip(
        layers.DepthwiseConv2D(
            (3, 2), strides=2, padding="same", depth_multiplier=3, activation="relu",
            depthwise_regularizer="l2", depthwise_constraint="non_neg", name="dw",
        )
    )  # fmt: skip
    assert depthwise.depth_multiplier == 3 and depthwise.kernel_size == (3, 2)
    separable = assert_config_round_trip(
        layers.SeparableConv1D(
            5, 3, dilation_rate=2, depth_multiplier=2, pointwise_initializer="he_normal",
            pointwise_regularizer="l1", bias_constraint="max_norm",
        )
    )  # fmt: skip
    assert separable.filters == 5 and separable.dilation_rate == (2,)
    assert_config_round_trip(layers.DepthwiseConv1D(3))
    assert_config_round_trip(layers.SeparableConv2D(4, 3, use_bias=False))
    assert layers.SeparableConvolution2D is layers.SeparableConv2D


def test_regularizers_reach_the_losses():
    layer = layers.SeparableConv2D(
        2, 3, depthwise_regularizer="l2", pointwise_regularizer="l2", bias_regularizer="l1"
    )
    layer(data(1, 5, 5, 2))
    assert len(layer.losses) == 3


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
        (lambda: layers.DepthwiseConv1D(3, padding="causal"), "padding"),
        (lambda: layers.SeparableConv2D(4, 3, data_format="channels_first"), "channels_first"),
        (lambda: layers.SeparableConv1D(0, 3), "filters"),
        (lambda: layers.DepthwiseConv2D(3, strides=2, dilation_rate=2), "dilation_rate"),
    ],
)
def test_invalid_arguments(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_invalid_kernels():
    with pytest.raises(ValueError, match="input channels"):
        ops.depthwise_conv(data(1, 5, 5, 3), data(3, 3, 2, 1))
    with pytest.raises(ValueError, match="1x1"):
        ops.separable_conv(data(1, 5, 5, 3), data(3, 3, 3, 1), data(3, 3, 3, 2))
