"""`Conv1D`/`Conv2D` and `ops.conv`: gradients in every mode, PyTorch oracle, layouts, configs."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import engine
from engine import layers, ops
from engine.backend import GradientTape, Tensor
from engine.ops import batch_parallel
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients

rng = np.random.default_rng(0)


def data(*shape: int) -> np.ndarray:
    return rng.normal(size=shape).astype("float32")


def tf_same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding, the odd pixel after: written out independently of the engine."""
    span = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


@pytest.fixture
def parallel():
    """Force the thread pool and many small chunks, even for tiny tests."""
    saved = (batch_parallel.num_workers(), batch_parallel.MIN_PARALLEL_FLOPS)
    saved_chunk = batch_parallel.CHUNK_BYTES
    batch_parallel.set_num_workers(2)
    batch_parallel.MIN_PARALLEL_FLOPS = 0
    batch_parallel.CHUNK_BYTES = 1
    try:
        yield
    finally:
        batch_parallel.set_num_workers(saved[0])
        batch_parallel.MIN_PARALLEL_FLOPS = saved[1]
        batch_parallel.CHUNK_BYTES = saved_chunk


# Gradient checks ---------------------------------------------------------------
CONV2D_MODES = [
    # (input shape, Conv2D kwargs)
    ((2, 5, 6, 3), dict(filters=4, kernel_size=3)),
    ((2, 5, 7, 3), dict(filters=2, kernel_size=3, padding="same")),
    ((2, 7, 5, 2), dict(filters=3, kernel_size=3, strides=2, padding="same")),
    ((1, 6, 6, 2), dict(filters=2, kernel_size=(2, 3), strides=(2, 1), padding="same")),
    ((2, 7, 6, 2), dict(filters=3, kernel_size=3, strides=2)),
    ((1, 7, 7, 2), dict(filters=2, kernel_size=3, dilation_rate=2, padding="same")),
    ((1, 7, 6, 2), dict(filters=2, kernel_size=(3, 2), dilation_rate=(2, 1))),
    ((2, 5, 5, 4), dict(filters=6, kernel_size=3, strides=2, padding="same", groups=2)),
    ((1, 4, 4, 6), dict(filters=3, kernel_size=2, groups=3, activation="tanh")),
    ((2, 4, 3, 3), dict(filters=5, kernel_size=1)),
    ((2, 5, 5, 3), dict(filters=2, kernel_size=1, strides=2, use_bias=False)),
    ((2, 6, 5, 3), dict(filters=3, kernel_size=3, strides=2, padding="same", activation="relu")),
    ((2, 4, 4, 4), dict(filters=4, kernel_size=2, groups=2, activation="relu")),
]


@pytest.mark.parametrize("shape, kwargs", CONV2D_MODES)
def test_conv2d_gradients(shape, kwargs, float64):
    layer = layers.Conv2D(bias_initializer="random_normal", **kwargs)
    check_layer_gradients(layer, rng.normal(size=shape))


CONV1D_MODES = [
    ((2, 7, 3), dict(filters=4, kernel_size=3)),
    ((2, 7, 3), dict(filters=2, kernel_size=4, strides=2, padding="same")),
    ((2, 6, 2), dict(filters=3, kernel_size=3, padding="causal")),
    ((1, 9, 2), dict(filters=2, kernel_size=3, padding="causal", dilation_rate=2)),
    ((2, 7, 2), dict(filters=2, kernel_size=2, padding="causal", strides=2)),
    ((2, 8, 2), dict(filters=2, kernel_size=3, dilation_rate=3, padding="same")),
    ((2, 6, 4), dict(filters=4, kernel_size=3, groups=4, strides=2)),
    ((2, 7, 3), dict(filters=3, kernel_size=3, padding="causal", activation="relu")),
]


@pytest.mark.parametrize("shape, kwargs", CONV1D_MODES)
def test_conv1d_gradients(shape, kwargs, float64):
    layer = layers.Conv1D(bias_initializer="random_normal", **kwargs)
    check_layer_gradients(layer, rng.normal(size=shape))


