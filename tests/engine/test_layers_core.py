"""Core layers `Identity` and `Lambda`: behaviour, shapes, masks, saving rules."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import layers, ops
from engine.backend import Tensor
from engine.saving import register_keras_serializable
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients

rng = np.random.default_rng(0)


def data(*shape: int) -> np.ndarray:
    return rng.normal(size=shape).astype("float32")


def cube(x):
    """A module-level function: Lambda saves it by module and name."""
    return ops.multiply(ops.multiply(x, x), x)


def scaled(x, factor=1.0):
    return ops.multiply(x, factor)


@register_keras_serializable(package="test_layers_core")
def swap_halves(x):
    half = x.shape[-1] // 2
    return ops.concatenate([x[:, half:], x[:, :half]], axis=-1)


def first_step_mask(inputs, mask=None):
    return np.asarray(inputs)[..., 0] > 0


# Identity -------------------------------------------------------------------------------
def test_identity_returns_inputs_and_keeps_mask():
    x = Tensor(data(2, 3, 4))
    x._keras_mask = np.array([[True, False, True]] * 2)
    out = layers.Identity()(x)
    np.testing.assert_array_equal(out.numpy(), x.numpy())
    np.testing.assert_array_equal(out._keras_mask, x._keras_mask)
    assert layers.Identity().compute_output_shape((None, 3)) == (None, 3)


def test_identity_symbolic_keeps_dtype_and_structure():
    ids = engine.Input(shape=(5,), dtype="int32")
    out = layers.Identity()(ids)
    assert out.shape == (None, 5)
    assert out.dtype == np.int32
    pair = layers.Identity()([engine.Input((2,)), engine.Input((3,))])
    assert [t.shape for t in pair] == [(None, 2), (None, 3)]


def test_identity_gradient_and_config(float64):
    check_layer_gradients(layers.Identity(), rng.normal(size=(2, 3)))
    assert_config_round_trip(layers.Identity(name="skip"))


# Lambda: calling ------------------------------------------------------------------------
def test_lambda_applies_function_with_arguments():
    layer = layers.Lambda(scaled, arguments={"factor": 3.0})
    x = data(2, 3)
    np.testing.assert_allclose(layer(x).numpy(), 3 * x, rtol=1e-6)


def test_lambda_passes_training_and_mask_when_asked():
    seen = {}

    def fn(x, training=None, mask=None):
        seen.update(training=training, mask=mask)
        return x

    layer = layers.Lambda(fn)
    x = Tensor(data(2, 3, 1))
    x._keras_mask = np.array([[True, False, True]] * 2)
    layer(x, training=True)
    assert seen["training"] is True
    np.testing.assert_array_equal(seen["mask"], x._keras_mask)


def test_lambda_output_shape_forms():
    x = engine.Input(shape=(6,))
    assert layers.Lambda(lambda t: ops.reshape(t, (-1, 2, 3)), output_shape=(2, 3))(x).shape == (
        None,
        2,
        3,
    )
    inferred = layers.Lambda(lambda t: ops.reshape(t, (-1, 3, 2)))(x)
    assert inferred.shape == (None, 3, 2)
    by_fn = layers.Lambda(lambda t: t, output_shape=lambda s: (s[0], 99))
    assert by_fn.compute_output_shape((None, 6)) == (None, 99)
    casted = layers.Lambda(lambda t: ops.cast(t, "int32"))(x)
    assert casted.dtype == np.int32


def test_lambda_mask_argument():
    callable_mask = layers.Lambda(lambda t: t, mask=first_step_mask)
    out = callable_mask(np.array([[[1.0], [-1.0]]], "float32"))
    np.testing.assert_array_equal(out._keras_mask, [[True, False]])
    constant = layers.Lambda(lambda t: t, mask=np.array([True, False]))
    np.testing.assert_array_equal(constant(data(1, 2))._keras_mask, [True, False])
    assert layers.Lambda(lambda t: t)(data(1, 2))._keras_mask is None


def test_lambda_gradients(float64):
    check_layer_gradients(layers.Lambda(cube), rng.normal(size=(2, 3)))
    check_layer_gradients(layers.Lambda(scaled, arguments={"factor": -2.0}), rng.normal(size=(4,)))


def test_lambda_rejects_non_callable():
    with pytest.raises(TypeError, match="callable"):
        layers.Lambda(3)


# Lambda: saving -------------------------------------------------------------------------
def test_lambda_with_python_lambda_cannot_be_saved():
    layer = layers.Lambda(lambda x: x * 2, name="double")
    with pytest.raises(ValueError, match="cannot be saved") as err:
        layer.get_config()
    message = str(err.value)
    assert "'double'" in message
    assert "register_keras_serializable" in message
    assert "Layer subclass" in message


def test_lambda_with_local_function_cannot_be_saved():
    def local(x):
        return x

    with pytest.raises(ValueError, match="cannot be saved"):
        layers.Lambda(local).get_config()
    with pytest.raises(ValueError, match="output_shape"):
        layers.Lambda(cube, output_shape=lambda s: s).get_config()


def test_model_save_surfaces_lambda_message(tmp_path):
    inputs = engine.Input(shape=(3,))
    model = engine.Model(inputs, layers.Lambda(lambda x: x + 1.0)(inputs))
    with pytest.raises(ValueError, match="wraps a Python function"):
        model.save(str(tmp_path / "m.keras"))


def test_lambda_module_level_function_round_trip():
    layer = layers.Lambda(scaled, output_shape=(3,), arguments={"factor": 0.5})
    config = layer.get_config()
    assert config["function"]["config"] == "scaled"
    assert config["output_shape"] == [3]
    clone = assert_config_round_trip(layer)
    assert clone.function is scaled
    assert clone.arguments == {"factor": 0.5}
    assert clone._output_shape == (3,)


def test_lambda_registered_function_and_mask_round_trip():
    layer = layers.Lambda(swap_halves, mask=np.array([True, False]))
    clone = assert_config_round_trip(layer)
    assert clone.function is swap_halves
    np.testing.assert_array_equal(clone.mask, [True, False])
    assert (
        layers.Lambda(cube, mask=first_step_mask).get_config()["mask"]["config"]
        == "first_step_mask"
    )


def test_lambda_model_save_and_load(tmp_path):
    inputs = engine.Input(shape=(4,))
    h = layers.Lambda(swap_halves)(inputs)
    outputs = layers.Dense(2)(layers.Lambda(cube)(h))
    model = engine.Model(inputs, outputs)
    x = data(3, 4)
    path = str(tmp_path / "lambda.keras")
    model.save(path)
    restored = engine.models.load_model(path)
    np.testing.assert_allclose(
        restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6
    )


def test_lambda_unknown_function_on_load_is_clear():
    config = layers.Lambda(cube).get_config()
    config["function"] = dict(
        config["function"], module="tests.engine.test_layers_core", config="gone"
    )
    config["function"]["registered_name"] = "gone"
    with pytest.raises(ValueError, match="Cannot find the Lambda function 'gone'"):
        layers.Lambda.from_config(config)


def test_core_layers_in_sequential():
    model = engine.Sequential(
        [layers.Identity(input_shape=(4,)), layers.Lambda(cube), layers.Dense(2), layers.Identity()]
    )
    assert model.output_shape == (None, 2)
    assert model.predict(data(3, 4), verbose=0).shape == (3, 2)


@pytest.mark.parametrize(
    "alias, cls",
    [
        ("MaxPool2D", "MaxPooling2D"),
        ("AvgPool1D", "AveragePooling1D"),
        ("GlobalAvgPool2D", "GlobalAveragePooling2D"),
        ("Convolution2D", "Conv2D"),
    ],
)
def test_deserialize_accepts_keras_alias_class_names(alias, cls):
    # Keras configs may name a layer by an alias; it must load as the same class.
    from engine import layers as L

    original = getattr(L, cls)(**({"filters": 2, "kernel_size": 3} if "Conv" in cls else {}))
    config = {"class_name": alias, "config": original.get_config()}
    restored = L.deserialize(config)
    assert type(restored) is getattr(L, cls)
    assert restored.get_config() == original.get_config()
