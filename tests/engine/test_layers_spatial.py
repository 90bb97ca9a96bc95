"""Spatial reshaping layers (padding, cropping, upsampling) and spatial dropout."""

from __future__ import annotations

import numpy as np
import pytest

from engine import layers, ops
from engine.backend import GradientTape, Tensor
from engine.utils import set_random_seed
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients


def _forward_backward(layer, x, g, training=False):
    t = Tensor(x)
    with GradientTape() as tape:
        tape.watch(t)
        y = layer(t, training=training)
        total = ops.sum(ops.multiply(y, g))
    return y.numpy(), tape.gradient(total, t)


# ZeroPadding ------------------------------------------------------------------------------
def test_zero_padding1d_forward_and_arguments():
    x = np.arange(1, 7, dtype=np.float32).reshape(1, 3, 2)
    y = layers.ZeroPadding1D(padding=(1, 2))(x).numpy()
    np.testing.assert_array_equal(y, np.pad(x, ((0, 0), (1, 2), (0, 0))))
    assert layers.ZeroPadding1D().padding == (1, 1)
    assert layers.ZeroPadding1D(3).compute_output_shape((None, 5, 2)) == (None, 11, 2)
    assert layers.ZeroPadding1D(3).compute_output_shape((None, None, 2)) == (None, None, 2)
    with pytest.raises(ValueError, match="padding"):
        layers.ZeroPadding1D(-1)
    with pytest.raises(ValueError, match="rank 3"):
        layers.ZeroPadding1D()(np.zeros((1, 2, 2, 2), np.float32))


@pytest.mark.parametrize(
    ("padding", "expected"),
    [
        (2, ((2, 2), (2, 2))),
        ((1, 3), ((1, 1), (3, 3))),
        (((0, 1), (2, 3)), ((0, 1), (2, 3))),
    ],
)
def test_zero_padding2d_argument_forms(padding, expected):
    layer = layers.ZeroPadding2D(padding)
    assert layer.padding == expected
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(layer(x).numpy(), np.pad(x, ((0, 0), *expected, (0, 0))))
    rows = 3 + sum(expected[0])
    assert layer.compute_output_shape((None, 3, None, 2)) == (None, rows, None, 2)


def test_zero_padding2d_rejects_bad_arguments():
    with pytest.raises(ValueError, match="padding"):
        layers.ZeroPadding2D((1, 2, 3))
    with pytest.raises(ValueError, match="channels_first"):
        layers.ZeroPadding2D(data_format="channels_first")


# Cropping ----------------------------------------------------------------------------------
def test_cropping1d_forward_and_errors():
    x = np.arange(12, dtype=np.float32).reshape(1, 6, 2)
    np.testing.assert_array_equal(layers.Cropping1D((1, 2))(x).numpy(), x[:, 1:4])
    np.testing.assert_array_equal(layers.Cropping1D((0, 0))(x).numpy(), x)
    assert layers.Cropping1D().cropping == (1, 1)
    assert layers.Cropping1D(2).compute_output_shape((None, None, 2)) == (None, None, 2)
    with pytest.raises(ValueError, match="removes all 6 steps"):
        layers.Cropping1D((3, 3))(x)


@pytest.mark.parametrize(
    ("cropping", "key"),
    [
        (1, (slice(1, -1), slice(1, -1))),
        ((2, 0), (slice(2, -2), slice(None))),
        (((0, 1), (2, 0)), (slice(0, -1), slice(2, None))),
    ],
)
def test_cropping2d_forward(cropping, key):
    x = np.random.default_rng(1).normal(size=(2, 6, 5, 3)).astype(np.float32)
    y = layers.Cropping2D(cropping)(x).numpy()
    np.testing.assert_array_equal(y, x[(slice(None), *key)])


def test_cropping2d_errors_and_default():
    assert layers.Cropping2D().cropping == ((0, 0), (0, 0))
    with pytest.raises(ValueError, match="crop less"):
        layers.Cropping2D(((2, 2), (0, 0)))(np.zeros((1, 4, 4, 1), np.float32))
    with pytest.raises(ValueError, match="channels_first"):
        layers.Cropping2D(data_format="channels_first")


