"""`ops.add_layer_normalization` and the Add -> LayerNormalization fusion in models.

The fused op must equal `layer_normalization(a + b)` (bit for bit where the
fusion applies) in its output and in every gradient, inline and split over
threads; models must fuse only where nothing can see the sum, and train
exactly as unfused.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import engine
from engine import layers, ops
from engine.backend import GradientTape, Tensor
from engine.models.fusion import fusion_disabled
from engine.ops import batch_parallel
from tests.engine.gradcheck import check_gradients
from tests.engine.gradcheck import output_and_gradients as run

rng = np.random.default_rng(11)


def data(*shape, dtype="float32"):
    return rng.normal(size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("split", [False, True], ids=["inline", "threads"])
def test_equals_add_then_layer_normalization_bit_for_bit(dtype, count, split, forced_split):
    batch_parallel.set_split_threads(3 if split else 1)
    shape = (5, 7, 12)
    xs = [data(*shape, dtype=dtype) * (i + 1) + i for i in range(count)]
    gamma, beta = data(12, dtype=dtype), data(12, dtype=dtype)
    g = data(*shape, dtype=dtype)

    def fused(*t):
        return ops.add_layer_normalization(list(t[:count]), t[count], t[count + 1], epsilon=1e-3)

    def separate(*t):
        total = t[0]
        for x in t[1:count]:
            total = ops.add(total, x)
        return ops.layer_normalization(total, t[count], t[count + 1], epsilon=1e-3)

    got = run(fused, [*xs, gamma, beta], g)
    want = run(separate, [*xs, gamma, beta], g)
    assert got[0].dtype == np.dtype(dtype)
    for name, a, b in zip(["out", *(f"x{i}" for i in range(count)), "gamma", "beta"], got, want):
        np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize(
    "case", ["moved axes", "float16", "mixed dtypes", "no gamma or beta", "several axes"]
)
def test_other_inputs_are_summed_first_and_match(case):
    shape, axis = (4, 6, 5), -1
    dtypes = ["float32", "float32"]
    gamma, beta = data(5), data(5)
    if case == "moved axes":
        axis, gamma, beta = 1, data(6), data(6)
    elif case == "float16":
        dtypes = ["float16", "float16"]
    elif case == "mixed dtypes":
        dtypes = ["float32", "float64"]
    elif case == "no gamma or beta":
        gamma = beta = None
    elif case == "several axes":
        axis, gamma, beta = [1, 2], data(6, 5), data(6, 5)
    a, b = (data(*shape, dtype=d) for d in dtypes)
    fused = ops.add_layer_normalization([a, b], gamma, beta, axis=axis, epsilon=1e-3)
    separate = ops.layer_normalization(a + b, gamma, beta, axis=axis, epsilon=1e-3)
    assert fused.dtype == separate.dtype
    np.testing.assert_array_equal(np.asarray(fused.value), np.asarray(separate.value))


def test_numeric_gradients(float64):
    a, b = data(3, 4, 6, dtype="float64"), data(3, 4, 6, dtype="float64")
    gamma, beta = data(6, dtype="float64"), data(6, dtype="float64")
    check_gradients(
        lambda x, y, gm, bt: ops.add_layer_normalization([x, y], gm, bt, epsilon=1e-3),
        a,
        b,
        gamma,
        beta,
    )


def test_same_tensor_twice_gets_both_gradients():
    x = Tensor(data(3, 8))
    g = data(3, 8)
    with GradientTape() as tape:
        tape.watch(x)
        total = ops.sum(ops.multiply(ops.add_layer_normalization([x, x]), g))
    with GradientTape() as tape2:
        tape2.watch(x)
        expected = ops.sum(ops.multiply(ops.layer_normalization(ops.add(x, x)), g))
    np.testing.assert_allclose(tape.gradient(total, x), tape2.gradient(expected, x), rtol=1e-6)


def test_bad_inputs_are_refused_with_one_sentence():
    with pytest.raises(ValueError, match="sums two or more inputs, got 1"):
        ops.add_layer_normalization([data(2, 3)])
    with pytest.raises(ValueError, match=r"inputs of one shape, got \(2, 3\) and \(1, 3\)"):
        ops.add_layer_normalization([data(2, 3), data(1, 3)])


def encoder_block(extra_output: bool = False, norm_kwargs=None, add_cls=layers.Add):
    """A Transformer encoder block like the benchmark's, small."""
    engine.utils.set_random_seed(3)
    inputs = engine.Input((10,), dtype="int64")
    h = layers.Embedding(50, 16)(inputs)
    attended = layers.MultiHeadAttention(2, 8)(h, h)
    summed = add_cls()([h, attended])
    h = layers.LayerNormalization(**(norm_kwargs or {}))(summed)
    ff = layers.Dense(16)(layers.Dense(32, activation="relu")(h))
    h = layers.LayerNormalization()(layers.Add()([h, ff]))
    outputs = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(h))
    return engine.Model(inputs, [outputs, summed] if extra_output else outputs)


