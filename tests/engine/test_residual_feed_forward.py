"""`ops.residual_feed_forward` and the Dense -> Dense -> Add -> LayerNormalization fusion.

The fused op must give the separate ops' output bit for bit and their gradients
(bit for bit in one chunk; to float rounding when the weight gradients are
summed over several chunks on threads), agree with central differences and
with PyTorch; models must fuse only a chain that nothing else can see into,
and train as unfused.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import engine
from engine import layers, ops
from engine.models.fusion import fusion_disabled
from engine.ops import batch_parallel
from tests.engine.gradcheck import check_gradients
from tests.engine.gradcheck import output_and_gradients as run

rng = np.random.default_rng(5)

NAMES = ["out", "x", "kernel1", "bias1", "kernel2", "bias2", "gamma", "beta"]


def data(*shape, dtype="float32", scale=1.0):
    return (rng.normal(size=shape) * scale).astype(dtype)


def params(d, units, dtype="float32"):
    return [
        data(d, units, dtype=dtype, scale=0.4),
        data(units, dtype=dtype, scale=0.2),
        data(units, d, dtype=dtype, scale=0.4),
        data(d, dtype=dtype, scale=0.2),
        1 + data(d, dtype=dtype, scale=0.3),
        data(d, dtype=dtype, scale=0.3),
    ]


def separate(x, w1, b1, w2, b2, gamma, beta, activation="relu", epsilon=1e-3):
    hidden = ops.dense(x, w1, b1, activation=activation)
    return ops.layer_normalization(ops.add(x, ops.dense(hidden, w2, b2)), gamma, beta, -1, epsilon)


def fused(x, w1, b1, w2, b2, gamma, beta, activation="relu", epsilon=1e-3):
    return ops.residual_feed_forward(x, w1, b1, w2, b2, gamma, beta, epsilon, activation)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["relu", None])
@pytest.mark.parametrize("drop", [(), (2, 4), (5, 6)], ids=["all", "no-biases", "no-gamma-beta"])
def test_one_chunk_equals_the_separate_ops_bit_for_bit(dtype, activation, drop):
    x = data(3, 7, 12, dtype=dtype)
    arrays = [x, *params(12, 20, dtype)]
    for i in drop:
        arrays[i] = None
    g = data(3, 7, 12, dtype=dtype)
    got = run(fused, arrays, g, activation=activation)
    want = run(separate, arrays, g, activation=activation)
    assert got[0].dtype == np.dtype(dtype) and got[0].shape == x.shape
    for name, a, b in zip(NAMES, got, want):
        if b is None:
            assert a is None, name
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_chunks_on_threads_match_the_separate_ops(dtype, forced_split):
    """Many one-row chunks on three threads. BLAS may round a one-row product
    otherwise than a block's, and the weight gradients are summed chunk by chunk:
    everything agrees to rounding."""
    x = data(4, 9, 8, dtype=dtype)
    arrays = [x, *params(8, 16, dtype)]
    g = data(4, 9, 8, dtype=dtype)
    with batch_parallel.parallel_scope():
        got = run(fused, arrays, g)
    want = run(separate, arrays, g)
    tol = 1e-5 if dtype == "float32" else 1e-12
    for name, a, b in zip(NAMES, got, want):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("activation", ["relu", None])
def test_numeric_gradients(activation, float64):
    x = data(2, 3, 5, dtype="float64")
    # Hidden values well away from zero, where relu's derivative jumps.
    w1, b1, w2, b2, gamma, beta = params(5, 6, "float64")
    b1 = np.where(np.abs(b1) < 0.05, 0.3, b1)
    check_gradients(lambda *t: fused(*t, activation=activation), x, w1, b1, w2, b2, gamma, beta)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    x = data(4, 6, 8, dtype="float64")
    w1, b1, w2, b2, gamma, beta = params(8, 16, "float64")
    g = data(4, 6, 8, dtype="float64")
    got = run(fused, [x, w1, b1, w2, b2, gamma, beta], g)
    tx, tw1, tb1, tw2, tb2, tg, tb = (
        torch.tensor(a, requires_grad=True) for a in (x, w1, b1, w2, b2, gamma, beta)
    )
    h = torch.relu(tx @ tw1 + tb1)
    out = torch.nn.functional.layer_norm(tx + h @ tw2 + tb2, (8,), tg, tb, eps=1e-3)
    (out * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(got[0], out.detach().numpy(), rtol=1e-12, atol=1e-12)
    for name, a, t in zip(NAMES[1:], got[1:], (tx, tw1, tb1, tw2, tb2, tg, tb)):
        np.testing.assert_allclose(a, t.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_zero_rows():
    x = np.zeros((0, 4, 6), "float32")
    arrays = [x, *params(6, 10)]
    got = run(fused, arrays, np.zeros_like(x))
    assert got[0].shape == (0, 4, 6) and got[1].shape == x.shape
    for name, a, p in zip(NAMES[2:], got[2:], arrays[1:]):
        np.testing.assert_array_equal(a, np.zeros_like(p), err_msg=name)


def test_bad_inputs_are_refused_with_one_sentence():
    x = data(2, 6)
    w1, b1, w2, b2, *_ = params(6, 10)
    with pytest.raises(ValueError, match="can fuse only activation None or 'relu', got 'gelu'"):
        ops.residual_feed_forward(x, w1, b1, w2, b2, activation="gelu")
    with pytest.raises(ValueError, match=r"kernel2 must be float32 of shape \(10, 6\)"):
        ops.residual_feed_forward(x, w1, b1, w2[:, :5], b2)
    with pytest.raises(ValueError, match=r"bias1 must be float32 of shape \(10,\).*float64"):
        ops.residual_feed_forward(x, w1, b1.astype("float64"), w2, b2)
    with pytest.raises(ValueError, match="needs float32 or float64 inputs, got int64"):
        ops.residual_feed_forward(x.astype("int64"), w1, b1, w2, b2)
    with pytest.raises(ValueError, match=r"kernel1 must be float32 of shape \(6, 10\)"):
        ops.residual_feed_forward(x, w1[:5], b1, w2, b2)


def feed_forward_model(
    first_activation="relu",
    second_kwargs=None,
    norm_kwargs=None,
    swap=False,
    extra_output=False,
    hidden_reader=False,
    dense_cls=layers.Dense,
):
    """Input -> LayerNormalization -> the feed-forward sublayer -> Dense(1)."""
    engine.utils.set_random_seed(7)
    inputs = engine.Input((5, 8))
    h = layers.LayerNormalization()(inputs)
    hidden = dense_cls(16, activation=first_activation)(h)
    ff = layers.Dense(8, **(second_kwargs or {}))(hidden)
    summed = layers.Add()([ff, h] if swap else [h, ff])
    out = layers.LayerNormalization(**(norm_kwargs or {}))(summed)
    outputs = [layers.Dense(1)(layers.GlobalAveragePooling1D()(out))]
    if extra_output:
        outputs.append(ff)
    if hidden_reader:
        outputs.append(layers.GlobalAveragePooling1D()(hidden))
    return engine.Model(inputs, outputs if len(outputs) > 1 else outputs[0])


@pytest.mark.parametrize("swap", [False, True], ids=["add-x-first", "add-x-second"])
@pytest.mark.parametrize("first_activation", ["relu", None])
def test_functional_model_fuses_and_trains_as_unfused(swap, first_activation, fused_calls):
    x = data(24, 5, 8)
    y = data(24, 1)
    runs = []
    for context in (contextlib.nullcontext, fusion_disabled):
        model = feed_forward_model(first_activation, swap=swap)
        model.compile(optimizer="adam", loss="mse")
        with context():
            history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
            predictions = model.predict(x, verbose=0)
        runs.append((history.history["loss"], model.get_weights(), predictions))
    # 3 batches x 2 epochs of training, then 1 predict batch.
    assert fused_calls == ["feed-forward"] * (3 * 2 + 1)
    (loss_f, weights_f, pred_f), (loss_u, weights_u, pred_u) = runs
    # One chunk per call at this size: the same numbers as the separate layers.
    np.testing.assert_array_equal(loss_f, loss_u)
    for a, b in zip(weights_f, weights_u):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(pred_f, pred_u)


class MyDense(layers.Dense):
    pass


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_activation": "gelu"},
        {"second_kwargs": {"activation": "relu"}},
        {"second_kwargs": {"activity_regularizer": "l2"}},
        {"norm_kwargs": {"axis": [1, 2]}},
        {"norm_kwargs": {"rms_scaling": True}},
        {"extra_output": True},
        {"hidden_reader": True},
        {"dense_cls": MyDense},
    ],
    ids=[
        "gelu",
        "second-activation",
        "activity-regularizer",
        "two-axes",
        "rms-scaling",
        "second-dense-is-an-output",
        "hidden-read-elsewhere",
        "subclass",
    ],
)
def test_chains_that_differ_are_not_fused(kwargs, fused_calls):
    x = data(3, 5, 8)
    rms = "rms_scaling" in kwargs.get("norm_kwargs", {})
    with pytest.warns(UserWarning) if rms else contextlib.nullcontext():
        model = feed_forward_model(**kwargs)
    out = model(x)
    assert "feed-forward" not in fused_calls
    with fusion_disabled():
        again = model(x)
    for a, b in zip(
        out if isinstance(out, list) else [out], again if isinstance(again, list) else [again]
    ):
        np.testing.assert_array_equal(np.asarray(a.value), np.asarray(b.value))


def test_other_dtypes_and_masks_are_not_fused(fused_calls):
    inputs = engine.Input((5, 8))
    h = layers.LayerNormalization()(inputs)
    ff = layers.Dense(8)(layers.Dense(16, activation="relu", dtype="float64")(h))
    model = engine.Model(inputs, layers.LayerNormalization()(layers.Add()([h, ff])))
    out = model(data(2, 5, 8))  # float32 activations into float64 weights
    assert out.dtype == "float64"
    assert fused_calls == []  # nor does the pair: the Add's inputs' dtypes differ
    inputs = engine.Input((6,), dtype="int64")
    h = layers.Embedding(20, 8, mask_zero=True)(inputs)
    ff = layers.Dense(8)(layers.Dense(16, activation="relu")(h))
    masked = engine.Model(inputs, layers.LayerNormalization()(layers.Add()([h, ff])))
    x = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6]])
    y = masked(x)
    assert fused_calls == []
    np.testing.assert_array_equal(y._keras_mask, x != 0)


def test_chain_in_the_transformer_benchmark_block_fuses(fused_calls):
    """The benchmark's block: MultiHeadAttention's Add -> LayerNormalization pair,
    then the feed-forward chain, whose input the pair's output is."""
    engine.utils.set_random_seed(3)
    inputs = engine.Input((10,), dtype="int64")
    h = layers.Embedding(50, 16)(inputs)
    h = layers.LayerNormalization()(layers.Add()([h, layers.MultiHeadAttention(2, 8)(h, h)]))
    ff = layers.Dense(16)(layers.Dense(32, activation="relu")(h))
    h = layers.LayerNormalization()(layers.Add()([h, ff]))
    model = engine.Model(inputs, layers.GlobalAveragePooling1D()(h))
    x = rng.integers(0, 50, size=(4, 10))
    out = model(x)
    assert fused_calls == [2, "feed-forward"]
    with fusion_disabled():
        np.testing.assert_array_equal(np.asarray(model(x).value), np.asarray(out.value))
