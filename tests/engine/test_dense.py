"""`Dense`: weight layout, values, gradients with every activation, PyTorch oracle, configs."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import engine
from engine import activations, layers
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients

rng = np.random.default_rng(0)


def data(*shape: int) -> np.ndarray:
    return rng.normal(size=shape).astype("float32")


def _takes_only_inputs(fn) -> bool:
    params = list(inspect.signature(fn).parameters.values())[1:]
    return all(p.default is not inspect.Parameter.empty for p in params)


ACTIVATIONS = sorted(
    name for name, fn in activations.ALL_OBJECTS_DICT.items() if _takes_only_inputs(fn)
)


def test_weight_layout_matches_keras():
    layer = layers.Dense(4)
    layer.build((None, 3))
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert [w.shape for w in layer.get_weights()] == [(3, 4), (4,)]
    np.testing.assert_array_equal(layer.bias.numpy(), 0)
    assert layer.count_params() == 16
    no_bias = layers.Dense(4, use_bias=False)
    no_bias.build((None, 3))
    assert [w.name for w in no_bias.weights] == ["kernel"]


def test_values_on_any_rank():
    layer = layers.Dense(5, activation="relu")
    x = data(2, 3, 4)
    out = layer(x)
    kernel, bias = layer.get_weights()
    assert out.shape == (2, 3, 5)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None, 7, 4)) == (None, 7, 5)
    assert layers.Dense(5)(engine.Input(shape=(3, 4))).shape == (None, 3, 5)


def test_invalid_units_and_unknown_input_dim():
    with pytest.raises(ValueError, match="units"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="last input dimension"):
        layers.Dense(2).build((None, None))


def test_activity_regularizer_adds_a_loss():
    layer = layers.Dense(2, activity_regularizer="l2", kernel_regularizer="l1")
    layer(data(3, 4))
    assert len(layer.losses) == 2


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_with_each_activation(activation, float64):
    layer = layers.Dense(4, activation=activation, bias_initializer="random_normal")
    check_layer_gradients(layer, rng.normal(size=(3, 5)), atol=1e-5, rtol=1e-4)


def test_gradients_without_bias_and_rank3(float64):
    check_layer_gradients(layers.Dense(3, use_bias=False), rng.normal(size=(2, 4, 5)))
    check_layer_gradients(layers.Dense(2, activation="tanh"), rng.normal(size=(2, 3, 4)))


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid", "softmax"])
def test_matches_torch_linear(activation):
    torch = pytest.importorskip("torch")
    x = data(6, 5)
    layer = layers.Dense(3, activation=activation, bias_initializer="random_normal")
    layer.build(x.shape)
    kernel, bias = layer.get_weights()
    linear = torch.nn.Linear(5, 3)
    with torch.no_grad():
        # Keras keeps the kernel as (in, out); torch's weight is (out, in).
        linear.weight.copy_(torch.tensor(kernel.T))
        linear.bias.copy_(torch.tensor(bias))
    torch_act = {
        None: lambda t: t,
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "softmax": lambda t: torch.softmax(t, dim=-1),
    }[activation]
    tx = torch.tensor(x, requires_grad=True)
    ty = torch_act(linear(tx))
    g = data(6, 3)
    ty.backward(torch.tensor(g))

    t = engine.backend.Tensor(x.copy())
    with engine.GradientTape() as tape:
        tape.watch(t)
        y = layer(t)
        total = engine.ops.sum(engine.ops.multiply(y, g))
    gx, gk, gb = tape.gradient(total, [t, layer.kernel, layer.bias])
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gk, linear.weight.grad.numpy().T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gb, linear.bias.grad.numpy(), rtol=1e-5, atol=1e-5)
    assert gk.dtype == np.float32


def test_config_round_trip():
    layer = layers.Dense(
        7,
        activation="gelu",
        use_bias=False,
        kernel_initializer="he_normal",
        kernel_regularizer="l2",
        activity_regularizer="l1",
        kernel_constraint="max_norm",
        name="proj",
    )
    clone = assert_config_round_trip(layer)
    assert clone.units == 7
    config = layer.get_config()
    assert config["activation"] == "gelu"
    assert config["use_bias"] is False


def test_dense_in_functional_model_trains():
    inputs = engine.Input(shape=(4,))
    outputs = layers.Dense(1)(layers.Dense(8, activation="relu")(inputs))
    model = engine.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    x = data(32, 4)
    y = x.sum(axis=1, keepdims=True)
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4)])
def test_fused_relu_equals_dense_then_relu(shape, float64):
    from engine import ops
    from engine.backend import GradientTape, Tensor
    from tests.engine.gradcheck import check_gradients

    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=shape), rng.normal(size=(4, 6)), rng.normal(size=6)
    check_gradients(lambda x, w, b: ops.dense(x, w, b, activation="relu"), x, w, b)
    g = rng.normal(size=(*shape[:-1], 6))
    results = []
    for fn in (
        lambda x, w, b: ops.dense(x, w, b, activation="relu"),
        lambda x, w, b: ops.relu(ops.dense(x, w, b)),
    ):
        tensors = [Tensor(a) for a in (x, w, b)]
        with GradientTape() as tape:
            tape.watch(tensors)
            out = fn(*tensors)
            total = ops.sum(ops.multiply(out, g))
        results.append([np.asarray(out.value), *tape.gradient(total, tensors)])
    for fused, plain in zip(*results):
        np.testing.assert_allclose(fused, plain, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="only activation='relu'"):
        ops.dense(x, w, b, activation="tanh")
