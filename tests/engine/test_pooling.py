"""Pooling ops and layers: numeric gradients, the PyTorch oracle, Keras shapes and configs."""

from __future__ import annotations

import numpy as np
import pytest

from engine import layers, ops
from engine.backend import GradientTape, Tensor
from engine.ops import pooling
from tests.engine.gradcheck import check_gradients
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients

# (spatial shape, pool_size, strides, padding): odd sizes, overlapping windows
# (stride < pool), gapped windows (stride > pool), and both paddings.
CASES_2D = [
    ((6, 6), (2, 2), None, "valid"),
    ((7, 5), (2, 2), None, "valid"),
    ((7, 5), (2, 2), None, "same"),
    ((13, 13), (2, 2), (2, 2), "valid"),
    ((5, 7), (3, 3), (1, 1), "valid"),
    ((5, 7), (3, 3), (1, 1), "same"),
    ((6, 7), (3, 2), (2, 1), "same"),
    ((7, 8), (2, 3), (3, 2), "valid"),
    ((8, 7), (3, 3), (3, 3), "same"),
    ((4, 4), (3, 3), (2, 2), "same"),
    ((5, 6), (1, 2), (2, 1), "valid"),
]
CASES_1D = [
    (7, 2, None, "valid"),
    (7, 2, None, "same"),
    (8, 3, 1, "same"),
    (9, 3, 2, "valid"),
    (10, 2, 3, "same"),
    (5, 4, 3, "same"),
]


def _same_pads(size: int, k: int, s: int) -> tuple[int, int]:
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _torch_pool2d(torch, x, g, mode, pool, strides, padding):
    """Forward and input gradient from PyTorch, Keras's padding rules applied by hand."""
    f = torch.nn.functional
    strides = pool if strides is None else strides
    xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    if padding == "same":
        (top, bottom), (left, right) = (
            _same_pads(n, k, s) for n, k, s in zip(x.shape[1:3], pool, strides)
        )
    else:
        top = bottom = left = right = 0
    pads = (left, right, top, bottom)
    if mode == "max":
        # Keras pads max pooling with -inf, so padding never wins.
        y = f.max_pool2d(f.pad(xt, pads, value=-float("inf")), pool, strides)
    else:
        # Keras averages only the real cells of a window: divide the window sums
        # by the window counts of a zero-padded tensor of ones.
        area = pool[0] * pool[1]
        sums = f.avg_pool2d(f.pad(xt, pads), pool, strides) * area
        ones = torch.ones((1, 1, *x.shape[1:3]), dtype=xt.dtype)
        counts = f.avg_pool2d(f.pad(ones, pads), pool, strides) * area
        y = sums / counts
    (y * torch.tensor(g.transpose(0, 3, 1, 2))).sum().backward()
    return y.detach().numpy().transpose(0, 2, 3, 1), xt.grad.numpy().transpose(0, 2, 3, 1)


def _engine_pool(op, x, g, *args):
    t = Tensor(x)
    with GradientTape() as tape:
        tape.watch(t)
        y = op(t, *args)
        total = ops.sum(ops.multiply(y, g))
    return y.numpy(), tape.gradient(total, t)


# Ops: numeric gradients ---------------------------------------------------------------
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize(("spatial", "pool", "strides", "padding"), CASES_2D)
def test_pool2d_gradients(float64, mode, spatial, pool, strides, padding):
    op = pooling.max_pool if mode == "max" else pooling.average_pool
    x = np.random.default_rng(0).normal(size=(2, *spatial, 2))
    check_gradients(lambda t: op(t, pool, strides, padding), x)


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize(("steps", "pool", "strides", "padding"), CASES_1D)
def test_pool1d_gradients(float64, mode, steps, pool, strides, padding):
    op = pooling.max_pool if mode == "max" else pooling.average_pool
    x = np.random.default_rng(1).normal(size=(2, steps, 3))
    check_gradients(lambda t: op(t, pool, strides, padding), x)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 3, 4, 2)])
def test_global_pool_gradients(float64, shape, keepdims):
    x = np.random.default_rng(2).normal(size=shape)
    check_gradients(lambda t: pooling.global_max_pool(t, keepdims), x)
    check_gradients(lambda t: pooling.global_average_pool(t, keepdims), x)