def test_op_gradients_with_threads(parallel, float64):
    layer = layers.Conv2D(4, 3, strides=2, padding="same", bias_initializer="random_normal")
    check_layer_gradients(layer, rng.normal(size=(5, 6, 5, 3)))
    grouped = layers.Conv2D(4, 2, groups=2, padding="same")
    check_layer_gradients(grouped, rng.normal(size=(3, 4, 5, 4)))


# PyTorch oracle ---------------------------------------------------------------------
def run_engine(x, kernel, bias, **kwargs):
    tensors = [Tensor(x), Tensor(kernel), Tensor(bias)]
    with GradientTape() as tape:
        tape.watch(tensors)
        y = ops.conv(tensors[0], tensors[1], bias=tensors[2], **kwargs)
    g = np.random.default_rng(1).normal(size=y.shape).astype(x.dtype)
    return y.numpy(), g, tape.gradient(y, tensors, output_gradients=g)


def torch_conv(x, kernel, bias, g, strides, padding, dilation):
    """The same convolution in PyTorch, channels-first, 'same' as explicit asymmetric pads."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rank = kernel.ndim - 2
    groups = x.shape[-1] // kernel.shape[-2]
    perm = (0, rank + 1, *range(1, rank + 1))
    tx = torch.tensor(x.transpose(perm), requires_grad=True)
    # Keras (k..., cin/g, f) -> torch (f, cin/g, k...).
    tw = torch.tensor(kernel.transpose(rank + 1, rank, *range(rank)).copy(), requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    pads: list[int] = []
    for axis in reversed(range(rank)):
        size, k = x.shape[1 + axis], kernel.shape[axis]
        if padding == "same":
            pads += tf_same_pads(size, k, strides[axis], dilation[axis])
        elif padding == "causal":
            pads += [(k - 1) * dilation[axis], 0]
        else:
            pads += [0, 0]
    conv = F.conv1d if rank == 1 else F.conv2d
    ty = conv(F.pad(tx, pads), tw, tb, stride=strides, dilation=dilation, groups=groups)
    ty.backward(torch.tensor(g.transpose(perm)))
    back = (0, *range(2, rank + 2), 1)
    return (
        ty.detach().numpy().transpose(back),
        tx.grad.numpy().transpose(back),
        tw.grad.numpy().transpose(*range(2, rank + 2), 1, 0),
        tb.grad.numpy(),
    )


TORCH_CASES = [
    # (input shape, kernel shape, strides, padding, dilation)
    ((3, 9, 8, 3), (3, 3, 3, 5), (1, 1), "valid", (1, 1)),
    ((3, 9, 8, 3), (3, 3, 3, 5), (2, 2), "same", (1, 1)),
    ((2, 7, 11, 4), (4, 2, 4, 6), (3, 2), "same", (1, 1)),
    ((2, 8, 9, 3), (3, 3, 3, 4), (1, 1), "same", (2, 3)),
    ((2, 7, 7, 6), (3, 3, 2, 6), (2, 2), "same", (1, 1)),  # 3 groups
    ((2, 6, 6, 4), (3, 3, 1, 8), (1, 1), "valid", (2, 2)),  # 4 groups, dilated
    ((2, 11, 3), (3, 3, 4), (2,), "same", (1,)),
    ((2, 10, 3), (4, 3, 2), (1,), "causal", (2,)),
    ((2, 12, 4), (3, 2, 6), (3,), "valid", (1,)),  # 2 groups
    ((64, 15, 15, 32), (3, 3, 32, 64), (1, 1), "valid", (1, 1)),
    ((16, 9, 9, 8), (1, 1, 8, 16), (1, 1), "valid", (1, 1)),
]


@pytest.mark.parametrize("x_shape, k_shape, strides, padding, dilation", TORCH_CASES)
def test_matches_torch(x_shape, k_shape, strides, padding, dilation):
    x, kernel, bias = data(*x_shape), data(*k_shape), data(k_shape[-1])
    y, g, (gx, gk, gb) = run_engine(
        x, kernel, bias, strides=strides, padding=padding, dilation_rate=dilation
    )
    ty, tgx, tgk, tgb = torch_conv(x, kernel, bias, g, strides, padding, dilation)
    assert y.dtype == gx.dtype == gk.dtype == gb.dtype == np.float32
    scale = np.sqrt(np.prod(x_shape[:-1]))  # float32 sums over many positions
    np.testing.assert_allclose(y, ty, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gx, tgx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gk, tgk, rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_allclose(gb, tgb, rtol=1e-4, atol=1e-5 * scale)


def test_threaded_chunks_match_torch(parallel):
    x, kernel, bias = data(9, 8, 7, 3), data(3, 3, 3, 4), data(4)
    y, g, (gx, gk, gb) = run_engine(x, kernel, bias, strides=2, padding="same")
    ty, tgx, tgk, tgb = torch_conv(x, kernel, bias, g, (2, 2), "same", (1, 1))
    for a, b in ((y, ty), (gx, tgx), (gk, tgk), (gb, tgb)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("threads", [False, True])
def test_fused_relu_matches_torch(threads, request):
    torch = pytest.importorskip("torch")
    if threads:
        request.getfixturevalue("parallel")
    x, kernel, bias = data(6, 9, 8, 4), data(3, 3, 4, 5), data(5)
    y, g, (gx, gk, gb) = run_engine(x, kernel, bias, padding="same", activation="relu")
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    tw = torch.tensor(kernel.transpose(3, 2, 0, 1).copy(), requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    ty = torch.relu(torch.nn.functional.conv2d(tx, tw, tb, padding=1))
    ty.backward(torch.tensor(g.transpose(0, 3, 1, 2)))
    expected = [
        ty.detach().numpy().transpose(0, 2, 3, 1),
        tx.grad.numpy().transpose(0, 2, 3, 1),
        tw.grad.numpy().transpose(2, 3, 1, 0),
        tb.grad.numpy(),
    ]
    for a, b in zip((y, gx, gk, gb), expected):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_relu_layers_record_one_fused_op():
    layer = layers.Conv2D(3, 3, activation="relu")
    x = Tensor(data(2, 5, 5, 2))
    with GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    assert len(tape._entries) == 1
    assert y.numpy().min() == 0.0
    with pytest.raises(ValueError, match="relu"):
        ops.conv(data(1, 5, 5, 2), data(3, 3, 2, 4), activation="tanh")


def test_same_padding_puts_the_odd_pixel_at_the_bottom_right():
    # An even kernel needs one row/column of padding, which Keras adds after the input.
    x = np.zeros((1, 3, 3, 1), "float32")
    x[0, 2, 2, 0] = 1.0
    y = ops.conv(x, np.ones((2, 2, 1, 1), "float32"), padding="same").numpy()[0, :, :, 0]
    np.testing.assert_array_equal(y, [[0, 0, 0], [0, 1, 1], [0, 1, 1]])
    # Strided 'same' on an odd size: 5 -> 3 outputs, windows at 0, 2, 4 with one zero after.
    row = np.arange(1, 6, dtype="float32").reshape(1, 5, 1)
    out = ops.conv(row, np.ones((2, 1, 1), "float32"), strides=2, padding="same")
    np.testing.assert_array_equal(out.numpy().ravel(), [3, 7, 5])


def test_causal_output_never_sees_the_future():
    x = data(1, 8, 2)
    layer = layers.Conv1D(3, 3, padding="causal", dilation_rate=2)
    base = layer(x).numpy()
    changed = x.copy()
    changed[0, 5:] += 10.0
    np.testing.assert_allclose(layer(changed).numpy()[0, :5], base[0, :5])
    assert not np.allclose(layer(changed).numpy()[0, 5:], base[0, 5:])


def test_first_layer_skips_the_input_gradient(monkeypatch):
    conv_module = importlib.import_module("engine.ops.conv")  # `ops.conv` is the function
    seen = []
    original = conv_module._conv_pass

    def spy(*args, **kwargs):
        seen.append(kwargs.get("adjoint") is not None)
        return original(*args, **kwargs)

    monkeypatch.setattr(conv_module, "_conv_pass", spy)
    layer = layers.Conv2D(2, 3)
    x = data(2, 5, 5, 3)
    with GradientTape() as tape:
        y = layer(x)
    tape.gradient(y, layer.trainable_weights)
    assert seen == [False, False]
    t = Tensor(x)
    with GradientTape() as tape:
        tape.watch(t)
        y = layer(t)
    tape.gradient(y, [t])
    assert seen[-1] is True


# Layers: weights, shapes, configs, errors -----------------------------------------------
def test_weight_layouts_match_keras():
    conv2d = layers.Conv2D(8, (3, 2), groups=2)
    conv2d.build((None, 9, 9, 6))
    assert [w.name for w in conv2d.weights] == ["kernel", "bias"]
    assert [w.shape for w in conv2d.get_weights()] == [(3, 2, 3, 8), (8,)]
    conv1d = layers.Conv1D(4, 5, use_bias=False)
    conv1d.build((None, 10, 3))
    assert [w.name for w in conv1d.weights] == ["kernel"]
    assert conv1d.get_weights()[0].shape == (5, 3, 4)
    assert conv1d.count_params() == 60


def test_output_shapes_eager_and_symbolic():
    cases = [
        (layers.Conv2D(4, 3), (2, 9, 8, 3), (2, 7, 6, 4)),
        (layers.Conv2D(4, 3, strides=2, padding="same"), (2, 9, 8, 3), (2, 5, 4, 4)),
        (layers.Conv2D(4, 3, dilation_rate=2), (2, 9, 8, 3), (2, 5, 4, 4)),
        (layers.Conv1D(4, 3, padding="causal", strides=2), (2, 9, 3), (2, 5, 4)),
        (layers.Conv1D(4, 3, strides=2), (2, 9, 3), (2, 4, 4)),
    ]
    for layer, in_shape, out_shape in cases:
        assert layer(data(*in_shape)).shape == out_shape
        assert layer.compute_output_shape((None, *in_shape[1:])) == (None, *out_shape[1:])
        symbolic = layer(engine.Input(shape=(None,) * (len(in_shape) - 2) + in_shape[-1:]))
        assert symbolic.shape == (None,) * (len(in_shape) - 1) + (out_shape[-1],)


def test_float32_in_float32_out():
    layer = layers.Conv2D(3, 3, activation="relu")
    x = Tensor(data(2, 6, 6, 2))
    with GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    gx, gk, gb = tape.gradient(y, [x, layer.kernel, layer.bias])
    assert y.dtype == gx.dtype == gk.dtype == gb.dtype == np.float32
    assert layers.Conv2D(3, 3)(np.ones((1, 4, 4, 1), "uint8")).dtype == np.float32


def test_values_match_a_direct_loop():
    x, layer = data(2, 6, 5, 3), layers.Conv2D(4, (3, 2), strides=(2, 1), activation="relu")
    y = layer(x).numpy()
    kernel, bias = layer.get_weights()
    expected = np.zeros_like(y)
    for i in range(y.shape[1]):
        for j in range(y.shape[2]):
            patch = x[:, 2 * i : 2 * i + 3, j : j + 2, :]
            expected[:, i, j] = np.tensordot(patch, kernel, axes=3) + bias
    np.testing.assert_allclose(y, np.maximum(expected, 0), rtol=1e-5, atol=1e-5)


def test_conv1d_on_embedded_sequences_drops_the_mask_like_keras():
    x = Tensor(data(2, 6, 4))
    x._keras_mask = np.array([[True] * 4 + [False] * 2] * 2)
    layer = layers.Conv1D(3, 2, padding="same")
    assert layer.supports_masking is False
    out = layer(x)
    assert out.shape == (2, 6, 3)
    assert out._keras_mask is None


def test_config_round_trip():
    conv2d = layers.Conv2D(
        6,
        (3, 2),
        strides=(2, 1),
        padding="same",
        dilation_rate=1,
        groups=3,
        activation="relu",
        use_bias=False,
        kernel_initializer="he_normal",
        kernel_regularizer="l2",
        activity_regularizer="l1",
        kernel_constraint="max_norm",
        name="features",
    )
    clone = assert_config_round_trip(conv2d)
    assert clone.kernel_size == (3, 2) and clone.strides == (2, 1) and clone.groups == 3
    config = conv2d.get_config()
    assert config["data_format"] == "channels_last"
    assert config["padding"] == "same"
    conv1d = assert_config_round_trip(layers.Conv1D(4, 3, padding="causal", dilation_rate=2))
    assert conv1d.padding == "causal" and conv1d.dilation_rate == (2,)
    assert layers.Convolution2D is layers.Conv2D


def test_regularizers_and_constraints_apply():
    layer = layers.Conv2D(2, 3, kernel_regularizer="l2", bias_regularizer="l1",
                          activity_regularizer="l2", kernel_constraint="non_neg")  # fmt: skip
    layer(data(1, 5, 5, 1))
    assert len(layer.losses) == 3
    assert layer.kernel.constraint is not None


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: layers.Conv2D(4, 3, data_format="channels_first"), "channels_first"),
        (lambda: layers.Conv2D(0, 3), "filters"),
        (lambda: layers.Conv2D(4, 0), "kernel_size"),
        (lambda: layers.Conv2D(4, (3, 3, 3)), "kernel_size"),
        (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2), "dilation_rate"),
        (lambda: layers.Conv2D(4, 3, padding="causal"), "padding"),
        (lambda: layers.Conv2D(5, 3, groups=2), "groups"),
        (lambda: layers.Conv1D(4, 3, padding="full"), "padding"),
    ],
)
def test_invalid_arguments(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_invalid_inputs():
    with pytest.raises(ValueError, match="divisible by groups"):
        layers.Conv2D(4, 3, groups=2)(data(1, 5, 5, 3))
    with pytest.raises(ValueError, match="too small"):
        layers.Conv2D(4, 5)(data(1, 4, 6, 3))
    with pytest.raises(ValueError, match="rank 4"):
        layers.Conv2D(4, 3)(data(5, 5, 3))
    with pytest.raises(ValueError, match="channel"):
        layers.Conv1D(4, 3).build((None, 5, None))
    with pytest.raises(ValueError, match="bias"):
        ops.conv(data(1, 5, 5, 2), data(3, 3, 2, 4), bias=data(3))


def test_cnn_trains_in_a_sequential():
    # Class 1 images have a bright 3x3 blob in the top-left quadrant, class 0 in the bottom-right.
    gen = np.random.default_rng(3)
    n = 96
    x = gen.normal(0, 0.3, size=(n, 10, 10, 1)).astype("float32")
    y = gen.integers(0, 2, n)
    for i in range(n):
        r, c = gen.integers(0, 3, 2) + (0 if y[i] else 5)
        x[i, r : r + 3, c : c + 3, 0] += 1.5
    engine.utils.set_random_seed(0)
    model = engine.Sequential(
        [
            layers.Conv2D(4, 3, activation="relu", padding="same", input_shape=(10, 10, 1)),
            layers.Conv2D(4, 3, strides=2, activation="relu"),
            layers.Flatten(),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=engine.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x, y, batch_size=16, epochs=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.6 * losses[0]
    assert history.history["accuracy"][-1] > 0.9
    assert model.predict(x[:4], verbose=0).dtype == np.float32


def test_conv_model_saves_and_loads(tmp_path):
    model = engine.Sequential(
        [
            layers.Conv2D(4, 3, strides=2, padding="same", activation="relu",
                          input_shape=(9, 9, 2)),
            layers.DepthwiseConv2D(2, depth_multiplier=2),
            layers.SeparableConv2D(3, 2, padding="same"),
            layers.Conv2DTranspose(2, 3, strides=2, output_padding=1),
            layers.Flatten(),
            layers.Dense(1),
        ]
    )  # fmt: skip
    x = data(2, 9, 9, 2)
    path = tmp_path / "conv.keras"
    model.save(path)
    restored = engine.models.load_model(path)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [w.shape for w in restored.get_weights()] == [w.shape for w in model.get_weights()]