# UpSampling -------------------------------------------------------------------------------
def test_up_sampling1d_repeats_steps():
    x = np.random.default_rng(2).normal(size=(2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(layers.UpSampling1D(3)(x).numpy(), np.repeat(x, 3, axis=1))
    assert layers.UpSampling1D().size == 2
    assert layers.UpSampling1D(3).compute_output_shape((None, 5, 4)) == (None, 15, 4)
    with pytest.raises(ValueError, match="size"):
        layers.UpSampling1D(0)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("size", [(2, 2), (3, 2), (1, 3)])
def test_up_sampling2d_matches_torch(interpolation, size):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 5, 4)).astype(np.float32)
    g = rng.normal(size=(2, 3 * size[0], 5 * size[1], 4)).astype(np.float32)
    y, gx = _forward_backward(layers.UpSampling2D(size, interpolation=interpolation), x, g)
    xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    out_size = (3 * size[0], 5 * size[1])
    if interpolation == "nearest":
        yt = torch.nn.functional.interpolate(xt, size=out_size, mode="nearest")
    else:
        yt = torch.nn.functional.interpolate(
            xt, size=out_size, mode="bilinear", align_corners=False
        )
    (yt * torch.tensor(g.transpose(0, 3, 1, 2))).sum().backward()
    assert y.dtype == np.float32 and gx.dtype == np.float32
    np.testing.assert_allclose(y, yt.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gx, xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-5)


def test_up_sampling2d_bilinear_uses_half_pixel_centres():
    # tf.image.resize (Keras's ops.image.resize) samples output pixel i at
    # (i + 0.5) / 2 - 0.5 and clamps at the edges.
    x = np.array([0.0, 4.0, 8.0], np.float32).reshape(1, 1, 3, 1)
    y = layers.UpSampling2D((1, 2), interpolation="bilinear")(x).numpy().ravel()
    np.testing.assert_allclose(y, [0.0, 1.0, 3.0, 5.0, 7.0, 8.0])


def test_up_sampling2d_arguments_and_shapes():
    layer = layers.UpSampling2D()
    assert (layer.size, layer.interpolation) == ((2, 2), "nearest")
    assert layer.compute_output_shape((None, 4, None, 3)) == (None, 8, None, 3)
    assert layers.UpSampling2D(interpolation="BILINEAR").interpolation == "bilinear"
    with pytest.raises(ValueError, match="interpolation"):
        layers.UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match="channels_first"):
        layers.UpSampling2D(data_format="channels_first")
    with pytest.raises(ValueError, match="rank 4"):
        layers.UpSampling2D()(np.zeros((1, 3, 3), np.float32))


# Gradients and configs of the reshaping layers ---------------------------------------------
RESHAPING = [
    (layers.ZeroPadding1D((2, 1)), (2, 4, 3)),
    (layers.ZeroPadding2D(((1, 0), (2, 1))), (2, 3, 4, 2)),
    (layers.Cropping1D((1, 2)), (2, 6, 3)),
    (layers.Cropping2D(((1, 0), (0, 2))), (2, 4, 5, 2)),
    (layers.UpSampling1D(3), (2, 3, 2)),
    (layers.UpSampling2D((2, 3)), (2, 3, 2, 2)),
    (layers.UpSampling2D((3, 2), interpolation="bilinear"), (2, 3, 4, 2)),
]


@pytest.mark.parametrize(("layer", "shape"), RESHAPING, ids=lambda v: type(v).__name__)
def test_reshaping_layer_gradients(float64, layer, shape):
    x = np.random.default_rng(4).normal(size=shape)
    check_layer_gradients(layer, x)


