"""Activation layers: values, gradients (numeric and PyTorch), masks, configs and weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import engine
from engine import layers
from tests.engine.layer_checks import assert_config_round_trip, away_from, check_layer_gradients

rng = np.random.default_rng(0)


def sample(*shape: int) -> np.ndarray:
    return rng.normal(size=shape) * 2


# Values ---------------------------------------------------------------------------------
def test_relu_keras_doc_values():
    layer = layers.ReLU(max_value=10, negative_slope=0.5, threshold=0)
    out = layer(np.array([-10.0, -5.0, 0.0, 5.0, 10.0], "float32")).numpy()
    np.testing.assert_allclose(out, [-5.0, -2.5, 0.0, 5.0, 10.0])


def test_relu_threshold_and_cap():
    x = np.array([-1.0, 0.5, 1.0, 1.5, 3.0, 7.0], "float32")
    out = layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=1.0)(x).numpy()
    # Above the threshold: x capped at max_value; below: slope * (x - threshold).
    np.testing.assert_allclose(out, [-0.2, -0.05, 0.0, 1.5, 2.0, 2.0], rtol=1e-6)


def test_leaky_relu_defaults_to_keras3_slope():
    layer = layers.LeakyReLU()
    assert layer.negative_slope == 0.3
    np.testing.assert_allclose(layer(np.array([-10.0, 5.0], "float32")).numpy(), [-3.0, 5.0])


def test_leaky_relu_accepts_deprecated_alpha():
    with pytest.warns(UserWarning, match="negative_slope"):
        layer = layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1


def test_elu_values():
    out = layers.ELU(alpha=0.5)(np.array([-1.0, 0.0, 2.0], "float32")).numpy()
    np.testing.assert_allclose(out, [0.5 * (np.exp(-1) - 1), 0.0, 2.0], rtol=1e-6)


def test_activation_layer_by_name_and_callable():
    x = np.array([-3.0, -1.0, 0.0, 2.0], "float32")
    np.testing.assert_allclose(layers.Activation("relu")(x).numpy(), [0, 0, 0, 2])
    np.testing.assert_allclose(
        layers.Activation(engine.activations.sigmoid)(x).numpy(), 1 / (1 + np.exp(-x)), rtol=1e-6
    )


def test_softmax_values_and_axes():
    x = np.array([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]], "float32")
    expected = [0.21194157, 0.5761169, 0.21194157]
    np.testing.assert_allclose(layers.Softmax()(x).numpy(), [expected, expected], rtol=1e-6)
    out = layers.Softmax(axis=(0, 1))(x).numpy()
    assert out.sum() == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(out, np.exp(x) / np.exp(x).sum(), rtol=1e-6)


def test_softmax_mask_zeroes_masked_positions():
    x = np.array([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]], "float32")
    mask = np.array([[1, 0, 1], [0, 1, 0]])
    out = layers.Softmax(axis=(1, 0))(x, mask=mask).numpy()
    np.testing.assert_allclose(
        out, [[0.21194154, 0.0, 0.21194154], [0.0, 0.57611686, 0.0]], rtol=1e-6
    )
    row = layers.Softmax()(np.array([1.0, 2.0, 1.0], "float32"), mask=np.array([True, False, True]))
    np.testing.assert_allclose(row.numpy(), [0.5, 0.0, 0.5])


def test_softmax_uses_mask_from_previous_layer():
    x = engine.backend.Tensor(np.array([[1.0, 5.0, 1.0]], "float32"))
    x._keras_mask = np.array([[True, False, True]])
    out = layers.Softmax()(x)
    np.testing.assert_allclose(out.numpy(), [[0.5, 0.0, 0.5]])
    np.testing.assert_array_equal(out._keras_mask, [[True, False, True]])


def test_activation_layers_keep_float32():
    x = sample(4, 5).astype("float32")
    for layer in [
        layers.ReLU(max_value=1.0, threshold=0.5, negative_slope=0.1),
        layers.LeakyReLU(),
        layers.PReLU(),
        layers.ELU(),
        layers.Softmax(),
        layers.Softmax(axis=[0, 1]),
        layers.Activation("tanh"),
    ]:
        assert layer(x).dtype == np.float32, type(layer).__name__
    assert layers.Softmax()(x, mask=np.ones((4, 5), bool)).dtype == np.float32


# PReLU weights --------------------------------------------------------------------------
def test_prelu_alpha_shape_and_shared_axes():
    layer = layers.PReLU()
    layer(np.zeros((2, 5, 6, 3), "float32"))
    assert [w.name for w in layer.weights] == ["alpha"]
    assert layer.alpha.shape == (5, 6, 3)
    np.testing.assert_array_equal(layer.get_weights()[0], 0)
    shared = layers.PReLU(shared_axes=[1, 2])
    shared(np.zeros((2, 5, 6, 3), "float32"))
    assert shared.get_weights()[0].shape == (1, 1, 3)
    single = layers.PReLU(shared_axes=1)
    single.build((None, 4, 3))
    assert single.alpha.shape == (1, 3)


def test_prelu_computes_alpha_times_negative_part():
    layer = layers.PReLU(alpha_initializer=engine.initializers.Constant(0.25), shared_axes=[1])
    x = np.array([[[-4.0, 2.0], [1.0, -8.0]]], "float32")
    np.testing.assert_allclose(layer(x).numpy(), [[[-1.0, 2.0], [1.0, -2.0]]])


def test_prelu_rejects_unknown_unshared_axis():
    with pytest.raises(ValueError, match="shared_axes"):
        layers.PReLU().build((None, None, 3))


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="max_value"):
        layers.ReLU(max_value=-1)
    with pytest.raises(ValueError, match="negative_slope"):
        layers.ReLU(negative_slope=-0.1)
    with pytest.raises(ValueError, match="threshold"):
        layers.ReLU(threshold=-1)
    with pytest.raises(ValueError, match="negative_slope"):
        layers.LeakyReLU(negative_slope=-1)


# Configs --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "layer",
    [
        layers.Activation("gelu"),
        layers.ReLU(max_value=6.0, negative_slope=0.1, threshold=0.5),
        layers.LeakyReLU(negative_slope=0.05),
        layers.PReLU(alpha_initializer="ones", alpha_regularizer="l2", shared_axes=[1, 2]),
        layers.ELU(alpha=0.7),
        layers.Softmax(axis=[1, 2]),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trip(layer):
    clone = assert_config_round_trip(layer)
    x = sample(2, 3, 4).astype("float32")
    np.testing.assert_allclose(clone(x).numpy(), layer(x).numpy())


def test_config_keys_match_keras():
    assert {"max_value", "negative_slope", "threshold"} <= set(layers.ReLU().get_config())
    assert layers.LeakyReLU().get_config()["negative_slope"] == 0.3
    config = layers.PReLU(shared_axes=(1,)).get_config()
    assert config["shared_axes"] == [1]
    assert config["alpha_initializer"]["class_name"] == "Zeros"
    assert layers.ELU().get_config()["alpha"] == 1.0
    assert layers.Softmax().get_config()["axis"] == -1


# Numeric gradient checks ----------------------------------------------------------------
@pytest.mark.parametrize(
    "make,kinks",
    [
        (lambda: layers.ReLU(), [0.0]),
        (lambda: layers.ReLU(max_value=1.5, negative_slope=0.2, threshold=0.5), [0.5, 1.5]),
        (lambda: layers.ReLU(max_value=6.0), [0.0, 6.0]),
        (lambda: layers.LeakyReLU(negative_slope=0.1), [0.0]),
        (lambda: layers.ELU(alpha=0.7), [0.0]),
        (lambda: layers.Activation("tanh"), []),
        (lambda: layers.Softmax(), []),
        (lambda: layers.Softmax(axis=1), []),
        (lambda: layers.Softmax(axis=[1, 2]), []),
    ],
    ids=["relu", "relu_capped", "relu6", "leaky", "elu", "activation", "softmax", "sm1", "sm12"],
)
def test_gradients(make, kinks, float64):
    check_layer_gradients(make(), away_from(sample(2, 3, 4), kinks))


def test_softmax_gradient_with_mask(float64):
    mask = rng.random((2, 3, 4)) > 0.3
    check_layer_gradients(layers.Softmax(), sample(2, 3, 4), call_kwargs={"mask": mask})


@pytest.mark.parametrize("shared_axes", [None, [1], [1, 2]])
def test_prelu_gradients(shared_axes, float64):
    layer = layers.PReLU(
        alpha_initializer=engine.initializers.RandomUniform(0.1, 0.5), shared_axes=shared_axes
    )
    check_layer_gradients(layer, away_from(sample(3, 4, 2), [0.0]))


# PyTorch oracle -------------------------------------------------------------------------
def _torch_check(layer, torch_fn, x, **call_kwargs):
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x, requires_grad=True)
    ty = torch_fn(tx)
    g = rng.normal(size=ty.shape).astype("float32")
    ty.backward(torch.tensor(g))
    t = engine.backend.Tensor(x.copy())
    with engine.GradientTape() as tape:
        tape.watch(t)
        y = layer(t, **call_kwargs)
        total = engine.ops.sum(engine.ops.multiply(y, g))
    grad = tape.gradient(total, t)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_relu_family_against_torch():
    torch = pytest.importorskip("torch")
    x = away_from(sample(4, 6), [0.0, 6.0]).astype("float32")
    _torch_check(layers.ReLU(), torch.relu, x)
    _torch_check(layers.ReLU(max_value=6.0), torch.nn.functional.relu6, x)
    _torch_check(
        layers.LeakyReLU(), lambda t: torch.nn.functional.leaky_relu(t, negative_slope=0.3), x
    )
    _torch_check(layers.ELU(alpha=0.7), lambda t: torch.nn.functional.elu(t, alpha=0.7), x)


def test_softmax_against_torch():
    torch = pytest.importorskip("torch")
    x = sample(3, 4, 5).astype("float32")
    _torch_check(layers.Softmax(), lambda t: torch.softmax(t, dim=-1), x)
    _torch_check(layers.Softmax(axis=1), lambda t: torch.softmax(t, dim=1), x)
    mask = rng.random((3, 4, 5)) > 0.3
    mask[..., 0] = True
    tmask = torch.tensor(mask)
    _torch_check(
        layers.Softmax(),
        lambda t: torch.softmax(t.masked_fill(~tmask, float("-inf")), dim=-1),
        x,
        mask=mask,
    )


def test_prelu_against_torch():
    torch = pytest.importorskip("torch")
    x = away_from(sample(2, 3, 4, 5), [0.0]).astype("float32")
    alpha = rng.uniform(0.05, 0.5, size=(5,)).astype("float32")
    layer = layers.PReLU(shared_axes=[1, 2])
    layer.build(x.shape)
    layer.set_weights([alpha.reshape(1, 1, 5)])
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(alpha, requires_grad=True)
    # torch.nn.PReLU is channels-first; move the channel axis there and back.
    ty = torch.nn.functional.prelu(tx.permute(0, 3, 1, 2), tw).permute(0, 2, 3, 1)
    g = rng.normal(size=x.shape).astype("float32")
    ty.backward(torch.tensor(g))
    t = engine.backend.Tensor(x.copy())
    with engine.GradientTape() as tape:
        tape.watch(t)
        total = engine.ops.sum(engine.ops.multiply(layer(t), g))
    gx, galpha = tape.gradient(total, [t, layer.alpha])
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(galpha.reshape(-1), tw.grad.numpy(), rtol=1e-4, atol=1e-5)


# In a model -----------------------------------------------------------------------------
def test_activation_layers_in_functional_model():
    inputs = engine.Input(shape=(6,))
    h = layers.Dense(8)(inputs)
    h = layers.PReLU()(h)
    h = layers.LeakyReLU()(h)
    h = layers.ReLU(max_value=6.0)(h)
    h = layers.ELU()(h)
    outputs = layers.Softmax()(layers.Dense(3)(h))
    model = engine.Model(inputs, outputs)
    assert model.output_shape == (None, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probs = model.predict(sample(5, 6).astype("float32"), verbose=0)
    assert probs.shape == (5, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    clone = engine.Model.from_config(model.get_config())
    assert [type(layer).__name__ for layer in clone.layers] == [
        type(layer).__name__ for layer in model.layers
    ]
