"""`Embedding` and `Masking`: lookups, accumulated gradients, masks, configs."""

from __future__ import annotations

import warnings
from unittest import mock

import numpy as np
import pytest

import engine
from engine import layers, ops
from engine.backend import GradientTape, Tensor
from engine.layers.core import embedding as embedding_module
from engine.layers.core.embedding import embedding_lookup
from tests.engine.gradcheck import check_gradients
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients

rng = np.random.default_rng(0)


# Embedding ------------------------------------------------------------------------------
def test_weight_layout_initializer_and_lookup_for_every_integer_dtype():
    layer = layers.Embedding(50, 4)
    ids = rng.integers(0, 50, (3, 7))
    for dtype in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
        out = layer(ids.astype(dtype))
        assert out.shape == (3, 7, 4) and out.dtype == np.float32
        np.testing.assert_array_equal(out.numpy(), layer.embeddings.numpy()[ids])
    assert [w.name for w in layer.weights] == ["embeddings"]
    table = layer.get_weights()[0]
    assert table.shape == (50, 4) and np.abs(table).max() <= 0.05
    np.testing.assert_array_equal(layer(ids.astype("float32")).numpy(), table[ids])


def test_shapes_symbolic_and_sequential_with_integer_inputs():
    assert layers.Embedding(10, 3).compute_output_shape((None, 5)) == (None, 5, 3)
    ids = engine.Input((None,), dtype="int32")
    assert layers.Embedding(10, 3)(ids).shape == (None, None, 3)
    model = engine.Sequential([layers.Embedding(10, 3), layers.Flatten()])
    assert model.predict(np.array([[1, 2], [3, 4]]), verbose=0).shape == (2, 6)


def test_bad_indices_and_arguments_raise():
    layer = layers.Embedding(10, 3)
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        layer(np.array([[1, 10]]))
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        layer(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match="integer"):
        layer(np.array([[0.5, 2.0]]))
    with pytest.raises(ValueError, match="input_dim"):
        layers.Embedding(0, 3)
    with pytest.raises(ValueError, match="output_dim"):
        layers.Embedding(3, 2.5)
    with pytest.raises(ValueError, match="lora_rank"):
        layers.Embedding(3, 2, lora_rank=4)
    assert layers.Embedding(3, 2, quantization_config=None, lora_rank=None).input_dim == 3


@pytest.mark.parametrize("rows", [7, 500])  # the one-hot GEMM and the scatter-add paths
def test_gradient_sums_repeated_rows(rows, float64):
    ids = np.array([[0, 3, 3, 1], [3, 0, 6, 6]])
    table = rng.normal(size=(rows, 3))
    check_gradients(lambda t: embedding_lookup(ids, t), table)
    g = rng.normal(size=(2, 4, 3))
    t = Tensor(table)
    with GradientTape() as tape:
        tape.watch(t)
        total = ops.sum(ops.multiply(embedding_lookup(ids, t), g))
    expected = np.zeros_like(table)
    np.add.at(expected, ids.reshape(-1), g.reshape(-1, 3))
    np.testing.assert_allclose(tape.gradient(total, t), expected, rtol=1e-12)


@pytest.mark.parametrize("repeats", [0, 3, 30])
def test_gradient_of_mostly_unique_ids_copies_rows_and_sums_the_repeated(repeats):
    # Few repeats: unique rows are copied and only the repeated ones scatter-added;
    # many: everything is scatter-added. Both equal a plain scatter-add exactly.
    ids = rng.permutation(500)[:40]
    ids[:repeats] = ids[-repeats:] if repeats else ids[:0]
    g = rng.normal(size=(40, 6)).astype("float32")
    expected = np.zeros((500, 6), "float32")
    np.add.at(expected, ids, g)
    t = Tensor(rng.normal(size=(500, 6)).astype("float32"))
    with GradientTape() as tape:
        tape.watch(t)
        total = ops.sum(ops.multiply(embedding_lookup(ids, t), g))
    np.testing.assert_array_equal(tape.gradient(total, t), expected)


def test_gradient_in_another_axis_order_is_read_in_place():
    # A recurrent layer hands back its time-major input gradient as a transposed
    # view: the scatter reads it in memory order, ids permuted alike, not a copy.
    ids = rng.integers(0, 300, (8, 5))
    time_major = rng.normal(size=(5, 8, 6)).astype("float32")
    g = time_major.transpose(1, 0, 2)
    expected = np.zeros((300, 6), "float32")
    np.add.at(expected, ids.reshape(-1), np.ascontiguousarray(g).reshape(-1, 6))
    received = []
    original = embedding_module._accumulate_rows

    def spy(ids_, grads, rows):
        received.append(grads)
        return original(ids_, grads, rows)

    t = Tensor(rng.normal(size=(300, 6)).astype("float32"))
    with mock.patch.object(embedding_module, "_accumulate_rows", spy):
        with GradientTape() as tape:
            tape.watch(t)
            out = embedding_lookup(ids, t)
        grad = tape.gradient(out, t, output_gradients=g)
    assert np.shares_memory(received[0], time_major)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-6)


