"""Functional and Sequential models: graphs, shapes, configs, freezing, summary."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import layers, ops
from engine.backend import KerasTensor


def test_input_is_symbolic_with_batch_axis():
    x = engine.Input(shape=(8,))
    assert isinstance(x, KerasTensor)
    assert x.shape == (None, 8)
    with pytest.raises(TypeError, match="no value"):
        np.asarray(x)


def test_functional_two_inputs_shared_layer_residual_two_outputs():
    a = engine.Input(shape=(4,), name="a")
    b = engine.Input(shape=(4,), name="b")
    shared = layers.Dense(4, name="shared")
    ha, hb = shared(a), shared(b)
    res = layers.Add()([ha, a])
    merged = layers.Concatenate()([res, hb])
    out1 = layers.Dense(1, name="reg")(merged)
    out2 = layers.Dense(3, activation="softmax", name="cls")(merged)
    model = engine.Model(inputs=[a, b], outputs=[out1, out2])
    assert [lyr.name for lyr in model.layers][:2] == ["a", "b"]
    assert len(shared._inbound_nodes) == 2
    assert model.output_names == ["reg", "cls"]
    xa = np.random.rand(5, 4).astype("float32")
    xb = np.random.rand(5, 4).astype("float32")
    p1, p2 = model.predict([xa, xb], verbose=0)
    assert p1.shape == (5, 1) and p2.shape == (5, 3)
    # dict inputs by name give the same result
    q1, _ = model.predict({"a": xa, "b": xb}, verbose=0)
    np.testing.assert_allclose(p1, q1)
    # the shared kernel is counted once
    assert model.count_params() == (16 + 4) + (8 + 1) + (24 + 3)


def test_functional_forward_matches_manual_numpy():
    inp = engine.Input(shape=(3,))
    dense = layers.Dense(2, activation="relu")
    model = engine.Model(inp, dense(inp))
    x = np.random.rand(4, 3).astype("float32")
    kernel, bias = dense.get_weights()
    np.testing.assert_allclose(model(x).numpy(), np.maximum(x @ kernel + bias, 0), rtol=1e-6)


def test_nested_model_inside_functional_and_sequential():
    inner_in = engine.Input(shape=(3,))
    inner = engine.Model(inner_in, layers.Dense(5, activation="tanh")(inner_in), name="inner")
    outer_in = engine.Input(shape=(3,))
    outer = engine.Model(outer_in, layers.Dense(2)(inner(outer_in)))
    assert outer.output_shape == (None, 2)
    assert len(outer.weights) == 4
    seq = engine.Sequential([inner, layers.Dense(1)])
    assert seq(np.ones((2, 3), "float32")).shape == (2, 1)


def test_sequential_lazy_build_add_pop():
    model = engine.Sequential()
    model.add(layers.Dense(8, activation="relu"))
    model.add(layers.Dense(2))
    assert not model.built
    with pytest.raises(AttributeError, match="input_shape"):
        _ = model.output_shape
    out = model(np.ones((3, 5), "float32"))
    assert out.shape == (3, 2)
    assert model.built and model.output_shape == (None, 2)
    popped = model.pop()
    assert popped.name.startswith("dense")
    assert model.output_shape == (None, 8)
    assert len(model.layers) == 1


def test_sequential_with_input_shape_builds_at_once_and_input_object():
    model = engine.Sequential([layers.Dense(4, input_shape=(10,)), layers.Dense(1)])
    assert model.built and model.input_shape == (None, 10)
    model2 = engine.Sequential([engine.Input(shape=(6,)), layers.Dense(3)])
    assert model2.output_shape == (None, 3)
    assert len(model2.layers) == 1


def test_wrong_input_shape_is_a_clear_error():
    model = engine.Sequential([layers.Dense(4, input_shape=(10,))])
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 10\)"):
        model.predict(np.ones((2, 7), "float32"), verbose=0)


def test_unknown_layer_kwarg_is_a_type_error():
    with pytest.raises(TypeError, match="unexpected keyword"):
        layers.Dense(3, unitz=4)


def test_get_layer_and_config_round_trip_keeps_weights_layout():
    inp = engine.Input(shape=(4,))
    h = layers.Dense(3, name="hidden", activation="relu")(inp)
    model = engine.Model(inp, layers.Dense(2, name="head")(h), name="net")
    assert model.get_layer("hidden").units == 3
    assert model.get_layer(index=-1).name == "head"
    with pytest.raises(ValueError, match="No layer named"):
        model.get_layer("nope")
    clone = engine.Model.from_config(model.get_config())
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    assert clone.name == "net" and clone.get_layer("hidden").activation is not None
    seq = engine.Sequential([layers.Dense(3, input_shape=(2,)), layers.Dense(1)])
    seq2 = engine.Sequential.from_config(seq.get_config())
    assert seq2.input_shape == (None, 2) and len(seq2.weights) == 4


def test_get_set_weights_order_and_errors():
    model = engine.Sequential([layers.Dense(3, input_shape=(2,)), layers.Dense(1)])
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(2, 3), (3,), (3, 1), (1,)]
    new = [np.full(s, i, dtype="float32") for i, s in enumerate(shapes)]
    model.set_weights(new)
    assert all((a == b).all() for a, b in zip(model.get_weights(), new))
    with pytest.raises(ValueError, match="expects 4 weight arrays"):
        model.set_weights(new[:2])


def test_trainable_flag_moves_weights_between_lists():
    model = engine.Sequential([layers.Dense(3, input_shape=(2,)), layers.Dense(1)])
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 2
    assert len(model.non_trainable_weights) == 2
    model.trainable = False
    assert model.trainable_weights == []


def test_summary_lists_layers_shapes_and_param_totals():
    model = engine.Sequential(
        [layers.Dense(256, activation="relu", input_shape=(784,)), layers.Dense(10)], name="mlp"
    )
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "mlp"' in text
    assert "(None, 256)" in text and "(None, 10)" in text
    assert "200,960" in text and "2,570" in text
    assert "Total params: 203,530" in text
    assert "Trainable params: 203,530" in text
    assert "Non-trainable params: 0" in text


def test_custom_layer_from_ops_trains_without_backward_code():
    class Scale(engine.layers.Layer):
        def build(self, input_shape):
            self.s = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="s")
            self.b = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="b")

        def call(self, x):
            return ops.tanh(x * self.s) + self.b

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 3)).astype("float32")
    y = np.tanh(x * np.array([2.0, -1.0, 0.5], "float32")) + 0.25
    model = engine.Sequential([Scale(input_shape=(3,))])
    model.compile(optimizer=engine.optimizers.Adam(0.05), loss="mse")
    history = model.fit(x, y, epochs=60, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < 0.01 * history.history["loss"][0]
    np.testing.assert_allclose(np.abs(model.layers[0].s.numpy()), [2.0, 1.0, 0.5], atol=0.1)


def test_subclassed_model_trains():
    class TwoLayer(engine.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(16, activation="relu")
            self.out = layers.Dense(1)

        def call(self, x, training=False):
            return self.out(self.hidden(x))

    model = TwoLayer()
    x = np.random.rand(128, 2).astype("float32")
    y = (x[:, :1] - x[:, 1:]) * 2
    model.compile(optimizer="adam", loss="mse")
    hist = model.fit(x, y, epochs=30, verbose=0)
    assert len(model.weights) == 4
    assert hist.history["loss"][-1] < hist.history["loss"][0]
