"""Merge layers: values, broadcasting, masks, Dot axes, gradients, configs, functional use."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import layers
from engine.backend import Tensor
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients

rng = np.random.default_rng(0)


def data(*shape: int) -> np.ndarray:
    return rng.normal(size=shape).astype("float32")


ELEMENTWISE = [
    (layers.Add, layers.add, lambda xs: sum(xs)),
    (layers.Subtract, layers.subtract, lambda xs: xs[0] - xs[1]),
    (layers.Multiply, layers.multiply, lambda xs: np.prod(xs, axis=0)),
    (layers.Average, layers.average, lambda xs: np.mean(xs, axis=0)),
    (layers.Maximum, layers.maximum, lambda xs: np.max(xs, axis=0)),
    (layers.Minimum, layers.minimum, lambda xs: np.min(xs, axis=0)),
]
IDS = [e[0].__name__ for e in ELEMENTWISE]


@pytest.mark.parametrize("cls,fn,reference", ELEMENTWISE, ids=IDS)
def test_elementwise_values_and_functional_alias(cls, fn, reference):
    n = 2 if cls is layers.Subtract else 3
    xs = [data(4, 5) for _ in range(n)]
    out = cls()(xs)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), reference(xs), rtol=1e-6)
    np.testing.assert_allclose(fn(xs).numpy(), reference(xs), rtol=1e-6)
    symbolic = fn([engine.Input(shape=(5,)) for _ in range(n)])
    assert symbolic.shape == (None, 5)


@pytest.mark.parametrize("cls,fn,reference", ELEMENTWISE, ids=IDS)
def test_elementwise_broadcasting(cls, fn, reference):
    # (batch, 4) meets (batch, 3, 4): an axis is inserted after the batch axis.
    a, b = data(2, 4), data(2, 3, 4)
    out = cls()([a, b])
    np.testing.assert_allclose(
        out.numpy(), reference([np.broadcast_to(a[:, None], b.shape), b]), rtol=1e-6
    )
    assert cls().compute_output_shape([(None, 4), (None, 3, 4)]) == (None, 3, 4)
    # Size-1 axes broadcast as in NumPy.
    c, d = data(2, 1, 4), data(2, 3, 1)
    np.testing.assert_allclose(
        cls()([c, d]).numpy(), reference(np.broadcast_arrays(c, d)), rtol=1e-6
    )
    assert cls().compute_output_shape([(2, 1, 4), (None, 3, 1)]) == (2, 3, 4)


def test_merge_shape_and_argument_errors():
    with pytest.raises(ValueError, match="incompatible shapes"):
        layers.Add()([data(2, 3), data(2, 4)])
    with pytest.raises(ValueError, match="list of tensors"):
        layers.Add()(data(2, 3))
    with pytest.raises(ValueError, match="batch sizes"):
        layers.Add()([data(2, 3), data(5, 3)])
    with pytest.raises(ValueError, match="exactly 2"):
        layers.Subtract()([data(2, 3)] * 3)
    with pytest.raises(TypeError):
        layers.Merge()


def test_custom_merge_subclass():
    class Hypot(layers.Merge):
        def _merge_function(self, inputs):
            return engine.ops.sqrt(
                engine.ops.add(engine.ops.square(inputs[0]), engine.ops.square(inputs[1]))
            )

    out = Hypot()([np.full((1, 2), 3.0, "float32"), np.full((1, 2), 4.0, "float32")])
    np.testing.assert_allclose(out.numpy(), 5.0)


# Masks ----------------------------------------------------------------------------------
def masked(x: np.ndarray, mask: np.ndarray) -> Tensor:
    t = Tensor(x)
    t._keras_mask = mask
    return t


def test_add_ors_masks():
    m1 = np.array([[True, False, False]])
    m2 = np.array([[False, False, True]])
    out = layers.Add()([masked(data(1, 3, 2), m1), masked(data(1, 3, 2), m2)])
    np.testing.assert_array_equal(out._keras_mask, [[True, False, True]])
    partial = layers.Add()([masked(data(1, 3, 2), m1), Tensor(data(1, 3, 2))])
    assert partial._keras_mask is None


def test_multiply_mask_treats_masked_entries_as_one():
    a = np.full((1, 3, 2), 2.0, "float32")
    b = np.full((1, 3, 2), 5.0, "float32")
    m1 = np.array([[True, True, False]])
    m2 = np.array([[True, False, False]])
    out = layers.Multiply()([masked(a, m1), masked(b, m2)])
    # Both kept: 10; only a kept: 2; neither: 0 (standard masking zeroes it).
    np.testing.assert_allclose(out.numpy()[0, :, 0], [10.0, 2.0, 0.0])
    np.testing.assert_array_equal(out._keras_mask, [[True, True, False]])


@pytest.mark.parametrize("cls,op", [(layers.Maximum, np.maximum), (layers.Minimum, np.minimum)])
def test_maximum_minimum_ignore_masked_entries(cls, op):
    a = np.array([[[1.0], [9.0], [4.0]]], "float32")
    b = np.array([[[5.0], [2.0], [3.0]]], "float32")
    m1 = np.array([[True, False, True]])
    m2 = np.array([[False, True, True]])
    out = cls()([masked(a, m1), masked(b, m2)])
    np.testing.assert_allclose(out.numpy()[0, :, 0], [1.0, 2.0, op(4.0, 3.0)])
    np.testing.assert_array_equal(out._keras_mask, [[True, True, True]])


def test_concatenate_mask():
    a, b = data(2, 3, 4), data(2, 3, 5)
    m = np.array([[True, True, False], [True, False, False]])
    out = layers.Concatenate()([masked(a, m), Tensor(b)])
    np.testing.assert_array_equal(out._keras_mask, np.ones((2, 3), bool))
    time = layers.Concatenate(axis=1)([masked(a, m), masked(data(2, 2, 4), np.zeros((2, 2), bool))])
    np.testing.assert_array_equal(
        time._keras_mask, np.concatenate([m, np.zeros((2, 2), bool)], axis=1)
    )


def test_dot_drops_mask():
    m = np.array([[True, False]])
    assert (
        layers.Dot(axes=2)([masked(data(1, 2, 3), m), masked(data(1, 2, 3), m)])._keras_mask is None
    )


# Concatenate ----------------------------------------------------------------------------
def test_concatenate_values_and_shapes():
    a, b = data(2, 3, 4), data(2, 1, 4)
    np.testing.assert_array_equal(
        layers.Concatenate(axis=1)([a, b]).numpy(), np.concatenate([a, b], 1)
    )
    np.testing.assert_array_equal(layers.concatenate([a, a]).numpy(), np.concatenate([a, a], -1))
    assert layers.Concatenate().compute_output_shape([(None, 3, 4), (None, 3, 6)]) == (None, 3, 10)
    assert layers.Concatenate(axis=1).compute_output_shape([(None, None, 4), (None, 3, 4)]) == (
        None,
        None,
        4,
    )
    assert layers.Concatenate()([engine.Input((4,)), engine.Input((6,))]).shape == (None, 10)
    with pytest.raises(ValueError, match="other axes to match"):
        layers.Concatenate(axis=1)([data(2, 3, 4), data(2, 3, 5)])
    with pytest.raises(ValueError, match="same rank"):
        layers.Concatenate()([data(2, 3), data(2, 3, 1)])


# Dot ------------------------------------------------------------------------------------
DOT_CASES = [
    ((4, 5), (4, 5), 1, "bi,bi->b", (4, 1)),
    ((4, 5), (4, 5), -1, "bi,bi->b", (4, 1)),
    ((2, 3, 5), (2, 10, 3), (1, 2), "bki,bjk->bij", (2, 5, 10)),
    ((2, 5), (2, 5, 7), (1, 1), "bk,bkj->bj", (2, 7)),
    ((2, 3, 5), (2, 5), (2, 1), "bik,bk->bi", (2, 3)),
    ((2, 3, 4, 5), (2, 5, 6), (3, 1), "bijk,bkl->bijl", (2, 3, 4, 6)),
    ((2, 3, 4), (2, 6, 4, 5), (2, 2), "bik,bjkl->bijl", (2, 3, 6, 5)),
]


@pytest.mark.parametrize("sa,sb,axes,spec,out_shape", DOT_CASES)
def test_dot_matches_einsum(sa, sb, axes, spec, out_shape):
    a, b = data(*sa), data(*sb)
    out = layers.Dot(axes=axes)([a, b])
    assert out.shape == out_shape
    np.testing.assert_allclose(
        out.numpy().reshape(-1), np.einsum(spec, a, b).reshape(-1), rtol=1e-5, atol=1e-5
    )
    assert layers.Dot(axes=axes).compute_output_shape([(None, *sa[1:]), (None, *sb[1:])]) == (
        None,
        *out_shape[1:],
    )
    symbolic = layers.Dot(axes=axes)([engine.Input(sa[1:]), engine.Input(sb[1:])])
    assert symbolic.shape == (None, *out_shape[1:])


def test_dot_keras_doc_example_and_normalize():
    x = np.arange(10, dtype="float32").reshape(1, 5, 2)
    y = np.arange(10, 20, dtype="float32").reshape(1, 2, 5)
    np.testing.assert_allclose(layers.Dot(axes=(1, 2))([x, y]).numpy(), [[[260, 360], [320, 445]]])
    a, b = data(3, 6), data(3, 6)
    cosine = layers.dot([a, b], axes=1, normalize=True).numpy()
    expected = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(cosine[:, 0], expected, rtol=1e-5)


def test_dot_validates():
    with pytest.raises(TypeError, match="axes"):
        layers.Dot(axes="1")
    with pytest.raises(ValueError, match="pair"):
        layers.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match="must be equal"):
        layers.Dot(axes=1)([data(2, 3), data(2, 4)])
    with pytest.raises(ValueError, match="batch axis"):
        layers.Dot(axes=0)([data(2, 3), data(2, 3)])


# Gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make,shapes",
    [
        (layers.Add, [(2, 3), (2, 3), (2, 3)]),
        (layers.Add, [(2, 4), (2, 3, 4)]),
        (layers.Subtract, [(2, 1, 4), (2, 3, 1)]),
        (layers.Multiply, [(2, 3, 4), (2, 4)]),
        (layers.Average, [(2, 3), (2, 1), (2, 3)]),
        (layers.Maximum, [(2, 3, 4), (2, 3, 4)]),
        (layers.Minimum, [(2, 4), (2, 3, 4)]),
        (lambda: layers.Concatenate(axis=1), [(2, 3, 4), (2, 1, 4)]),
    ],
    ids=[
        "add",
        "add_rank",
        "subtract_bcast",
        "multiply_rank",
        "average",
        "max",
        "min_rank",
        "concat",
    ],
)
def test_gradients(make, shapes, float64):
    check_layer_gradients(make(), [rng.normal(size=s) for s in shapes], as_list=True)


@pytest.mark.parametrize("sa,sb,axes,spec,out_shape", DOT_CASES)
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_gradients(sa, sb, axes, spec, out_shape, normalize, float64):
    check_layer_gradients(
        layers.Dot(axes=axes, normalize=normalize),
        [rng.normal(size=sa), rng.normal(size=sb)],
        as_list=True,
    )


@pytest.mark.parametrize("cls", [layers.Multiply, layers.Maximum, layers.Minimum])
def test_masked_merge_gradients(cls, float64):
    masks = [rng.random((2, 3)) > 0.4, rng.random((2, 3)) > 0.4]
    inputs = [rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))]
    check_layer_gradients(cls(), inputs, as_list=True, call_kwargs={"mask": masks})


# Configs and models ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "layer",
    [
        layers.Add(),
        layers.Subtract(),
        layers.Multiply(),
        layers.Average(),
        layers.Maximum(),
        layers.Minimum(),
        layers.Concatenate(axis=1),
        layers.Dot(axes=(1, 2), normalize=True),
        layers.Dot(axes=-1),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trip(layer):
    assert_config_round_trip(layer)


def test_config_values_match_keras():
    assert layers.Concatenate().get_config()["axis"] == -1
    config = layers.Dot(axes=(1, 2)).get_config()
    assert (config["axes"], config["normalize"]) == ([1, 2], False)


def test_merges_in_functional_model():
    a, b = engine.Input(shape=(8,)), engine.Input(shape=(8,))
    ha = layers.Dense(4)(a)
    hb = layers.Dense(4)(b)
    merged = layers.concatenate(
        [layers.add([ha, hb]), layers.multiply([ha, hb]), layers.dot([ha, hb], axes=1)]
    )
    outputs = layers.Dense(1)(merged)
    model = engine.Model([a, b], outputs)
    assert merged.shape == (None, 9)
    xa, xb = data(5, 8), data(5, 8)
    first = model.predict([xa, xb], verbose=0)
    assert first.shape == (5, 1)
    clone = engine.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict([xa, xb], verbose=0), first, rtol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit([xa, xb], data(5, 1), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