def test_layer_gradient_accumulates_into_the_embeddings(float64):
    layer = layers.Embedding(5, 2)
    ids = np.array([[1, 4, 1]])
    probe = layer(ids)
    weights = rng.normal(size=probe.shape)
    with GradientTape() as tape:
        total = ops.sum(ops.multiply(layer(ids), weights))
    grad = tape.gradient(total, layer.embeddings)
    expected = np.zeros((5, 2))
    np.add.at(expected, ids[0], weights[0])
    np.testing.assert_allclose(grad, expected)


def test_gradient_stays_float32_and_matches_torch():
    torch = pytest.importorskip("torch")
    layer = layers.Embedding(300, 8)
    ids = rng.integers(0, 300, (16, 20))
    g = rng.normal(size=(16, 20, 8)).astype("float32")
    with GradientTape() as tape:
        total = ops.sum(ops.multiply(layer(ids), g))
    grad = tape.gradient(total, layer.embeddings)
    module = torch.nn.Embedding(300, 8)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(layer.get_weights()[0]))
    (module(torch.from_numpy(ids)) * torch.from_numpy(g)).sum().backward()
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, module.weight.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_mask_zero_gives_inputs_not_equal_zero():
    layer = layers.Embedding(10, 3, mask_zero=True)
    ids = np.array([[3, 1, 0, 0], [0, 2, 5, 0]])
    out = layer(ids)
    np.testing.assert_array_equal(out._keras_mask, ids != 0)
    np.testing.assert_array_equal(layer.compute_mask(ids), ids != 0)
    assert layers.Embedding(10, 3).compute_mask(ids) is None
    assert getattr(layers.Embedding(10, 3)(ids), "_keras_mask", None) is None


def test_input_length_is_ignored_with_a_warning_and_weights_are_used():
    with pytest.warns(UserWarning, match="input_length"):
        layer = layers.Embedding(4, 2, input_length=7)
    assert layer(np.array([[1, 2, 3]])).shape == (1, 3, 2)
    table = np.arange(8, dtype="float32").reshape(4, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        preset = layers.Embedding(4, 2, weights=table)
    np.testing.assert_array_equal(preset(np.array([[3, 0]])).numpy()[0], table[[3, 0]])
    np.testing.assert_array_equal(layers.Embedding(4, 2, weights=[table]).get_weights()[0], table)


def test_config_round_trip_and_regularizer():
    layer = layers.Embedding(
        12,
        3,
        mask_zero=True,
        embeddings_initializer="he_normal",
        embeddings_regularizer="l2",
        embeddings_constraint="max_norm",
        name="tokens",
    )
    clone = assert_config_round_trip(layer)
    config = clone.get_config()
    assert {"input_dim", "output_dim", "mask_zero", "embeddings_initializer"} <= set(config)
    layer(np.array([[1]]))
    assert len(layer.losses) == 1


def test_embedding_trains_in_a_model():
    engine.utils.set_random_seed(0)
    ids = np.array([[1, 2], [3, 4]] * 16)
    y = np.array([[1.0], [0.0]] * 16, "float32")
    model = engine.Sequential(
        [layers.Embedding(5, 4), layers.Flatten(), layers.Dense(1, activation="sigmoid")]
    )
    model.compile(optimizer=engine.optimizers.Adam(0.05), loss="binary_crossentropy")
    history = model.fit(ids, y, epochs=20, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < 0.1 * history[0]


# Masking --------------------------------------------------------------------------------
def test_masking_zeroes_masked_steps_and_sets_the_mask():
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    x[0, 1] = 0.0
    x[1, 3] = -1.0
    x[1, 0, 0] = -1.0  # one matching feature is not enough
    out = layers.Masking(mask_value=-1.0)(x)
    expected_mask = np.array([[True, True, True, True], [True, True, True, False]])
    np.testing.assert_array_equal(out._keras_mask, expected_mask)
    np.testing.assert_array_equal(out.numpy(), x * expected_mask[..., None])
    assert layers.Masking()(x)._keras_mask[0].tolist() == [True, False, True, True]


def test_masking_feeds_an_lstm_like_trimming():
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    x[1, 3:] = 0.0
    lstm = layers.LSTM(4)
    out = lstm(layers.Masking()(x))
    np.testing.assert_allclose(out.numpy()[1], lstm(x[1:, :3]).numpy()[0], rtol=1e-5, atol=1e-6)


def test_masking_gradient_and_config(float64):
    x = rng.normal(size=(2, 3, 2))
    check_layer_gradients(layers.Masking(mask_value=9.0), x)
    # At masked steps the output is constant zero (the mask is not differentiable there).
    x[0, 1] = 0.0
    t = Tensor(x)
    g = rng.normal(size=x.shape)
    with GradientTape() as tape:
        tape.watch(t)
        total = ops.sum(ops.multiply(layers.Masking()(t), g))
    keep = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])[..., None]
    np.testing.assert_array_equal(tape.gradient(total, t), g * keep)
    assert assert_config_round_trip(layers.Masking(mask_value=2.5)).mask_value == 2.5
    assert layers.Masking().compute_output_shape((None, 3, 2)) == (None, 3, 2)