@pytest.mark.parametrize(("layer", "shape"), RESHAPING, ids=lambda v: type(v).__name__)
def test_reshaping_layer_config_and_shapes(layer, shape):
    clone = assert_config_round_trip(layer)
    x = np.random.default_rng(5).normal(size=shape).astype(np.float32)
    y = layer(x)
    np.testing.assert_array_equal(clone(x).numpy(), y.numpy())
    assert y.dtype == np.float32
    assert layer.compute_output_shape(shape) == y.shape
    symbolic = layer(layers.Input(shape=shape[1:]))
    assert tuple(symbolic.shape) == (None, *y.shape[1:])


def test_slicing_gradient_scatters_with_assignment_and_fancy_indexing_still_accumulates():
    # Cropping relies on ops.getitem; basic indexing never repeats a cell, fancy
    # indexing can, and then the gradients of the repeats must add up.
    x = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    with GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(ops.getitem(x, (slice(None), slice(1, None))) * 2.0)
    np.testing.assert_array_equal(tape.gradient(y, x), [[0, 2, 2], [0, 2, 2]])
    with GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(ops.getitem(x, (0, np.array([1, 1, 2]))))
    np.testing.assert_array_equal(tape.gradient(y, x), [[0, 2, 1], [0, 0, 0]])


# SpatialDropout -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "shape", "spatial"),
    [(layers.SpatialDropout1D, (8, 5, 16), (1,)), (layers.SpatialDropout2D, (8, 3, 4, 16), (1, 2))],
)
def test_spatial_dropout_drops_whole_channels(cls, shape, spatial):
    layer = cls(0.4, seed=3)
    x = np.ones(shape, np.float32)
    y = layer(x, training=True).numpy()
    assert y.dtype == np.float32
    # Each (sample, channel) map is all zeros or all 1 / (1 - rate).
    maps = np.moveaxis(y, -1, 1).reshape(shape[0], shape[-1], -1)
    assert (maps == maps[:, :, :1]).all()
    np.testing.assert_allclose(np.unique(maps), [0.0, 1.0 / 0.6], rtol=1e-6)
    dropped = (maps[:, :, 0] == 0).mean()
    assert 0.2 < dropped < 0.6
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    assert y.sum(axis=spatial).shape == (shape[0], shape[-1])


def test_spatial_dropout_is_seeded():
    x = np.ones((4, 6, 8), np.float32)
    a = layers.SpatialDropout1D(0.5, seed=7)(x, training=True).numpy()
    b = layers.SpatialDropout1D(0.5, seed=7)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    set_random_seed(11)
    c = layers.SpatialDropout2D(0.5)(x[:, :, None], training=True).numpy()
    set_random_seed(11)
    d = layers.SpatialDropout2D(0.5)(x[:, :, None], training=True).numpy()
    np.testing.assert_array_equal(c, d)


@pytest.mark.parametrize(
    ("cls", "shape"),
    [(layers.SpatialDropout1D, (2, 4, 3)), (layers.SpatialDropout2D, (2, 3, 2, 3))],
)
def test_spatial_dropout_gradients(float64, cls, shape):
    layer = cls(0.5, seed=0)
    x = np.random.default_rng(6).normal(size=shape)

    def reseed():
        layer.seed_generator = type(layer.seed_generator)(0)

    check_layer_gradients(layer, x, training=True, before_call=reseed)


def test_spatial_dropout_config_and_errors():
    layer = layers.SpatialDropout2D(0.3, seed=5)
    config = assert_config_round_trip(layer).get_config()
    assert config["rate"] == 0.3 and config["seed"] == 5
    assert config["data_format"] == "channels_last" and "noise_shape" not in config
    assert "data_format" not in layers.SpatialDropout1D(0.2).get_config()
    with pytest.raises(ValueError, match="channels_first"):
        layers.SpatialDropout2D(0.5, data_format="channels_first")
    with pytest.raises(ValueError, match="rank 3"):
        layers.SpatialDropout1D(0.5)(np.zeros((2, 3, 4, 5), np.float32), training=True)
    with pytest.raises(ValueError, match="rate"):
        layers.SpatialDropout1D(1.5)
