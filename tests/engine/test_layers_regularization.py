"""Regularization layers: training-only behaviour, scaling, seeding, penalties, gradients."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import layers
from engine.backend.random import SeedGenerator
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients

rng = np.random.default_rng(0)


def ones(*shape: int) -> np.ndarray:
    return np.ones(shape, "float32")


# Dropout --------------------------------------------------------------------------------
def test_dropout_is_identity_outside_training():
    x = rng.normal(size=(8, 16)).astype("float32")
    layer = layers.Dropout(0.5)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)


def test_dropout_inverted_scaling_in_training():
    layer = layers.Dropout(0.25, seed=3)
    out = layer(ones(200, 50), training=True).numpy()
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    assert abs(1 - kept.mean() - 0.25) < 0.02
    # The scaling keeps the expected activation unchanged.
    assert abs(out.mean() - 1.0) < 0.03
    assert out.dtype == np.float32


def test_dropout_rate_zero_is_identity_and_rate_one_drops_everything():
    x = rng.normal(size=(4, 5)).astype("float32")
    np.testing.assert_array_equal(layers.Dropout(0.0)(x, training=True).numpy(), x)
    np.testing.assert_array_equal(layers.Dropout(1.0)(x, training=True).numpy(), 0)


def test_dropout_seeded_is_reproducible():
    a = layers.Dropout(0.5, seed=42)(ones(6, 7), training=True).numpy()
    b = layers.Dropout(0.5, seed=42)(ones(6, 7), training=True).numpy()
    c = layers.Dropout(0.5, seed=43)(ones(6, 7), training=True).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dropout_unseeded_follows_set_random_seed():
    engine.utils.set_random_seed(7)
    a = layers.Dropout(0.5)(ones(6, 7), training=True).numpy()
    engine.utils.set_random_seed(7)
    b = layers.Dropout(0.5)(ones(6, 7), training=True).numpy()
    np.testing.assert_array_equal(a, b)


def test_dropout_successive_calls_draw_new_masks():
    layer = layers.Dropout(0.5, seed=1)
    a = layer(ones(10, 10), training=True).numpy()
    b = layer(ones(10, 10), training=True).numpy()
    assert not np.array_equal(a, b)


def test_dropout_noise_shape_shares_mask_over_axis():
    layer = layers.Dropout(0.5, noise_shape=(None, 1, 6), seed=0)
    out = layer(ones(3, 4, 6), training=True).numpy()
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1, :], out.shape))
    assert 0 < (out == 0).mean() < 1
    with pytest.raises(ValueError, match="noise_shape"):
        layers.Dropout(0.5, noise_shape=(None, 6))(ones(3, 4, 6), training=True)


def test_dropout_gradient_is_the_scaled_mask(float64):
    layer = layers.Dropout(0.4, seed=0)
    check_layer_gradients(
        layer,
        rng.normal(size=(3, 5)),
        training=True,
        before_call=lambda: setattr(layer, "seed_generator", SeedGenerator(5)),
    )


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_dropout_rejects_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(rate)


# Gaussian noise / dropout ---------------------------------------------------------------
def test_gaussian_noise_inference_identity_and_training_noise():
    x = rng.normal(size=(500, 40)).astype("float32")
    layer = layers.GaussianNoise(0.5, seed=0)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    noise = layer(x, training=True).numpy() - x
    assert noise.dtype == np.float32
    assert abs(noise.mean()) < 0.01
    assert abs(noise.std() - 0.5) < 0.01


def test_gaussian_dropout_inference_identity_and_training_noise():
    x = ones(500, 40)
    layer = layers.GaussianDropout(0.2, seed=0)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    out = layer(x, training=True).numpy()
    assert out.dtype == np.float32
    assert abs(out.mean() - 1.0) < 0.01
    assert abs(out.std() - np.sqrt(0.2 / 0.8)) < 0.01


def test_gaussian_layers_seeded_reproducible():
    for make in (
        lambda: layers.GaussianNoise(0.3, seed=9),
        lambda: layers.GaussianDropout(0.3, seed=9),
    ):
        a = make()(ones(4, 4), training=True).numpy()
        b = make()(ones(4, 4), training=True).numpy()
        np.testing.assert_array_equal(a, b)


def test_gaussian_noise_gradient_passes_through(float64):
    layer = layers.GaussianNoise(0.3)
    check_layer_gradients(
        layer,
        rng.normal(size=(3, 4)),
        training=True,
        before_call=lambda: setattr(layer, "seed_generator", SeedGenerator(1)),
    )


def test_gaussian_dropout_gradient(float64):
    layer = layers.GaussianDropout(0.3)
    check_layer_gradients(
        layer,
        rng.normal(size=(3, 4)),
        training=True,
        before_call=lambda: setattr(layer, "seed_generator", SeedGenerator(1)),
    )


def test_gaussian_layers_reject_bad_arguments():
    with pytest.raises(ValueError, match="stddev"):
        layers.GaussianNoise(-1.0)
    with pytest.raises(ValueError, match="rate"):
        layers.GaussianDropout(2.0)


# Activity regularization ----------------------------------------------------------------
def test_activity_regularization_adds_penalty_and_passes_values():
    x = np.array([[1.0, -2.0], [0.5, 0.0]], "float32")
    layer = layers.ActivityRegularization(l1=0.1, l2=0.01)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    assert len(layer.losses) == 1
    expected = 0.1 * np.abs(x).sum() + 0.01 * np.square(x).sum()
    assert float(layer.losses[0]) == pytest.approx(expected, rel=1e-6)


def test_activity_regularization_penalty_gradient(float64):
    layer = layers.ActivityRegularization(l1=0.0, l2=0.5)
    x = engine.backend.Tensor(rng.normal(size=(2, 3)))
    with engine.GradientTape() as tape:
        tape.watch(x)
        layer(x)
        penalty = layer.losses[-1]
    np.testing.assert_allclose(tape.gradient(penalty, x), 0.5 * 2 * x.numpy())


# Configs and models ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "layer",
    [
        layers.Dropout(0.3, noise_shape=(None, 1, 4), seed=5),
        layers.Dropout(0.1),
        layers.GaussianNoise(0.2, seed=1),
        layers.GaussianDropout(0.4, seed=2),
        layers.ActivityRegularization(l1=0.01, l2=0.02),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trip(layer):
    assert_config_round_trip(layer)


def test_config_keys_match_keras():
    config = layers.Dropout(0.3, seed=1).get_config()
    assert (config["rate"], config["seed"], config["noise_shape"]) == (0.3, 1, None)
    config = layers.ActivityRegularization(l1=0.5).get_config()
    assert "activity_regularizer" not in config
    assert (config["l1"], config["l2"]) == (0.5, 0.0)


def test_dropout_in_model_active_only_in_fit():
    engine.utils.set_random_seed(0)
    inputs = engine.Input(shape=(20,))
    outputs = layers.Dropout(0.5)(inputs)
    model = engine.Model(inputs, outputs)
    x = ones(4, 20)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(model(x).numpy(), x)
    trained = model(x, training=True).numpy()
    assert set(np.unique(trained).tolist()) == {0.0, 2.0}