def test_functional_model_fuses_and_trains_exactly_as_unfused(fused_calls):
    x = rng.integers(0, 50, size=(24, 10))
    y = rng.integers(0, 2, size=(24, 1)).astype("float32")
    runs = []
    for context in (contextlib.nullcontext, fusion_disabled):
        model = encoder_block()
        model.compile(optimizer="adam", loss="binary_crossentropy")
        with context():
            history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
            predictions = model.predict(x, verbose=0)
        runs.append((history.history["loss"], model.get_weights(), predictions))
    # Per step, the first block's Add -> LayerNormalization pair and the second's
    # feed-forward chain (which takes in its pair): 3 batches x 2 epochs of
    # training, then 1 predict batch.
    assert fused_calls == [2, "feed-forward"] * (3 * 2 + 1)
    (loss_f, weights_f, pred_f), (loss_u, weights_u, pred_u) = runs
    np.testing.assert_array_equal(loss_f, loss_u)
    for a, b in zip(weights_f, weights_u):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(pred_f, pred_u)


def test_a_sum_something_else_reads_is_not_fused(fused_calls):
    x = rng.integers(0, 50, size=(4, 10))
    model = encoder_block(extra_output=True)
    _probs, summed = model(x)
    assert fused_calls == ["feed-forward"]  # only the second residual block fuses
    assert np.asarray(summed.value).shape == (4, 10, 16)


class MyAdd(layers.Add):
    pass


@pytest.mark.parametrize(
    "kwargs",
    [
        {"norm_kwargs": {"rms_scaling": True}},
        {"norm_kwargs": {"axis": 1}},
        {"norm_kwargs": {"activity_regularizer": "l2"}},
        {"add_cls": MyAdd},
    ],
    ids=["rms-scaling", "not-last-axis", "activity-regularizer", "subclass"],
)
def test_pairs_that_differ_are_not_fused(kwargs, fused_calls):
    x = rng.integers(0, 50, size=(4, 10))
    rms = "rms_scaling" in kwargs.get("norm_kwargs", {})
    with pytest.warns(UserWarning) if rms else contextlib.nullcontext():
        model = encoder_block(**kwargs)
    out = model(x)
    assert fused_calls == ["feed-forward"]
    with fusion_disabled():
        np.testing.assert_array_equal(np.asarray(model(x).value), np.asarray(out.value))


def test_masked_inputs_are_not_fused(fused_calls):
    inputs = engine.Input((6,), dtype="int64")
    h = layers.Embedding(20, 8, mask_zero=True)(inputs)
    out = layers.LayerNormalization()(layers.Add()([h, layers.Dense(8)(h)]))
    model = engine.Model(inputs, out)
    x = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6]])
    y = model(x)
    assert fused_calls == []
    np.testing.assert_array_equal(y._keras_mask, x != 0)
