"""Normalization ops and layers: gradients, PyTorch oracle, Keras semantics, training, saving."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import engine
from engine import layers, ops
from engine.backend import GradientTape, Tensor
from engine.layers.normalization import batch_normalization as bn_module
from engine.ops import batch_parallel
from tests.engine.gradcheck import check_gradients
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients

RNG = np.random.default_rng(7)


def _built(layer, x, **weights_by_name):
    """Call `layer` once on `x` (inference) and overwrite named weights with given values."""
    layer(x)
    for w in layer.weights:
        if w.name in weights_by_name:
            w.assign(weights_by_name[w.name])
    return layer


def _random_affine(layer, x, positive_stats: bool = True):
    """Build `layer` on `x` and give every weight a non-trivial random value."""
    layer(x)
    for w in layer.weights:
        if w.name == "moving_variance":
            w.assign(RNG.uniform(0.5, 2.0, size=w.shape))
        else:
            w.assign(RNG.normal(size=w.shape) + (1.0 if w.name == "gamma" else 0.0))
    return layer


# Gradient checks --------------------------------------------------------------------------
BN_CASES = [
    ("2d", (5, 4), {}),
    ("4d", (3, 2, 3, 4), {}),
    ("no_center", (5, 4), {"center": False}),
    ("no_scale", (5, 4), {"scale": False}),
    ("no_affine_4d", (2, 3, 2, 3), {"center": False, "scale": False}),
    ("axis1_4d", (3, 4, 2, 3), {"axis": 1}),
    ("axis1_3d", (3, 4, 5), {"axis": -2}),
]


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize(("name", "shape", "kwargs"), BN_CASES, ids=[c[0] for c in BN_CASES])
def test_batch_normalization_gradients(float64, name, shape, kwargs, training):
    x = RNG.normal(size=shape) * 2 + 0.5
    layer = _random_affine(layers.BatchNormalization(**kwargs), x)
    check_layer_gradients(layer, x, training=training)


def test_batch_normalization_masked_training_gradients(float64):
    x = RNG.normal(size=(3, 5, 4))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool)
    layer = _random_affine(layers.BatchNormalization(), x)
    check_layer_gradients(layer, x, training=True, call_kwargs={"mask": mask})


def test_frozen_batch_normalization_gradients_are_the_inference_ones(float64):
    x = RNG.normal(size=(4, 3))
    layer = _random_affine(layers.BatchNormalization(), x)
    layer.trainable = False
    check_layer_gradients(layer, x, training=True)


def test_batch_normalization_op_gradients_reach_the_statistics(float64):
    x = RNG.normal(size=(4, 2, 3))
    mean, var = RNG.normal(size=3), RNG.uniform(0.5, 2.0, size=3)
    beta, gamma = RNG.normal(size=3), RNG.normal(size=3)
    check_gradients(
        lambda *a: ops.batch_normalization(a[0], a[1], a[2], -1, offset=a[3], scale=a[4]),
        x,
        mean,
        var,
        beta,
        gamma,
    )
    check_gradients(lambda a, m, v: ops.batch_normalization(a, m, v, axis=1), x, mean[:2], var[:2])


LN_CASES = [
    ("2d", (4, 5), {}),
    ("4d_last", (2, 3, 2, 4), {}),
    ("axes_12", (3, 2, 4), {"axis": [1, 2]}),
    ("axes_reversed", (3, 2, 4), {"axis": (2, 1)}),
    ("axis_middle", (3, 4, 2), {"axis": 1}),
    ("axes_13_4d", (2, 3, 2, 3), {"axis": [1, 3]}),
    ("no_center", (4, 5), {"center": False}),
    ("no_scale", (4, 5), {"scale": False}),
    ("no_affine_4d", (2, 2, 2, 3), {"center": False, "scale": False}),
]


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize(("name", "shape", "kwargs"), LN_CASES, ids=[c[0] for c in LN_CASES])
def test_layer_normalization_gradients(float64, name, shape, kwargs, training):
    x = RNG.normal(size=shape) * 3 - 1
    layer = _random_affine(layers.LayerNormalization(**kwargs), x)
    check_layer_gradients(layer, x, training=training)


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 2, 4)], ids=["2d", "4d"])
def test_layer_normalization_rms_scaling_gradients(float64, shape, training):
    x = RNG.normal(size=shape) + 0.7
    with pytest.warns(UserWarning, match="deprecated"):
        layer = layers.LayerNormalization(rms_scaling=True)
    layer = _random_affine(layer, x)
    assert [w.name for w in layer.weights] == ["gamma"]
    check_layer_gradients(layer, x, training=training)


GN_CASES = [
    ("2d_g2", (3, 6), {"groups": 2}),
    ("4d_g2", (2, 3, 2, 4), {"groups": 2}),
    ("4d_g1", (2, 2, 2, 4), {"groups": 1}),
    ("4d_instance", (2, 2, 3, 3), {"groups": -1}),
    ("3d_axis1", (2, 4, 3), {"groups": 2, "axis": 1}),
    ("no_center", (3, 2, 4), {"groups": 2, "center": False}),
    ("no_scale", (3, 2, 4), {"groups": 4, "scale": False}),
]


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize(("name", "shape", "kwargs"), GN_CASES, ids=[c[0] for c in GN_CASES])
def test_group_normalization_gradients(float64, name, shape, kwargs, training):
    x = RNG.normal(size=shape) * 2 + 1
    layer = _random_affine(layers.GroupNormalization(**kwargs), x)
    check_layer_gradients(layer, x, training=training)


@pytest.mark.parametrize("axis", [-1, [1, 2]], ids=["last", "axes_12"])
def test_unit_normalization_gradients(float64, axis):
    x = RNG.normal(size=(3, 2, 4))
    check_layer_gradients(layers.UnitNormalization(axis=axis), x)


def test_unit_normalization_keeps_zero_vectors_and_their_gradient(float64):
    x = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 4.0]])
    layer = layers.UnitNormalization()
    np.testing.assert_allclose(layer(x).numpy(), [[0, 0, 0], [0.6, 0, 0.8]])
    t = Tensor(x.copy())
    with GradientTape() as tape:
        tape.watch(t)
        total = ops.sum(layer(t) * np.array([1.0, 2.0, 3.0]))
    grad = tape.gradient(total, t)
    # Below the floor the scale is the constant 1e6, so the gradient is that scale.
    np.testing.assert_allclose(grad[0], [1e6, 2e6, 3e6])


# PyTorch oracle -----------------------------------------------------------------------------
def _engine_forward_backward(layer, x, upstream, training, **call_kwargs):
    t = Tensor(np.array(x, dtype="float32"))
    with GradientTape() as tape:
        tape.watch(t)
        y = layer(t, training=training, **call_kwargs)
        total = ops.sum(ops.multiply(y, upstream))
    weights = list(layer.trainable_weights)
    grads = tape.gradient(total, [t, *weights])
    assert y.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    return y.numpy(), grads[0], {w.name: g for w, g in zip(weights, grads[1:])}


def _torch_leaf(torch, a):
    return torch.tensor(np.array(a, dtype="float32"), requires_grad=True)


def test_batch_normalization_matches_torch_in_training_with_moving_statistics():
    torch = pytest.importorskip("torch")
    f = torch.nn.functional
    momentum, eps = 0.9, 1e-3
    layer = layers.BatchNormalization(momentum=momentum, epsilon=eps)
    running_mean, running_var = torch.zeros(4), torch.ones(4)
    keras_style_var = np.ones(4)
    for step in range(4):
        x = RNG.normal(size=(6, 5, 5, 4)).astype("float32") * (step + 1) + step
        up = RNG.normal(size=x.shape).astype("float32")
        y, gx, gw = _engine_forward_backward(layer, x, up, training=True)

        tx = _torch_leaf(torch, x.transpose(0, 3, 1, 2))
        tg = _torch_leaf(torch, layer.gamma.numpy())
        tb = _torch_leaf(torch, layer.beta.numpy())
        ty = f.batch_norm(
            tx, running_mean, running_var, tg, tb, training=True, momentum=1 - momentum, eps=eps
        )
        (ty * torch.tensor(up.transpose(0, 3, 1, 2))).sum().backward()
        np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), atol=2e-5)
        np.testing.assert_allclose(gx, tx.grad.numpy().transpose(0, 2, 3, 1), atol=2e-5)
        np.testing.assert_allclose(gw["gamma"], tg.grad.numpy(), rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(gw["beta"], tb.grad.numpy(), rtol=1e-4, atol=1e-3)

        biased = x.reshape(-1, 4).astype(np.float64).var(axis=0)
        keras_style_var = keras_style_var * momentum + biased * (1 - momentum)
        # The moving means agree; PyTorch moves its variance with the unbiased
        # batch variance (n / (n - 1) larger), Keras with the biased one.
        np.testing.assert_allclose(layer.moving_mean.numpy(), running_mean.numpy(), rtol=1e-5)
        np.testing.assert_allclose(layer.moving_variance.numpy(), keras_style_var, rtol=1e-5)
        assert np.all(layer.moving_variance.numpy() < running_var.numpy())

    # Inference uses the moving statistics: PyTorch's eval mode given the same ones.
    x = RNG.normal(size=(3, 5, 5, 4)).astype("float32") * 2 + 1
    up = RNG.normal(size=x.shape).astype("float32")
    y, gx, gw = _engine_forward_backward(layer, x, up, training=False)
    tx = _torch_leaf(torch, x.transpose(0, 3, 1, 2))
    tg, tb = _torch_leaf(torch, layer.gamma.numpy()), _torch_leaf(torch, layer.beta.numpy())
    ty = f.batch_norm(
        tx,
        torch.tensor(layer.moving_mean.numpy()),
        torch.tensor(layer.moving_variance.numpy()),
        tg,
        tb,
        training=False,
        eps=eps,
    )
    (ty * torch.tensor(up.transpose(0, 3, 1, 2))).sum().backward()
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), atol=2e-5)
    np.testing.assert_allclose(gx, tx.grad.numpy().transpose(0, 2, 3, 1), atol=2e-5)
    np.testing.assert_allclose(gw["gamma"], tg.grad.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(gw["beta"], tb.grad.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("axis", [-1, [1, 2]], ids=["last", "last_two"])
def test_layer_normalization_matches_torch(axis):
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(4, 6, 8)).astype("float32") * 3 + 2
    up = RNG.normal(size=x.shape).astype("float32")
    layer = _random_affine(layers.LayerNormalization(axis=axis), x)
    y, gx, gw = _engine_forward_backward(layer, x, up, training=True)
    tx = _torch_leaf(torch, x)
    tg, tb = _torch_leaf(torch, layer.gamma.numpy()), _torch_leaf(torch, layer.beta.numpy())
    ty = torch.nn.functional.layer_norm(tx, tuple(layer.gamma.shape), tg, tb, eps=1e-3)
    (ty * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(y, ty.detach().numpy(), atol=2e-5)
    np.testing.assert_allclose(gx, tx.grad.numpy(), atol=5e-5)
    np.testing.assert_allclose(gw["gamma"], tg.grad.numpy(), atol=2e-4)
    np.testing.assert_allclose(gw["beta"], tb.grad.numpy(), atol=2e-4)


@pytest.mark.parametrize("groups", [1, 4, 8])
def test_group_normalization_matches_torch_channels_last(groups):
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(3, 5, 4, 8)).astype("float32") * 2 - 1
    up = RNG.normal(size=x.shape).astype("float32")
    layer = _random_affine(layers.GroupNormalization(groups=groups), x)
    y, gx, gw = _engine_forward_backward(layer, x, up, training=True)
    tx = _torch_leaf(torch, x.transpose(0, 3, 1, 2))
    tg, tb = _torch_leaf(torch, layer.gamma.numpy()), _torch_leaf(torch, layer.beta.numpy())
    ty = torch.nn.functional.group_norm(tx, groups, tg, tb, eps=1e-3)
    (ty * torch.tensor(up.transpose(0, 3, 1, 2))).sum().backward()
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), atol=2e-5)
    np.testing.assert_allclose(gx, tx.grad.numpy().transpose(0, 2, 3, 1), atol=5e-5)
    np.testing.assert_allclose(gw["gamma"], tg.grad.numpy(), atol=2e-4)
    np.testing.assert_allclose(gw["beta"], tb.grad.numpy(), atol=2e-4)


# Keras semantics ----------------------------------------------------------------------------
def test_weights_in_keras_order_and_shapes():
    x = np.ones((2, 3, 4, 5), "float32")
    bn = layers.BatchNormalization()
    bn(x)
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in bn.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]
    assert all(w.shape == (5,) for w in bn.weights)
    np.testing.assert_array_equal(bn.moving_variance.numpy(), np.ones(5))
    no_center = layers.BatchNormalization(axis=1, center=False)
    no_center(x)
    assert [(w.name, w.shape) for w in no_center.weights] == [
        ("gamma", (3,)),
        ("moving_mean", (3,)),
        ("moving_variance", (3,)),
    ]
    ln = layers.LayerNormalization(axis=[1, 3])
    ln(x)
    assert [(w.name, w.shape) for w in ln.weights] == [("gamma", (3, 5)), ("beta", (3, 5))]
    gn = layers.GroupNormalization(groups=5)
    gn(x)
    assert [(w.name, w.shape) for w in gn.weights] == [("gamma", (5,)), ("beta", (5,))]
    assert layers.UnitNormalization()(x).shape == x.shape


def test_batch_normalization_training_uses_biased_batch_statistics():
    x = RNG.normal(size=(16, 3)).astype("float32") * [1, 5, 10] + [0, 3, -2]
    layer = layers.BatchNormalization(momentum=0.8)
    y = layer(x, training=True).numpy()
    expected = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3)
    np.testing.assert_allclose(y, expected, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.2 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.8 + 0.2 * x.var(0), rtol=1e-5)
    # Inference neither uses nor changes the batch statistics.
    before = [w.copy() for w in layer.get_weights()]
    y_inf = layer(x, training=False).numpy()
    mm, mv = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    np.testing.assert_allclose(y_inf, (x - mm) / np.sqrt(mv + 1e-3), atol=1e-5)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_moving_statistics_are_updated_in_place_outside_the_tape():
    layer = layers.BatchNormalization()
    x = RNG.normal(size=(8, 3)).astype("float32")
    layer(x)
    mean_array = layer.moving_mean.value
    with GradientTape() as tape:
        y = layer(x, training=True)
        loss = ops.sum(y * y)
    grads = tape.gradient(loss, [layer.moving_mean, layer.moving_variance])
    assert layer.moving_mean.value is mean_array
    assert not np.allclose(mean_array, 0)
    assert grads == [None, None]


def test_frozen_batch_normalization_runs_in_inference_mode():
    x = RNG.normal(size=(8, 3)).astype("float32") * 3 + 1
    layer = layers.BatchNormalization()
    layer(x, training=True)
    layer.trainable = False
    before = layer.get_weights()
    np.testing.assert_array_equal(layer(x, training=True).numpy(), layer(x, training=False).numpy())
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_batch_normalization_mask_restricts_training_statistics():
    x = RNG.normal(size=(3, 5, 2)).astype("float32")
    mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 0], [1, 0, 0, 0, 0]], dtype=bool)
    layer = layers.BatchNormalization(momentum=0.0)
    y = layer(x, training=True, mask=mask)
    kept = x[mask].astype(np.float64)
    np.testing.assert_allclose(layer.moving_mean.numpy(), kept.mean(0), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), kept.var(0), rtol=1e-5)
    expected = (x - kept.mean(0)) / np.sqrt(kept.var(0) + 1e-3)
    np.testing.assert_allclose(y.numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(y._keras_mask, mask)
    with pytest.raises(ValueError, match="one dimension less"):
        layer(x, training=True, mask=np.ones((3, 5, 2), bool))


def test_masks_pass_through_every_normalization_layer():
    x = Tensor(RNG.normal(size=(2, 4, 6)).astype("float32"))
    x._keras_mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], dtype=bool)
    for layer in (
        layers.BatchNormalization(),
        layers.LayerNormalization(),
        layers.GroupNormalization(groups=3),
        layers.UnitNormalization(),
    ):
        np.testing.assert_array_equal(layer(x, training=True)._keras_mask, x._keras_mask)


def test_float32_is_kept_and_half_precision_is_normalized_in_float32():
    x = RNG.normal(size=(6, 4)).astype("float32")
    for layer in (
        layers.BatchNormalization(),
        layers.LayerNormalization(),
        layers.GroupNormalization(groups=2),
        layers.UnitNormalization(),
    ):
        for training in (True, False):
            assert layer(x, training=training).dtype == np.float32
    half = layers.BatchNormalization()(x.astype("float16") * 100, training=True)
    assert half.dtype == np.float16 and np.all(np.isfinite(half.numpy()))


def test_layer_normalization_equals_manual_formula_on_middle_axis():
    x = RNG.normal(size=(2, 3, 4)).astype("float32")
    layer = layers.LayerNormalization(axis=1, epsilon=1e-5)
    layer(x)
    gamma = RNG.normal(size=3).astype("float32")
    layer.gamma.assign(gamma)
    mean, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * gamma[None, :, None]
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=1e-5)


def _layer_norm_inputs(shape, std, mean, dtype):
    """Inputs with the given spread and offset, an upstream gradient, gamma and beta."""
    x = (RNG.normal(size=shape) * std + mean).astype(dtype)
    up = RNG.normal(size=shape).astype(dtype)
    gamma = (RNG.normal(size=shape[-1]) + 1).astype(dtype)
    return x, up, gamma, RNG.normal(size=shape[-1]).astype(dtype)


def _layer_norm_reference(x, gamma, beta, up, eps, rms):
    """Output and x, gamma, beta gradients of a layer norm over the last axis, in float64."""
    x, gamma, up = x.astype(np.float64), gamma.astype(np.float64), up.astype(np.float64)
    centered = x - x.mean(-1, keepdims=True)
    inv = 1 / np.sqrt((centered**2).mean(-1, keepdims=True) + eps)
    base = x if rms else centered
    y = base * inv * gamma + (0 if rms else beta)
    g = up * gamma
    # d inv / dx = -inv**3 * centered / K; the mean's path only without rms scaling.
    gx = g * inv - centered * inv**3 * (g * base).mean(-1, keepdims=True)
    if not rms:
        gx -= inv * g.mean(-1, keepdims=True)
    return y, gx, (up * base * inv).sum(0), up.sum(0)


@pytest.mark.parametrize("rms", [False, True], ids=["centered", "rms_scaling"])
def test_layer_normalization_in_many_chunks_matches_float64_on_one_and_two_threads(rms):
    # 9000 rows of 64 features: several row chunks, split over threads when there are any.
    x, up, gamma, beta = _layer_norm_inputs((9000, 64), 2, 3, "float32")
    ref_y, ref_gx, ref_gg, ref_gb = _layer_norm_reference(x, gamma, beta, up, 1e-3, rms)
    results = []
    for threads in (1, 2):
        previous = batch_parallel.split_threads()
        batch_parallel.set_split_threads(threads)
        try:
            with batch_parallel.parallel_scope(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                layer = layers.LayerNormalization(rms_scaling=rms)
                layer(x[:2])
                layer.gamma.assign(gamma)
                if not rms:
                    layer.beta.assign(beta)
                results.append(_engine_forward_backward(layer, x, up, training=True))
        finally:
            batch_parallel.set_split_threads(previous)
    # The chunks depend on the thread count (and BLAS's row sums on where a row
    # falls in its chunk), so each run is checked against the reference.
    for y, gx, gw in results:
        np.testing.assert_allclose(y, ref_y, atol=2e-5)
        np.testing.assert_allclose(gx, ref_gx, atol=5e-5)
        np.testing.assert_allclose(gw["gamma"], ref_gg, rtol=1e-4, atol=2e-3)
        if not rms:
            np.testing.assert_allclose(gw["beta"], ref_gb, rtol=1e-4, atol=2e-3)


def test_rms_scaling_scales_by_variance_like_keras():
    x = RNG.normal(size=(3, 5)).astype("float32") + 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = layers.LayerNormalization(rms_scaling=True, epsilon=1e-3)
    expected = x / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5)


def test_bad_arguments_raise_clear_errors():
    x = np.ones((2, 6), "float32")
    with pytest.raises(ValueError, match="multiple of groups"):
        layers.GroupNormalization(groups=4)(x)
    with pytest.raises(ValueError, match="cannot be more"):
        layers.GroupNormalization()(x)
    with pytest.raises(ValueError, match="batch axis"):
        layers.GroupNormalization(groups=2, axis=0)(x)
    with pytest.raises(ValueError, match="out of range"):
        layers.BatchNormalization(axis=2)(x)
    with pytest.raises(ValueError, match="out of range"):
        layers.LayerNormalization(axis=[1, 3])(x)
    with pytest.raises(TypeError, match="axis"):
        layers.BatchNormalization(axis=[1, 2])
    with pytest.raises(TypeError, match="axis"):
        layers.LayerNormalization(axis="last")
    with pytest.raises(ValueError, match="shape"):
        ops.batch_normalization(x, np.zeros(5), np.ones(6), axis=-1)


def test_get_config_round_trips():
    assert_config_round_trip(
        layers.BatchNormalization(
            axis=1,
            momentum=0.9,
            epsilon=1e-5,
            center=False,
            gamma_initializer="he_normal",
            gamma_regularizer="l2",
            gamma_constraint="non_neg",
            synchronized=True,
        )
    )
    ln = layers.LayerNormalization(axis=(1, 2), epsilon=1e-6, scale=False, beta_regularizer="l1")
    assert assert_config_round_trip(ln).axis == [1, 2]
    built = layers.LayerNormalization()
    built(np.ones((2, 3), "float32"))
    assert built.get_config()["axis"] == [-1]
    assert_config_round_trip(built)
    gn = layers.GroupNormalization(groups=-1, axis=1, center=False)
    assert_config_round_trip(gn)
    gn(np.ones((2, 4, 3), "float32"))
    assert gn.get_config()["groups"] == 4
    assert_config_round_trip(layers.UnitNormalization(axis=[1, 2]))
    config = layers.BatchNormalization().get_config()
    assert {k: config[k] for k in ("axis", "momentum", "epsilon", "center", "scale")} == {
        "axis": -1,
        "momentum": 0.99,
        "epsilon": 0.001,
        "center": True,
        "scale": True,
    }


# Training -------------------------------------------------------------------------------------
def _bn_mlp() -> engine.Model:
    return engine.Sequential(
        [
            layers.Dense(16, input_shape=(4,)),
            layers.BatchNormalization(momentum=0.9),
            layers.Activation("relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )


def _blobs(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, size=n)
    centers = np.array([[2, 0, 0, 1], [0, 2, 0, -1], [0, 0, 2, 0]], dtype="float32")
    x = (centers[y] + rng.normal(scale=0.7, size=(n, 4))).astype("float32") * 5 + 10
    return x, y


def _manual_inference(model: engine.Model, x: np.ndarray) -> np.ndarray:
    k1, b1, gamma, beta, mm, mv, k2, b2 = model.get_weights()
    h = x @ k1 + b1
    h = np.maximum((h - mm) / np.sqrt(mv + 1e-3) * gamma + beta, 0)
    logits = h @ k2 + b2
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_model_with_batch_normalization_trains_and_evaluates_with_moving_statistics():
    engine.utils.set_random_seed(0)
    x, y = _blobs()
    model = _bn_mlp()
    model.compile(
        optimizer=engine.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    bn = model.layers[1]
    # The raw inputs are around 10 * 5: the moving mean has tracked the Dense outputs.
    h = x @ model.layers[0].kernel.numpy() + model.layers[0].bias.numpy()
    np.testing.assert_allclose(bn.moving_mean.numpy(), h.mean(0), rtol=0.1, atol=0.5)

    before = [w.copy() for w in model.get_weights()]
    probs = model.predict(x, verbose=0)
    loss, acc = model.evaluate(x, y, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    expected = _manual_inference(model, x)
    np.testing.assert_allclose(probs, expected, rtol=1e-4, atol=1e-5)
    manual_loss = -np.mean(np.log(np.clip(expected[np.arange(len(y)), y], 1e-7, 1)))
    assert loss == pytest.approx(manual_loss, rel=1e-4)
    assert acc == pytest.approx(np.mean(expected.argmax(1) == y))
    assert acc > 0.9


def test_frozen_batch_normalization_stays_in_inference_mode_inside_fit(monkeypatch):
    engine.utils.set_random_seed(1)
    x, y = _blobs(128)
    model = _bn_mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    bn = model.layers[1]
    bn.trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    frozen = [w.copy() for w in bn.get_weights()]
    dense_before = model.layers[0].kernel.numpy().copy()

    def batch_statistics_used(*args, **kwargs):
        raise AssertionError("a frozen BatchNormalization normalized with batch statistics")

    monkeypatch.setattr(bn_module, "fused_batch_norm", batch_statistics_used)
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    for a, b in zip(frozen, bn.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(dense_before, model.layers[0].kernel.numpy())
    np.testing.assert_array_equal(
        model(x[:8], training=True).numpy(), model(x[:8], training=False).numpy()
    )


def test_save_and_load_restore_the_moving_statistics(tmp_path):
    engine.utils.set_random_seed(2)
    x, y = _blobs(96)
    model = _bn_mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    path = (tmp_path / "bn.keras").as_posix()
    model.save(path)
    restored = engine.models.load_model(path)
    bn, rbn = model.layers[1], restored.layers[1]
    assert not np.allclose(bn.moving_variance.numpy(), 1)
    np.testing.assert_array_equal(rbn.moving_mean.numpy(), bn.moving_mean.numpy())
    np.testing.assert_array_equal(rbn.moving_variance.numpy(), bn.moving_variance.numpy())
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    weights_path = (tmp_path / "bn.weights.npz").as_posix()
    model.save_weights(weights_path)
    fresh = _bn_mlp()
    fresh.load_weights(weights_path)
    np.testing.assert_array_equal(fresh.layers[1].moving_mean.numpy(), bn.moving_mean.numpy())


def test_small_cnn_with_batch_and_group_normalization_trains():
    engine.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, size=96)
    x = rng.normal(scale=0.3, size=(96, 6, 6, 2)).astype("float32")
    x[y == 1, :3, :, 0] += 1.0
    x[y == 0, 3:, :, 1] += 1.0
    model = engine.Sequential(
        [
            layers.Reshape((6, 6, 2), input_shape=(6, 6, 2)),
            layers.BatchNormalization(),
            layers.GroupNormalization(groups=2),
            layers.LayerNormalization(axis=[1, 2, 3]),
            layers.Flatten(),
            layers.Dense(8, activation="relu"),
            layers.BatchNormalization(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=engine.optimizers.Adam(0.02), loss="binary_crossentropy")
    history = model.fit(x, y[:, None].astype("float32"), epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.predict(x, verbose=0).dtype == np.float32


def test_ops_accept_non_contiguous_inputs_and_upstream_gradients(float64):
    x = RNG.normal(size=(4, 5, 3))
    gamma, beta = RNG.normal(size=3), RNG.normal(size=3)
    strided = x.transpose(1, 0, 2)
    assert not strided.flags.c_contiguous
    for op in (
        lambda t, g, b: ops.fused_batch_norm(t, g, b)[0],
        lambda t, g, b: ops.layer_normalization(t, g, b),
        lambda t, g, b: ops.group_normalization(t, 3, g, b),
    ):
        # Transposes around the op hand it a strided view and a strided upstream gradient.
        check_gradients(
            lambda t, g, b, op=op: ops.transpose(op(ops.transpose(t, (1, 0, 2)), g, b), (1, 0, 2)),
            x,
            gamma,
            beta,
        )
        np.testing.assert_allclose(
            op(Tensor(strided), gamma, beta).numpy(),
            op(Tensor(np.ascontiguousarray(strided)), gamma, beta).numpy(),
            atol=1e-12,
        )


def test_inference_gradient_uses_the_statistics_of_its_own_call(float64):
    # One tape, inference then training: the training call moves the moving
    # mean in place before the inference call's backward runs.
    x = RNG.normal(size=(6, 3)) * 2 + 3
    layer = _random_affine(layers.BatchNormalization(momentum=0.5), x)
    mm = layer.moving_mean.numpy().copy()
    mv = layer.moving_variance.numpy().copy()
    with GradientTape() as tape:
        y = layer(x, training=False)
        layer(x, training=True)
        total = ops.sum(y * x)
    ggamma = tape.gradient(total, layer.gamma)
    assert not np.allclose(layer.moving_mean.numpy(), mm)
    np.testing.assert_allclose(ggamma, ((x - mm) / np.sqrt(mv + 1e-3) * x).sum(0))


@pytest.mark.parametrize("workers", [1, 2], ids=["inline", "threads"])
def test_cache_sized_chunks_match_float64_torch(workers):
    # Inputs large enough to be split into several chunks (and run on the
    # thread pool with two workers), against PyTorch in float64.
    torch = pytest.importorskip("torch")
    f = torch.nn.functional
    previous = batch_parallel.num_workers()
    batch_parallel.set_num_workers(workers)
    try:
        cases = [
            (lambda t, g, b: ops.fused_batch_norm(t, g, b)[0], (64, 16, 16, 32), "bn", -1),
            (lambda t, g, b: ops.fused_batch_norm(t, g, b, axis=1)[0], (256, 4, 8, 16), "bn", 1),
            (
                lambda t, g, b: ops.layer_normalization(t, g, b, epsilon=1e-3),
                (64, 64, 128),
                "ln",
                -1,
            ),
            (lambda t, g, b: ops.group_normalization(t, 8, g, b), (64, 8, 8, 32), "gn", -1),
            (
                lambda t, g, b: ops.batch_normalization(t, stats[0], stats[1], -1, b, g),
                (64, 16, 16, 32),
                "bn_inference",
                -1,
            ),
        ]
        stats = (RNG.normal(size=32).astype("float32"), RNG.uniform(0.5, 2, 32).astype("float32"))
        for op, shape, kind, axis in cases:
            x = (RNG.normal(size=shape) * 3 + 5).astype("float32")
            up = RNG.normal(size=shape).astype("float32")
            c = shape[axis]
            gamma = RNG.normal(size=c).astype("float32")
            beta = RNG.normal(size=c).astype("float32")
            tensors = [Tensor(x), Tensor(gamma), Tensor(beta)]
            with GradientTape() as tape:
                tape.watch(tensors)
                y = op(*tensors)
                total = ops.sum(y * up)
            grads = tape.gradient(total, tensors)

            tx, tg, tb = (
                torch.tensor(v.astype("float64"), requires_grad=True) for v in (x, gamma, beta)
            )
            if kind == "ln":
                ty = f.layer_norm(tx, (c,), tg, tb, eps=1e-3)
            else:
                moved = tx.movedim(axis, 1)
                if kind == "bn":
                    ty = f.batch_norm(moved, None, None, tg, tb, training=True, eps=1e-3)
                elif kind == "bn_inference":
                    mean, var = (torch.tensor(v.astype("float64")) for v in stats)
                    ty = f.batch_norm(moved, mean, var, tg, tb, training=False, eps=1e-3)
                else:
                    ty = f.group_norm(moved, 8, tg, tb, eps=1e-3)
                ty = ty.movedim(1, axis)
            (ty * torch.tensor(up.astype("float64"))).sum().backward()
            np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=5e-5, err_msg=kind)
            for got, want, name in zip(grads, (tx.grad, tg.grad, tb.grad), ("x", "gamma", "beta")):
                want = want.numpy()
                scale = np.abs(want).max()
                np.testing.assert_allclose(got, want, atol=2e-5 * scale, err_msg=f"{kind} {name}")
    finally:
        batch_parallel.set_num_workers(previous)


def test_empty_batches():
    x = np.zeros((0, 4), "float32")
    for layer in (
        layers.BatchNormalization(),
        layers.LayerNormalization(),
        layers.GroupNormalization(groups=2),
        layers.UnitNormalization(),
    ):
        t = Tensor(x)
        with GradientTape() as tape:
            tape.watch(t)
            y = layer(t)
            total = ops.sum(y)
        grads = tape.gradient(total, [t, *layer.trainable_weights])
        assert y.shape == (0, 4) and grads[0].shape == (0, 4)
        assert all(np.array_equal(g, np.zeros(4)) for g in grads[1:])
    with pytest.raises(ValueError, match="at least one value"):
        layers.BatchNormalization()(x, training=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_spread_writes_the_broadcast_product_bit_for_bit(dtype):
    from engine.ops.normalization import _Spread

    u = RNG.normal(size=1001).astype(dtype) * 1e3
    v = RNG.normal(size=37).astype(dtype) * 1e-3
    spread = _Spread(37, np.dtype(dtype))
    out = np.full((1001, 37), np.nan, dtype)
    assert spread.fill(u, spread.row(v), out) is out
    np.testing.assert_array_equal(out, u[:, None] * v)
    ones = spread.fill(u[:5], spread.row(None), out[:5])
    np.testing.assert_array_equal(ones, np.broadcast_to(u[:5, None], (5, 37)))


@pytest.mark.parametrize("rms", [False, True], ids=["centered", "rms_scaling"])
def test_float16_layer_normalization_of_small_variances_is_computed_in_float32(rms):
    # inv = 1 / sqrt(var + eps) is 1000 here; its cube in the backward pass
    # overflows float16, which is why half precision runs in float32.
    x, up, gamma, beta = _layer_norm_inputs((8, 64), 0.01, 0.5, "float16")
    tx, tg, tb = Tensor(x), Tensor(gamma), Tensor(beta)
    with GradientTape() as tape:
        tape.watch([tx, tg, tb])
        y = ops.layer_normalization(tx, tg, None if rms else tb, epsilon=1e-6, rms_scaling=rms)
        total = ops.sum(ops.multiply(y, up))
    gx, gg, gb = tape.gradient(total, [tx, tg, tb])
    assert y.dtype == np.float16 and gx.dtype == np.float16 and gg.dtype == np.float16
    ref_y, ref_gx, ref_gg, ref_gb = _layer_norm_reference(
        x.astype("float32"), gamma, beta, up, 1e-6, rms
    )
    np.testing.assert_allclose(y.numpy(), ref_y, rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose(gx, ref_gx, rtol=2e-2, atol=0.5)
    np.testing.assert_allclose(gg, ref_gg, rtol=2e-2, atol=0.1)
    if not rms:
        np.testing.assert_allclose(gb, ref_gb, rtol=2e-2, atol=0.1)
