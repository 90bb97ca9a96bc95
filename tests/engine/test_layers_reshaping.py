"""Reshaping layers: shapes (eager and symbolic), values, gradients, configs."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import layers
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients

rng = np.random.default_rng(0)


def data(*shape: int) -> np.ndarray:
    return rng.normal(size=shape).astype("float32")


# Flatten --------------------------------------------------------------------------------
def test_flatten_shapes_and_order():
    x = data(2, 3, 4, 5)
    out = layers.Flatten()(x)
    assert out.shape == (2, 60)
    np.testing.assert_array_equal(out.numpy(), x.reshape(2, -1))
    assert layers.Flatten()(data(3)).shape == (3, 1)
    assert layers.Flatten().compute_output_shape((None, 10, 64)) == (None, 640)
    assert layers.Flatten().compute_output_shape((None, None, 64)) == (None, None)
    assert layers.Flatten()(engine.Input(shape=(10, 64))).shape == (None, 640)


def test_flatten_channels_first_matches_channels_last_order():
    x = data(2, 3, 4, 5)
    first = layers.Flatten(data_format="channels_first")(x).numpy()
    np.testing.assert_array_equal(first, np.transpose(x, (0, 2, 3, 1)).reshape(2, -1))
    with pytest.raises(ValueError, match="data_format"):
        layers.Flatten(data_format="nhwc")


# Reshape --------------------------------------------------------------------------------
def test_reshape_shapes_and_inferred_axis():
    x = data(2, 12)
    np.testing.assert_array_equal(layers.Reshape((3, 4))(x).numpy(), x.reshape(2, 3, 4))
    assert layers.Reshape((-1, 2, 2))(x).shape == (2, 3, 2, 2)
    assert layers.Reshape((-1, 2, 2)).compute_output_shape((None, 12)) == (None, 3, 2, 2)
    assert layers.Reshape((-1, 4)).compute_output_shape((None, None)) == (None, None, 4)
    assert layers.Reshape((3, 4))(engine.Input(shape=(12,))).shape == (None, 3, 4)


def test_reshape_rejects_bad_targets():
    with pytest.raises(ValueError, match="at most one -1"):
        layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match="sizes must match"):
        layers.Reshape((5,))(data(2, 12))
    with pytest.raises(ValueError, match="divisible"):
        layers.Reshape((-1, 5))(data(2, 12))


# Permute --------------------------------------------------------------------------------
def test_permute_shapes_and_values():
    x = data(2, 3, 4, 5)
    out = layers.Permute((3, 1, 2))(x)
    np.testing.assert_array_equal(out.numpy(), np.transpose(x, (0, 3, 1, 2)))
    assert layers.Permute((2, 1))(engine.Input(shape=(10, 64))).shape == (None, 64, 10)
    assert layers.Permute((2, 1)).compute_output_shape((None, 10, 64)) == (None, 64, 10)


def test_permute_validates_dims_and_rank():
    with pytest.raises(ValueError, match="permutation"):
        layers.Permute((0, 1))
    with pytest.raises(ValueError, match="rank"):
        layers.Permute((2, 1))(data(2, 3, 4, 5))


# RepeatVector ---------------------------------------------------------------------------
def test_repeat_vector_shapes_and_values():
    x = data(2, 5)
    out = layers.RepeatVector(3)(x)
    assert out.shape == (2, 3, 5)
    np.testing.assert_array_equal(out.numpy(), np.repeat(x[:, None], 3, axis=1))
    assert layers.RepeatVector(3)(engine.Input(shape=(32,))).shape == (None, 3, 32)


def test_repeat_vector_validates():
    with pytest.raises(TypeError, match="integer"):
        layers.RepeatVector(2.5)
    with pytest.raises(ValueError, match="2D"):
        layers.RepeatVector(2)(data(2, 3, 4))


# Gradients and configs ------------------------------------------------------------------
@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda: layers.Flatten(), (2, 3, 4)),
        (lambda: layers.Flatten(data_format="channels_first"), (2, 3, 2, 2)),
        (lambda: layers.Reshape((-1, 3)), (2, 6, 2)),
        (lambda: layers.Permute((2, 3, 1)), (2, 3, 4, 2)),
        (lambda: layers.RepeatVector(4), (3, 5)),
    ],
    ids=["flatten", "flatten_cf", "reshape", "permute", "repeat_vector"],
)
def test_gradients(make, shape, float64):
    check_layer_gradients(make(), rng.normal(size=shape))


@pytest.mark.parametrize(
    "layer",
    [
        layers.Flatten(data_format="channels_first"),
        layers.Reshape((-1, 3)),
        layers.Permute((2, 1)),
        layers.RepeatVector(7),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trip(layer):
    assert_config_round_trip(layer)


def test_config_values_match_keras():
    assert layers.Flatten().get_config()["data_format"] == "channels_last"
    assert layers.Reshape((3, -1)).get_config()["target_shape"] == [3, -1]
    assert layers.Permute((2, 1)).get_config()["dims"] == [2, 1]
    assert layers.RepeatVector(3).get_config()["n"] == 3


def test_reshaping_layers_in_functional_model():
    inputs = engine.Input(shape=(4, 6))
    h = layers.Permute((2, 1))(inputs)
    h = layers.Reshape((-1,))(h)
    h = layers.RepeatVector(2)(h)
    outputs = layers.Flatten()(h)
    model = engine.Model(inputs, outputs)
    assert model.output_shape == (None, 48)
    x = data(3, 4, 6)
    expected = np.tile(np.transpose(x, (0, 2, 1)).reshape(3, 24), (1, 2))
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
    clone = engine.Model.from_config(model.get_config())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), expected)
