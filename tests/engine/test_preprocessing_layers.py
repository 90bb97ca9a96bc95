"""Preprocessing layers: Rescaling, Normalization and the random image augmentations."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import layers
from engine.backend.random import SeedGenerator
from engine.layers.preprocessing.image_preprocessing.transforms import (
    affine_transform,
    resize_bilinear,
)
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients

rng = np.random.default_rng(0)


def images(*shape: int, dtype: str = "float32") -> np.ndarray:
    return rng.uniform(0, 255, size=shape).astype(dtype)


# Rescaling -------------------------------------------------------------------------------
def test_rescaling_maps_uint8_to_float32_range():
    x = np.array([[0, 51, 255]], "uint8")
    out = layers.Rescaling(1 / 255)(x).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 0.2, 1.0]], rtol=1e-6)
    out = layers.Rescaling(1 / 127.5, offset=-1)(x).numpy()
    np.testing.assert_allclose(out, [[-1.0, -0.6, 1.0]], rtol=1e-6)


def test_rescaling_is_active_at_inference_and_in_training():
    x = images(2, 3)
    layer = layers.Rescaling(2.0, offset=1.0)
    np.testing.assert_allclose(layer(x).numpy(), x * 2 + 1, rtol=1e-6)
    np.testing.assert_allclose(layer(x, training=True).numpy(), x * 2 + 1, rtol=1e-6)


def test_rescaling_per_channel_arrays():
    x = images(2, 4, 4, 3)
    scale = np.array([1.0, 0.5, 0.25])
    offset = np.array([0.0, -1.0, 1.0])
    out = layers.Rescaling(scale, offset)(x).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x * scale + offset, rtol=1e-6)


def test_rescaling_gradient(float64):
    check_layer_gradients(layers.Rescaling(0.5, offset=-2.0), rng.normal(size=(3, 4)))
    check_layer_gradients(layers.Rescaling(np.array([1.0, 2.0, 3.0])), rng.normal(size=(2, 3)))


def test_rescaling_config_with_arrays_round_trips():
    clone = assert_config_round_trip(layers.Rescaling(np.array([0.5, 2.0]), offset=1.0))
    np.testing.assert_array_equal(clone.scale, [0.5, 2.0])
    config = layers.Rescaling(1 / 255).get_config()
    assert (config["scale"], config["offset"]) == (1 / 255, 0.0)


# Normalization ---------------------------------------------------------------------------
def test_normalization_adapt_matches_numpy_per_feature():
    data = rng.normal(3.0, 2.0, size=(500, 4)).astype("float32")
    layer = layers.Normalization()
    layer.adapt(data)
    np.testing.assert_allclose(layer.adapt_mean.numpy(), data.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.adapt_variance.numpy(), data.var(axis=0), rtol=1e-5)
    assert int(layer.count.numpy()) == 500
    out = layer(data).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1, rtol=1e-4)


def test_normalization_adapt_images_per_channel_and_scalar():
    data = images(20, 5, 5, 3, dtype="uint8")
    per_channel = layers.Normalization(axis=-1)
    per_channel.adapt(data)
    ref = data.astype(np.float64)
    np.testing.assert_allclose(per_channel.adapt_mean.numpy(), ref.mean(axis=(0, 1, 2)), rtol=1e-6)
    np.testing.assert_allclose(
        per_channel.adapt_variance.numpy(), ref.var(axis=(0, 1, 2)), rtol=1e-6
    )
    scalar = layers.Normalization(axis=None)
    scalar.adapt(data)
    assert scalar.adapt_mean.shape == ()
    np.testing.assert_allclose(scalar.adapt_mean.numpy(), ref.mean(), rtol=1e-6)
    np.testing.assert_allclose(scalar.adapt_variance.numpy(), ref.var(), rtol=1e-6)
    spatial = layers.Normalization(axis=(1, 2))
    spatial.adapt(data)
    assert spatial.adapt_mean.shape == (5, 5)
    np.testing.assert_allclose(spatial.adapt_variance.numpy(), ref.var(axis=(0, 3)), rtol=1e-6)


def test_normalization_adapt_batches_merge_exactly():
    data = rng.normal(-1.0, 5.0, size=(103, 3))
    whole = layers.Normalization()
    whole.adapt(data)
    batches = [data[i : i + 10] for i in range(0, 103, 10)]
    for source in (batches, iter(batches), [(b, np.zeros(len(b))) for b in batches]):
        layer = layers.Normalization()
        layer.adapt(source)
        np.testing.assert_allclose(layer.adapt_mean.numpy(), whole.adapt_mean.numpy(), rtol=1e-6)
        np.testing.assert_allclose(
            layer.adapt_variance.numpy(), whole.adapt_variance.numpy(), rtol=1e-6
        )
    chunked = layers.Normalization()
    chunked.adapt(data, batch_size=7)
    np.testing.assert_allclose(chunked.adapt_variance.numpy(), data.var(axis=0), rtol=1e-6)


def test_normalization_adapt_steps_reads_only_that_many_batches():
    first, second = np.zeros((4, 2)), np.full((4, 2), 10.0)
    layer = layers.Normalization()
    layer.adapt([first, second], steps=1)
    np.testing.assert_array_equal(layer.adapt_mean.numpy(), [0.0, 0.0])
    layer.adapt(np.concatenate([first, second]), batch_size=4, steps=2)
    np.testing.assert_array_equal(layer.adapt_mean.numpy(), [5.0, 5.0])
    np.testing.assert_array_equal(layer.adapt_variance.numpy(), [25.0, 25.0])


def test_normalization_keras_docstring_examples():
    layer = layers.Normalization(axis=None)
    layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0], "float32"))
    np.testing.assert_allclose(
        layer(np.array([1.0, 2.0, 3.0], "float32")).numpy(), [-1.4142135, -0.70710677, 0.0]
    )
    adapt_data = np.array([[0.0, 7.0, 4.0], [2.0, 9.0, 6.0]] * 2, "float32")
    layer = layers.Normalization(axis=-1)
    layer.adapt(adapt_data)
    np.testing.assert_allclose(layer(np.array([[0.0, 7.0, 4.0]])).numpy(), [[-1.0, -1.0, -1.0]])
    inverse = layers.Normalization(axis=-1, invert=True)
    inverse.adapt(adapt_data)
    np.testing.assert_allclose(inverse(np.array([[1.0, 2.0, 3.0]])).numpy(), [[2.0, 10.0, 8.0]])
    fixed = layers.Normalization(mean=3.0, variance=2.0)
    np.testing.assert_allclose(
        fixed(np.array([[1.0], [2.0], [3.0]])).numpy(), [[-1.4142135], [-0.70710677], [0.0]]
    )


def test_normalization_given_statistics_broadcast_to_kept_axes():
    layer = layers.Normalization(axis=-1, mean=[1.0, 2.0, 3.0], variance=[4.0, 4.0, 1.0])
    x = np.ones((2, 5, 3), "float32")
    np.testing.assert_allclose(layer(x).numpy()[0, 0], [0.0, -0.5, -2.0])
    assert layer.weights == []
    with pytest.raises(ValueError, match="broadcast"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0])(np.ones((2, 3)))


def test_normalization_zero_variance_is_guarded_by_epsilon():
    layer = layers.Normalization()
    layer.adapt(np.ones((5, 2), "float32"))
    out = layer(np.full((1, 2), 2.0, "float32")).numpy()
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, 1 / engine.backend.epsilon(), rtol=1e-5)


def test_normalization_weights_are_non_trainable_and_keras_ordered():
    layer = layers.Normalization()
    layer.adapt(np.ones((3, 4)))
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"]
    assert layer.trainable_weights == []
    assert [w.shape for w in layer.weights] == [(4,), (4,), ()]


def test_normalization_gradient(float64):
    layer = layers.Normalization()
    layer.adapt(rng.normal(2.0, 3.0, size=(50, 3)))
    check_layer_gradients(layer, rng.normal(size=(4, 3)))
    inverse = layers.Normalization(invert=True, mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0])
    check_layer_gradients(inverse, rng.normal(size=(4, 3)))


def test_normalization_rejects_bad_arguments():
    with pytest.raises(ValueError, match="both mean and variance"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        layers.Normalization(mean=[1.0, 2.0], variance=1.0)
    with pytest.raises(ValueError, match="cannot adapt"):
        layers.Normalization(mean=1.0, variance=1.0).adapt(np.ones((2, 1)))
    with pytest.raises(ValueError, match="no data"):
        layers.Normalization().adapt([])
    with pytest.raises(TypeError, match="iterable"):
        layers.Normalization().adapt(3.0)
    layer = layers.Normalization()
    layer.adapt(np.ones((2, 3)))
    with pytest.raises(ValueError, match="incompatible"):
        layer.adapt(np.ones((2, 4)))


def test_normalization_config_round_trip_and_keras_keys():
    config = layers.Normalization(axis=(1, 2), invert=True).get_config()
    assert (config["axis"], config["invert"], config["mean"], config["variance"]) == (
        (1, 2),
        True,
        None,
        None,
    )
    assert_config_round_trip(layers.Normalization(axis=None, mean=2.0, variance=3.0))
    assert_config_round_trip(layers.Normalization(axis=[-1], mean=[1.0, 2.0], variance=[3.0, 4.0]))


def test_adapted_normalization_survives_save_and_load(tmp_path):
    data = rng.normal(5.0, 2.0, size=(64, 3)).astype("float32")
    norm = layers.Normalization()
    inputs = engine.Input(shape=(3,))
    model = engine.Model(inputs, layers.Dense(2)(norm(inputs)))
    norm.adapt(data)
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = engine.models.load_model(path)
    np.testing.assert_allclose(restored.predict(data, verbose=0), model.predict(data, verbose=0))


# RandomFlip ------------------------------------------------------------------------------
def test_random_flip_is_identity_at_inference():
    x = images(4, 5, 6, 3)
    layer = layers.RandomFlip(seed=0)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    out = layer(x.astype("uint8")).numpy()
    assert out.dtype == np.float32


@pytest.mark.parametrize(
    ("mode", "flipped"),
    [
        ("horizontal", lambda im: im[:, ::-1]),
        ("vertical", lambda im: im[::-1]),
        ("horizontal_and_vertical", lambda im: im[::-1, ::-1]),
    ],
)
def test_random_flip_flips_each_image_exactly_or_not_at_all(mode, flipped):
    x = images(64, 5, 6, 2)
    out = layers.RandomFlip(mode, seed=3)(x, training=True).numpy()
    n_flipped = 0
    for original, result in zip(x, out):
        if np.array_equal(result, original):
            continue
        np.testing.assert_array_equal(result, flipped(original))
        n_flipped += 1
    assert 16 < n_flipped < 48


def test_random_flip_seeds_are_reproducible():
    x = images(16, 4, 4, 1)
    a = layers.RandomFlip(seed=7)(x, training=True).numpy()
    b = layers.RandomFlip(seed=7)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    engine.utils.set_random_seed(11)
    c = layers.RandomFlip()(x, training=True).numpy()
    engine.utils.set_random_seed(11)
    d = layers.RandomFlip()(x, training=True).numpy()
    np.testing.assert_array_equal(c, d)


def test_random_flip_single_image_and_channels_first():
    image = images(4, 5, 3)
    out = layers.RandomFlip("horizontal", seed=0)(image, training=True).numpy()
    assert out.shape == (4, 5, 3)
    assert np.array_equal(out, image) or np.array_equal(out, image[:, ::-1])
    nchw = images(8, 3, 4, 5)
    out = layers.RandomFlip("horizontal", seed=1, data_format="channels_first")(
        nchw, training=True
    ).numpy()
    for original, result in zip(nchw, out):
        assert np.array_equal(result, original) or np.array_equal(result, original[:, :, ::-1])


def test_random_flip_gradient(float64):
    layer = layers.RandomFlip(seed=2)
    check_layer_gradients(
        layer,
        rng.normal(size=(4, 3, 3, 2)),
        training=True,
        before_call=lambda: setattr(layer, "seed_generator", SeedGenerator(2)),
    )


def test_random_flip_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        layers.RandomFlip("diagonal")


# RandomCrop ------------------------------------------------------------------------------
def test_random_crop_training_takes_one_window_per_batch():
    x = images(5, 10, 12, 3)
    out = layers.RandomCrop(4, 6, seed=0)(x, training=True).numpy()
    assert out.shape == (5, 4, 6, 3)
    windows = [
        (top, left)
        for top in range(7)
        for left in range(7)
        if np.array_equal(out, x[:, top : top + 4, left : left + 6])
    ]
    assert len(windows) == 1


def test_random_crop_positions_vary_and_are_seeded():
    x = np.arange(20 * 20, dtype="float32").reshape(1, 20, 20, 1)
    layer = layers.RandomCrop(5, 5, seed=4)
    corners = {float(layer(x, training=True).numpy()[0, 0, 0, 0]) for _ in range(20)}
    assert len(corners) > 5
    again = layers.RandomCrop(5, 5, seed=4)
    first = layers.RandomCrop(5, 5, seed=4)(x, training=True).numpy()
    np.testing.assert_array_equal(again(x, training=True).numpy(), first)


def test_random_crop_inference_takes_the_central_window():
    x = images(2, 8, 12, 3)
    out = layers.RandomCrop(4, 4)(x).numpy()
    # The largest central square window (8 x 8 at column 2) resized to 4 x 4:
    # with an exact factor 2, half-pixel bilinear averages each 2 x 2 block.
    window = x[:, :, 2:10]
    expected = window.reshape(2, 4, 2, 4, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    same = layers.RandomCrop(6, 6)(images(1, 6, 6, 1, dtype="uint8")).numpy()
    assert same.shape == (1, 6, 6, 1) and same.dtype == np.float32


def test_random_crop_matches_torch_bilinear_resize():
    torch = pytest.importorskip("torch")
    x = images(2, 7, 9, 3)
    out = layers.RandomCrop(5, 4)(x).numpy()
    crop_w = int(7 * 4 / 5)
    left = (9 - crop_w) // 2
    window = torch.from_numpy(np.ascontiguousarray(x[:, :, left : left + crop_w]))
    expected = torch.nn.functional.interpolate(
        window.permute(0, 3, 1, 2), size=(5, 4), mode="bilinear", align_corners=False
    )
    np.testing.assert_allclose(out, expected.permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-4)


def test_random_crop_smaller_input_is_resized_up_in_training():
    out = layers.RandomCrop(6, 6, seed=0)(images(2, 3, 3, 1), training=True)
    assert out.shape == (2, 6, 6, 1)


def test_random_crop_symbolic_shape_and_gradient(float64):
    inputs = engine.Input(shape=(10, 10, 3))
    assert layers.RandomCrop(4, 5)(inputs).shape == (None, 4, 5, 3)
    layer = layers.RandomCrop(3, 2, seed=1)
    check_layer_gradients(
        layer,
        rng.normal(size=(2, 5, 4, 1)),
        training=True,
        before_call=lambda: setattr(layer, "seed_generator", SeedGenerator(1)),
    )
    check_layer_gradients(layers.RandomCrop(3, 2), rng.normal(size=(2, 5, 6, 1)))


# Affine augmentations ------------------------------------------------------------------------
def test_rotation_by_90_degrees_nearest_equals_rot90():
    x = images(3, 7, 7, 2)
    out = layers.RandomRotation((0.25, 0.25), interpolation="nearest")(x, training=True).numpy()
    np.testing.assert_array_equal(out, np.rot90(x, k=1, axes=(1, 2)))
    out = layers.RandomRotation((-0.25, -0.25), interpolation="nearest")(x, training=True)
    np.testing.assert_array_equal(out.numpy(), np.rot90(x, k=-1, axes=(1, 2)))
    half_turn = layers.RandomRotation((0.5, 0.5))(x, training=True).numpy()
    np.testing.assert_allclose(half_turn, x[:, ::-1, ::-1], atol=1e-3)


@pytest.mark.parametrize(
    ("fill_mode", "expected"),
    [
        ("constant", [9, 9, 1, 2, 3, 4]),
        ("nearest", [1, 1, 1, 2, 3, 4]),
        ("wrap", [5, 6, 1, 2, 3, 4]),
        ("reflect", [2, 1, 1, 2, 3, 4]),
    ],
)
def test_translation_by_whole_pixels_is_exact(fill_mode, expected):
    x = np.arange(1, 7, dtype="float32").reshape(1, 1, 6, 1)
    layer = layers.RandomTranslation(0.0, (2 / 6, 2 / 6), fill_mode=fill_mode, fill_value=9.0)
    np.testing.assert_array_equal(layer(x, training=True).numpy().ravel(), expected)


def test_translation_moves_down_and_left_exactly():
    x = images(2, 8, 8, 3)
    layer = layers.RandomTranslation((0.25, 0.25), (-0.125, -0.125), fill_mode="constant")
    out = layer(x, training=True).numpy()
    np.testing.assert_array_equal(out[:, 2:, :7], x[:, :6, 1:])
    np.testing.assert_array_equal(out[:, :2], 0)
    np.testing.assert_array_equal(out[:, :, 7], 0)


def test_zoom_factor_zero_is_identity():
    x = images(3, 6, 9, 2)
    for interpolation in ("bilinear", "nearest"):
        out = layers.RandomZoom(0.0, interpolation=interpolation)(x, training=True).numpy()
        np.testing.assert_array_equal(out, x)


def test_zoom_out_by_two_with_constant_fill():
    x = np.arange(1, 6, dtype="float32").reshape(1, 1, 5, 1)
    layer = layers.RandomZoom(0.0, (1.0, 1.0), fill_mode="constant", interpolation="nearest")
    # A factor of 2 about the centre reads input pixel 2x - 2 into output pixel x.
    np.testing.assert_array_equal(layer(x, training=True).numpy().ravel(), [0, 1, 3, 5, 0])


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_affine_sampler_matches_keras_numpy_backend_recipe(fill_mode, interpolation):
    ndimage = pytest.importorskip("scipy.ndimage")
    x = images(3, 6, 7, 2)
    angle = np.array([0.3, -1.1, 2.0])
    cos, sin = np.cos(angle), np.sin(angle)
    transforms = np.stack(
        [1.3 * cos, -sin, [2.0, -1.5, 0.5], sin, 0.8 * cos, [-1.0, 3.0, 0.2], [0, 0, 0], [0, 0, 0]],
        axis=1,
    )
    out = affine_transform(x, transforms, interpolation, fill_mode, fill_value=7.0).numpy()
    # Keras's NumPy backend pads the image far enough for every sample point and
    # lets scipy interpolate in the padded image.
    pad_mode = {"nearest": "edge", "reflect": "symmetric"}.get(fill_mode, fill_mode)
    ys, xs = np.mgrid[0:6, 0:7].astype(np.float64)
    order = 0 if interpolation == "nearest" else 1
    for b in range(3):
        t = transforms[b]
        x_in, y_in = t[0] * xs + t[1] * ys + t[2], t[3] * xs + t[4] * ys + t[5]
        pad = 20
        for c in range(2):
            kwargs = {"constant_values": 7.0} if fill_mode == "constant" else {}
            padded = np.pad(x[b, :, :, c].astype(np.float64), pad, mode=pad_mode, **kwargs)
            coords = np.stack([y_in + pad, x_in + pad])
            expected = ndimage.map_coordinates(padded, coords, order=order, mode="constant")
            np.testing.assert_allclose(out[b, :, :, c], expected, rtol=1e-4, atol=1e-3)


def test_resize_bilinear_matches_torch():
    torch = pytest.importorskip("torch")
    x = images(2, 5, 7, 3)
    out = resize_bilinear(x, 8, 3).numpy()
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(x).permute(0, 3, 1, 2), size=(8, 3), mode="bilinear", align_corners=False
    )
    np.testing.assert_allclose(out, expected.permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.RandomTranslation(0.2, 0.3, seed=0),
        lambda: layers.RandomRotation(0.2, seed=0),
        lambda: layers.RandomZoom(0.3, 0.2, seed=0),
    ],
    ids=["translation", "rotation", "zoom"],
)
def test_affine_layers_inference_identity_training_changes_and_seeds(make):
    x = images(4, 9, 9, 3)
    layer = make()
    np.testing.assert_array_equal(layer(x).numpy(), x)
    out = layer(x, training=True).numpy()
    assert out.shape == x.shape and out.dtype == np.float32
    assert not np.allclose(out, x)
    np.testing.assert_array_equal(make()(x, training=True).numpy(), out)
    assert make()(x.astype("uint8")).numpy().dtype == np.float32
    single = make()(x[0], training=True).numpy()
    assert single.shape == (9, 9, 3)


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
def test_affine_layers_gradient(float64, fill_mode):
    x = rng.normal(size=(2, 4, 5, 2))
    for layer in (
        layers.RandomRotation(0.3, fill_mode=fill_mode, fill_value=0.5),
        layers.RandomZoom(0.4, fill_mode=fill_mode),
        layers.RandomTranslation(0.3, 0.3, fill_mode=fill_mode),
    ):
        check_layer_gradients(
            layer,
            x,
            training=True,
            before_call=lambda layer=layer: setattr(layer, "seed_generator", SeedGenerator(3)),
        )


def test_affine_layers_reject_bad_arguments():
    with pytest.raises(ValueError, match="fill_mode"):
        layers.RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="interpolation"):
        layers.RandomZoom(0.1, interpolation="bicubic")
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        layers.RandomTranslation(1.5, 0.1)
    with pytest.raises(ValueError, match="pair"):
        layers.RandomZoom((0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match="rank"):
        layers.RandomRotation(0.1)(np.ones((2, 3)), training=True)
    with pytest.raises(ValueError, match="data_format"):
        layers.RandomFlip(data_format="nhwc")
    with pytest.raises(ValueError, match="positive integer"):
        layers.RandomCrop(0, 3)


@pytest.mark.parametrize(
    "layer",
    [
        layers.Rescaling(0.5, offset=1.0),
        layers.Normalization(axis=-1, mean=[1.0], variance=[2.0]),
        layers.RandomFlip("horizontal", seed=1),
        layers.RandomCrop(4, 5, seed=2, data_format="channels_first"),
        layers.RandomTranslation((-0.1, 0.2), 0.3, fill_mode="constant", fill_value=1.0),
        layers.RandomRotation((-0.2, 0.1), interpolation="nearest", seed=3),
        layers.RandomZoom(0.2, (0.1, 0.3), fill_mode="wrap"),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trip(layer):
    assert_config_round_trip(layer)


def test_config_keys_match_keras():
    config = layers.RandomRotation(0.2, seed=1).get_config()
    assert config["factor"] == [-0.2, 0.2]
    assert {"fill_mode", "fill_value", "interpolation", "seed", "data_format"} <= set(config)
    config = layers.RandomZoom(0.2).get_config()
    assert (config["height_factor"], config["width_factor"], config["fill_mode"]) == (
        0.2,
        None,
        "reflect",
    )
    assert layers.RandomFlip().get_config()["mode"] == "horizontal_and_vertical"


def test_augmentation_model_is_random_in_fit_only():
    engine.utils.set_random_seed(0)
    model = engine.Sequential(
        [
            engine.Input(shape=(8, 8, 3)),
            layers.Rescaling(1 / 255),
            layers.RandomFlip(),
            layers.RandomRotation(0.1),
            layers.RandomZoom(0.1),
            layers.RandomTranslation(0.1, 0.1),
            layers.RandomCrop(6, 6),
            layers.Flatten(),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = images(16, 8, 8, 3, dtype="uint8")
    y = rng.integers(0, 2, size=16)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