def test_masked_global_average_gradients(float64):
    x = np.random.default_rng(3).normal(size=(3, 5, 2))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 1, 0, 1, 0]], dtype=bool)
    check_gradients(lambda t: pooling.global_average_pool(t, mask=mask), x)


# Ops: the PyTorch oracle ---------------------------------------------------------------
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize(("spatial", "pool", "strides", "padding"), CASES_2D)
def test_pool2d_matches_torch(mode, spatial, pool, strides, padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, *spatial, 4)).astype(np.float32)
    op = pooling.max_pool if mode == "max" else pooling.average_pool
    y, gx = _engine_pool(op, x, np.zeros(1, np.float32), pool, strides, padding)
    g = rng.normal(size=y.shape).astype(np.float32)
    y, gx = _engine_pool(op, x, g, pool, strides, padding)
    ty, tgx = _torch_pool2d(torch, x, g, mode, pool, strides, padding)
    assert y.dtype == np.float32 and gx.dtype == np.float32
    np.testing.assert_allclose(y, ty, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gx, tgx, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("steps", "pool", "strides", "padding"), CASES_1D)
def test_pool1d_matches_torch(steps, pool, strides, padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, steps, 3)).astype(np.float32)
    for mode, op in (("max", pooling.max_pool), ("average", pooling.average_pool)):
        y, _ = _engine_pool(op, x, np.zeros(1, np.float32), pool, strides, padding)
        g = rng.normal(size=y.shape).astype(np.float32)
        y, gx = _engine_pool(op, x, g, pool, strides, padding)
        # A 1D pool is a 2D pool over a height-1 image.
        ty, tgx = _torch_pool2d(
            torch,
            x[:, None],
            g[:, None],
            mode,
            (1, pool),
            None if strides is None else (1, strides),
            padding,
        )
        np.testing.assert_allclose(y, ty[:, 0], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(gx, tgx[:, 0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize(
    ("pool", "strides", "padding"), [((2, 2), None, "valid"), ((3, 3), (2, 1), "same")]
)
def test_large_batches_run_in_chunks_on_the_thread_pool(mode, pool, strides, padding):
    # Big enough for map_chunks to split the batch (37 items: uneven chunks) over threads.
    torch = pytest.importorskip("torch")
    from engine.ops import batch_parallel

    previous = batch_parallel.num_workers()
    batch_parallel.set_num_workers(2)
    try:
        rng = np.random.default_rng(14)
        x = rng.normal(size=(37, 31, 30, 8)).astype(np.float32)
        op = pooling.max_pool if mode == "max" else pooling.average_pool
        y, _ = _engine_pool(op, x, np.zeros(1, np.float32), pool, strides, padding)
        g = rng.normal(size=y.shape).astype(np.float32)
        y, gx = _engine_pool(op, x, g, pool, strides, padding)
    finally:
        batch_parallel.set_num_workers(previous)
    ty, tgx = _torch_pool2d(torch, x, g, mode, pool, strides, padding)
    np.testing.assert_allclose(y, ty, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gx, tgx, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("spatial", "pool", "strides"),
    [((6, 6), (2, 2), None), ((7, 7), (3, 3), (1, 1)), ((9, 8), (3, 2), (2, 2))],
)
def test_max_pool_ties_follow_torch(spatial, pool, strides):
    # Few distinct values (as after a ReLU) make many ties; the gradient goes to
    # one element per window, the first in row-major order, exactly as in torch.
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = np.maximum(rng.integers(-2, 3, size=(2, *spatial, 3)), 0).astype(np.float32)
    y, _ = _engine_pool(pooling.max_pool, x, np.zeros(1, np.float32), pool, strides, "valid")
    g = rng.normal(size=y.shape).astype(np.float32)
    y, gx = _engine_pool(pooling.max_pool, x, g, pool, strides, "valid")
    ty, tgx = _torch_pool2d(torch, x, g, "max", pool, strides, "valid")
    np.testing.assert_array_equal(y, ty)
    np.testing.assert_allclose(gx, tgx, rtol=1e-6, atol=1e-6)


def test_max_pool_tie_goes_to_first_element():
    x = np.array([[0, 5, 5], [5, 5, 1], [5, 0, 5]], np.float32).reshape(1, 3, 3, 1)
    _, gx = _engine_pool(pooling.max_pool, x, np.ones((1, 1, 1, 1), np.float32), 3, None, "valid")
    expected = np.zeros((3, 3), np.float32)
    expected[0, 1] = 1.0
    np.testing.assert_array_equal(gx[0, :, :, 0], expected)
    _, gx = _engine_pool(pooling.global_max_pool, x, np.ones((1, 1), np.float32))
    np.testing.assert_array_equal(gx[0, :, :, 0], expected)


def test_global_pools_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 5, 6, 4)).astype(np.float32)
    g = rng.normal(size=(3, 4)).astype(np.float32)
    for op, twin in (
        (pooling.global_max_pool, lambda t: torch.nn.functional.adaptive_max_pool2d(t, 1)),
        (pooling.global_average_pool, lambda t: t.mean(dim=(2, 3))),
    ):
        y, gx = _engine_pool(op, x, g)
        xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
        yt = twin(xt).reshape(3, 4)
        (yt * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(gx, xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-6, atol=1e-7)


def test_masked_global_average_equals_trimming_the_padding():
    rng = np.random.default_rng(8)
    lengths = [5, 2, 4]
    x = rng.normal(size=(3, 5, 2)).astype(np.float32)
    x[1, 2:] = 1e6  # padding values must not leak into the mean
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    g = rng.normal(size=(3, 2)).astype(np.float32)
    y, gx = _engine_pool(lambda t: pooling.global_average_pool(t, mask=mask), x, g)
    for i, n in enumerate(lengths):
        yi, gi = _engine_pool(pooling.global_average_pool, x[i : i + 1, :n], g[i : i + 1])
        np.testing.assert_allclose(y[i], yi[0], rtol=1e-6)
        np.testing.assert_allclose(gx[i, :n], gi[0], rtol=1e-6)
        np.testing.assert_array_equal(gx[i, n:], 0.0)


def test_fully_masked_sample_gives_nan_like_keras():
    x = np.ones((2, 3, 1), np.float32)
    mask = np.array([[True, False, False], [False, False, False]])
    y = pooling.global_average_pool(x, mask=mask).numpy()
    assert y[0, 0] == 1.0 and np.isnan(y[1, 0])


def test_pooling_keeps_float32_and_does_not_alias_the_input():
    x = np.random.default_rng(9).normal(size=(2, 4, 4, 3)).astype(np.float32)
    for op in (pooling.max_pool, pooling.average_pool):
        for pool, strides, padding in (((2, 2), None, "valid"), ((3, 3), (1, 1), "same")):
            assert op(x, pool, strides, padding).dtype == np.float32
        y = op(x, 1).numpy()
        y += 1.0
        assert not np.shares_memory(y, x)
    assert pooling.global_max_pool(x).dtype == np.float32
    assert pooling.global_average_pool(x).dtype == np.float32
    assert pooling.global_average_pool(x[:, 0], mask=np.ones((2, 4), bool)).dtype == np.float32


def test_ops_exported_and_argument_errors():
    x = np.zeros((1, 4, 4, 1), np.float32)
    assert ops.max_pool is pooling.max_pool and ops.global_average_pool is not None
    with pytest.raises(ValueError, match="channels_first"):
        ops.max_pool(x, 2, data_format="channels_first")
    with pytest.raises(ValueError, match="padding"):
        ops.average_pool(x, 2, padding="full")
    with pytest.raises(ValueError, match="pool_size"):
        ops.max_pool(x, (2, 2, 2))
    with pytest.raises(ValueError, match="at least pool_size"):
        ops.max_pool(x, 5)
    with pytest.raises(ValueError, match="mask"):
        ops.global_average_pool(x[:, 0], mask=np.ones((1, 3), bool))


# Layers ----------------------------------------------------------------------------------
WINDOW_LAYERS = [
    (layers.MaxPooling1D, 3),
    (layers.AveragePooling1D, 3),
    (layers.MaxPooling2D, 4),
    (layers.AveragePooling2D, 4),
]
GLOBAL_LAYERS = [
    (layers.GlobalMaxPooling1D, 3),
    (layers.GlobalAveragePooling1D, 3),
    (layers.GlobalMaxPooling2D, 4),
    (layers.GlobalAveragePooling2D, 4),
]


def test_keras_aliases():
    assert layers.MaxPool1D is layers.MaxPooling1D
    assert layers.MaxPool2D is layers.MaxPooling2D
    assert layers.AvgPool1D is layers.AveragePooling1D
    assert layers.AvgPool2D is layers.AveragePooling2D
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D
    assert layers.GlobalMaxPool2D is layers.GlobalMaxPooling2D
    assert layers.GlobalAvgPool1D is layers.GlobalAveragePooling1D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D


def test_keras_defaults_and_config():
    layer = layers.MaxPooling2D()
    assert (layer.pool_size, layer.strides, layer.padding) == ((2, 2), (2, 2), "valid")
    assert layers.AveragePooling1D().pool_size == (2,)
    layer = layers.MaxPooling2D((3, 2), strides=1, padding="SAME")
    config = layer.get_config()
    assert config["pool_size"] == (3, 2) and config["strides"] == (1, 1)
    assert config["padding"] == "same" and config["data_format"] == "channels_last"
    assert layers.GlobalAveragePooling1D(keepdims=True).get_config()["keepdims"] is True


@pytest.mark.parametrize(
    "layer",
    [
        layers.MaxPooling1D(3, strides=2, padding="same"),
        layers.AveragePooling1D(2),
        layers.MaxPooling2D((2, 3), strides=(1, 2)),
        layers.AveragePooling2D(3, padding="same"),
        layers.GlobalMaxPooling1D(keepdims=True),
        layers.GlobalAveragePooling1D(),
        layers.GlobalMaxPooling2D(),
        layers.GlobalAveragePooling2D(keepdims=True),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trip(layer):
    assert_config_round_trip(layer)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(("cls", "rank"), WINDOW_LAYERS)
def test_window_layer_gradients(float64, cls, rank, padding):
    x = np.random.default_rng(10).normal(size=(2, 5, 3) if rank == 3 else (2, 5, 4, 2))
    check_layer_gradients(cls(pool_size=3, strides=2, padding=padding), x)
    check_layer_gradients(cls(padding=padding), x)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize(("cls", "rank"), GLOBAL_LAYERS)
def test_global_layer_gradients(float64, cls, rank, keepdims):
    x = np.random.default_rng(11).normal(size=(2, 4, 3) if rank == 3 else (2, 3, 4, 2))
    check_layer_gradients(cls(keepdims=keepdims), x)


def test_global_average_pooling1d_mask_gradients(float64):
    x = np.random.default_rng(12).normal(size=(2, 4, 3))
    mask = np.array([[True, True, False, False], [True, False, True, True]])
    check_layer_gradients(layers.GlobalAveragePooling1D(), x, call_kwargs={"mask": mask})


@pytest.mark.parametrize(
    ("layer", "in_shape", "out_shape"),
    [
        (layers.MaxPooling2D((2, 2)), (None, 30, 30, 32), (None, 15, 15, 32)),
        (layers.MaxPooling2D((2, 2)), (None, 13, 13, 64), (None, 6, 6, 64)),
        (layers.MaxPooling2D((2, 2), padding="same"), (None, 13, 13, 64), (None, 7, 7, 64)),
        (layers.AveragePooling2D(3, strides=1), (None, 5, 7, 2), (None, 3, 5, 2)),
        (layers.MaxPooling1D(3, strides=2, padding="same"), (None, 10, 4), (None, 5, 4)),
        (layers.MaxPooling1D(), (None, None, 4), (None, None, 4)),
        (layers.GlobalMaxPooling2D(), (None, 6, 6, 64), (None, 64)),
        (layers.GlobalAveragePooling2D(keepdims=True), (None, 6, 6, 8), (None, 1, 1, 8)),
        (layers.GlobalAveragePooling1D(keepdims=True), (None, None, 8), (None, 1, 8)),
    ],
)
def test_output_shapes_symbolic_and_eager(layer, in_shape, out_shape):
    assert layer.compute_output_shape(in_shape) == out_shape
    symbolic = layer(layers.Input(shape=in_shape[1:]))
    assert tuple(symbolic.shape) == out_shape
    concrete = [3 if d is None else d for d in in_shape]
    eager = layer(np.zeros(concrete, np.float32))
    assert all(o is None or o == e for o, e in zip(out_shape, eager.shape))


def test_max_pooling_drops_the_odd_row_and_column_like_keras():
    x = np.zeros((1, 13, 13, 1), np.float32)
    x[0, 12, :, 0] = 9.0
    x[0, :, 12, 0] = 9.0
    y = layers.MaxPooling2D((2, 2))(x).numpy()
    assert y.shape == (1, 6, 6, 1) and y.max() == 0.0
    assert layers.MaxPooling2D((2, 2), padding="same")(x).numpy()[0, 6, 6, 0] == 9.0


def test_global_average_pooling1d_uses_the_mask_and_drops_it():
    x = np.array([[[1.0], [3.0], [50.0]], [[2.0], [4.0], [6.0]]], np.float32)
    t = Tensor(x)
    t._keras_mask = np.array([[True, True, False], [True, True, True]])
    y = layers.GlobalAveragePooling1D()(t)
    np.testing.assert_allclose(y.numpy(), [[2.0], [4.0]])
    assert y._keras_mask is None
    # GlobalMaxPooling1D ignores the mask, as in Keras.
    np.testing.assert_allclose(layers.GlobalMaxPooling1D()(t).numpy(), [[50.0], [6.0]])


def test_pooling_layers_reject_bad_arguments():
    with pytest.raises(ValueError, match="channels_first"):
        layers.MaxPooling2D(data_format="channels_first")
    with pytest.raises(ValueError, match="channels_first"):
        layers.GlobalAveragePooling2D(data_format="channels_first")
    with pytest.raises(ValueError, match="padding"):
        layers.AveragePooling2D(padding="causal")
    with pytest.raises(ValueError, match="pool_size"):
        layers.MaxPooling2D(pool_size=0)
    with pytest.raises(ValueError, match="rank 4"):
        layers.MaxPooling2D()(np.zeros((2, 8, 3), np.float32))
    with pytest.raises(ValueError, match="rank 3"):
        layers.GlobalAveragePooling1D()(np.zeros((2, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="padding='same'"):
        layers.MaxPooling2D(3).compute_output_shape((None, 2, 8, 1))


def test_masked_sequences_pass_through_window_pooling():
    # Window pooling changes the number of steps, so (as in Keras) it drops the mask.
    t = Tensor(np.random.default_rng(15).normal(size=(2, 6, 3)).astype(np.float32))
    t._keras_mask = np.array([[True] * 6, [True] * 4 + [False] * 2])
    for layer in (layers.MaxPooling1D(2), layers.AveragePooling1D(3, strides=1, padding="same")):
        y = layer(t)
        assert y._keras_mask is None
        np.testing.assert_allclose(y.numpy(), layer(t.numpy()).numpy())


def test_cnn_pooling_stack_trains_in_a_sequential_model():
    from engine.models import Sequential

    model = Sequential(
        [
            layers.Input(shape=(9, 9, 2)),
            layers.MaxPooling2D((2, 2)),
            layers.AveragePooling2D(2, padding="same"),
            layers.GlobalMaxPooling2D(),
            layers.Dense(1),
        ]
    )
    assert model.output_shape == (None, 1)
    x = np.random.default_rng(13).normal(size=(16, 9, 9, 2)).astype(np.float32)
    y = x.max(axis=(1, 2)).sum(axis=1, keepdims=True)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0).history["loss"]
    assert np.isfinite(history).all() and model.predict(x, verbose=0).dtype == np.float32


def test_pooling_model_saves_and_loads(tmp_path):
    from engine.models import Model, load_model

    inputs = layers.Input(shape=(6, 6, 2))
    hidden = layers.MaxPool2D(padding="same")(inputs)
    hidden = layers.AvgPool2D(2, strides=1)(hidden)
    outputs = layers.Dense(2)(layers.GlobalAvgPool2D()(hidden))
    model = Model(inputs, outputs)
    x = np.random.default_rng(16).normal(size=(3, 6, 6, 2)).astype(np.float32)
    path = tmp_path / "pooling.keras"
    model.save(str(path))
    restored = load_model(str(path))
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [type(layer).__name__ for layer in restored.layers[1:4]] == [
        "MaxPooling2D",
        "AveragePooling2D",
        "GlobalAveragePooling2D",
    ]
