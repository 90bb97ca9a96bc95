"""Tests for engine.losses: values, reductions, masks, gradients, fusion and serialization."""

from __future__ import annotations

import doctest
import importlib
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from engine import losses, ops
from engine.backend import GradientTape, Tensor, set_floatx

B, K = 4, 3


@pytest.fixture
def f64():
    set_floatx("float64")
    yield
    set_floatx("float32")


# Helpers ---------------------------------------------------------------------
def numeric_grad(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of a scalar function of `x` (float64)."""
    x = x.astype(np.float64).copy()
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        down = f(x)
        x[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def tape_grads(fn: Callable[..., Tensor], y_true: Any, y_pred: Any, cot: Any = None, **kw):
    """Value of `fn(y_true, y_pred, **kw)` and its gradients w.r.t. both, through the tape."""
    yt, yp = Tensor(np.array(y_true)), Tensor(np.array(y_pred))
    with GradientTape() as tape:
        tape.watch([yt, yp])
        out = fn(yt, yp, **kw)
    g_true, g_pred = tape.gradient(out, [yt, yp], output_gradients=cot)
    return out, g_true, g_pred


def _onehot(rng: np.random.Generator, n: int = B, k: int = K) -> np.ndarray:
    return np.eye(k)[rng.integers(0, k, n)]


def _away(rng: np.random.Generator, shape: tuple[int, ...], lo: float, hi: float) -> np.ndarray:
    """Random magnitudes in [lo, hi] with random signs: keeps inputs off kinks."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(lo, hi, shape)


def _huber_data(rng):
    yt = rng.normal(size=(B, K))
    mag = np.where(rng.random((B, K)) < 0.5, rng.uniform(0.1, 0.6, (B, K)), rng.uniform(1.0, 2))
    return yt, yt + rng.choice([-1.0, 1.0], (B, K)) * mag


def _hinge_data(rng, binary: bool = False):
    signs = rng.choice([-1.0, 1.0], (B, K))
    yp = signs * (1 + _away(rng, (B, K), 0.2, 0.8))
    return ((signs + 1) / 2 if binary else signs), yp


def _categorical_hinge_data(rng):
    yt = _onehot(rng)
    yp = rng.normal(size=(B, K)) * 2
    pos = (yt * yp).sum(-1)
    neg = ((1 - yt) * yp).max(-1)
    margin = neg - pos + 1
    # Keep every row's margin clear of the kink at 0.
    yp += yt * np.where(np.abs(margin) < 0.2, 0.5, 0.0)[:, None]
    return yt, yp


def _scce_ignore_data(rng):
    labels = rng.integers(0, K, B)
    labels[1] = -1
    return labels, rng.normal(size=(B, K))


@dataclass
class Case:
    make: Callable[..., losses.Loss]
    data: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
    grad_true: bool = True
    weight_shape: tuple[int, ...] = (B,)
    kwargs: dict[str, Any] = field(default_factory=dict)


def _probs(rng, lo=0.05, hi=0.95):
    return rng.uniform(lo, hi, (B, K))


CASES: dict[str, Case] = {
    "mse": Case(losses.MeanSquaredError, lambda r: (r.normal(size=(B, K)), r.normal(size=(B, K)))),
    "mae": Case(
        losses.MeanAbsoluteError,
        lambda r: (lambda t: (t, t + _away(r, (B, K), 0.2, 1.0)))(r.normal(size=(B, K))),
    ),
    "mape": Case(
        losses.MeanAbsolutePercentageError,
        lambda r: (lambda t: (t, t + _away(r, (B, K), 0.2, 1.0)))(_away(r, (B, K), 0.5, 2.0)),
    ),
    "msle": Case(
        losses.MeanSquaredLogarithmicError,
        lambda r: (r.uniform(0.1, 3, (B, K)), r.uniform(0.1, 3, (B, K))),
    ),
    "huber": Case(lambda **kw: losses.Huber(delta=0.8, **kw), _huber_data),
    "log_cosh": Case(losses.LogCosh, lambda r: (r.normal(size=(B, K)), 2 * r.normal(size=(B, K)))),
    "cosine": Case(
        losses.CosineSimilarity, lambda r: (r.normal(size=(B, K)), r.normal(size=(B, K)))
    ),
    "cosine_axis0": Case(
        lambda **kw: losses.CosineSimilarity(axis=0, **kw),
        lambda r: (r.normal(size=(B, K)), r.normal(size=(B, K))),
        weight_shape=(K,),
    ),
    "kld": Case(losses.KLDivergence, lambda r: (_probs(r), _probs(r))),
    "poisson": Case(
        losses.Poisson,
        lambda r: (r.integers(0, 5, (B, K)).astype(float), r.uniform(0.2, 3, (B, K))),
    ),
    "bce": Case(
        losses.BinaryCrossentropy,
        lambda r: (r.integers(0, 2, (B, K)).astype(float), _probs(r)),
    ),
    "bce_ls": Case(
        lambda **kw: losses.BinaryCrossentropy(label_smoothing=0.2, **kw),
        lambda r: (r.integers(0, 2, (B, K)).astype(float), _probs(r)),
    ),
    "bce_logits": Case(
        lambda **kw: losses.BinaryCrossentropy(from_logits=True, **kw),
        lambda r: (r.uniform(0, 1, (B, K)), 2 * r.normal(size=(B, K))),
    ),
    "bce_logits_ls": Case(
        lambda **kw: losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, **kw),
        lambda r: (r.integers(0, 2, (B, K)).astype(float), 2 * r.normal(size=(B, K))),
    ),
    "cce": Case(losses.CategoricalCrossentropy, lambda r: (_onehot(r), _probs(r, 0.1, 1.0))),
    "cce_ls": Case(
        lambda **kw: losses.CategoricalCrossentropy(label_smoothing=0.1, **kw),
        lambda r: (_onehot(r), _probs(r, 0.1, 1.0)),
    ),
    "cce_logits": Case(
        lambda **kw: losses.CategoricalCrossentropy(from_logits=True, **kw),
        lambda r: (lambda t: (t / t.sum(-1, keepdims=True), r.normal(size=(B, K))))(_probs(r)),
    ),
    "cce_logits_ls": Case(
        lambda **kw: losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2, **kw),
        lambda r: (_onehot(r), 2 * r.normal(size=(B, K))),
    ),
    "scce": Case(
        losses.SparseCategoricalCrossentropy,
        lambda r: (r.integers(0, K, B), _probs(r, 0.1, 1.0)),
        grad_true=False,
    ),
    "scce_logits": Case(
        lambda **kw: losses.SparseCategoricalCrossentropy(from_logits=True, **kw),
        lambda r: (r.integers(0, K, (B, 1)).astype(float), r.normal(size=(B, K))),
        grad_true=False,
    ),
    "scce_ignore": Case(
        lambda **kw: losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, **kw),
        _scce_ignore_data,
        grad_true=False,
    ),
    "bfce": Case(
        losses.BinaryFocalCrossentropy,
        lambda r: (r.integers(0, 2, (B, K)).astype(float), _probs(r)),
        grad_true=False,
    ),
    "bfce_logits_balanced": Case(
        lambda **kw: losses.BinaryFocalCrossentropy(
            apply_class_balancing=True,
            alpha=0.3,
            gamma=1.5,
            from_logits=True,
            label_smoothing=0.1,
            **kw,
        ),
        lambda r: (r.integers(0, 2, (B, K)).astype(float), 2 * r.normal(size=(B, K))),
        grad_true=False,
    ),
    "cfce": Case(
        losses.CategoricalFocalCrossentropy,
        lambda r: (_onehot(r), _probs(r, 0.1, 1.0)),
        grad_true=False,
    ),
    "cfce_logits": Case(
        lambda **kw: losses.CategoricalFocalCrossentropy(
            alpha=[0.2, 0.3, 0.5], gamma=1.5, from_logits=True, label_smoothing=0.1, **kw
        ),
        lambda r: (_onehot(r), 2 * r.normal(size=(B, K))),
        grad_true=False,
    ),
    "hinge": Case(losses.Hinge, _hinge_data, grad_true=False),
    "hinge_binary_labels": Case(
        losses.Hinge, lambda r: _hinge_data(r, binary=True), grad_true=False
    ),
    "squared_hinge": Case(losses.SquaredHinge, _hinge_data, grad_true=False),
    "categorical_hinge": Case(losses.CategoricalHinge, _categorical_hinge_data, grad_true=False),
}

REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None]


def _case_data(name: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    case = CASES[name]
    y_true, y_pred = case.data(rng)
    weights = rng.uniform(0.2, 2.0, case.weight_shape)
    return case, np.asarray(y_true), np.asarray(y_pred, dtype=np.float64), weights


# Gradient checks (float64, every loss, every reduction, with and without weights) -----------
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
@pytest.mark.parametrize("name", sorted(CASES))
def test_class_gradient_matches_central_differences(f64, name, reduction, weighted):
    case, y_true, y_pred, weights = _case_data(name)
    loss = case.make(reduction=reduction)
    sw = weights if weighted else None
    out, g_true, g_pred = tape_grads(loss, y_true, y_pred, sample_weight=sw)
    cot = np.random.default_rng(1).normal(size=out.shape)

    def f_pred(x):
        return float(np.sum(loss(y_true, x, sample_weight=sw).numpy() * cot))

    if out.shape:
        _, g_true, g_pred = tape_grads(loss, y_true, y_pred, cot=cot, sample_weight=sw)
    else:
        cot = np.ones(())
    assert out.dtype == np.float64
    np.testing.assert_allclose(g_pred, numeric_grad(f_pred, y_pred), rtol=1e-5, atol=1e-7)
    if case.grad_true:

        def f_true(t):
            return float(np.sum(loss(t, y_pred, sample_weight=sw).numpy() * cot))

        np.testing.assert_allclose(g_true, numeric_grad(f_true, y_true), rtol=1e-5, atol=1e-7)
    else:
        assert g_true is None


@pytest.mark.parametrize("name", sorted(CASES))
def test_function_form_gradient_and_per_sample_shape(f64, name):
    case, y_true, y_pred, _ = _case_data(name, seed=3)
    wrapper = case.make()
    fn, kw = wrapper.fn, wrapper._fn_kwargs
    out = fn(y_true, y_pred, **kw)
    expected_shape = (K,) if name == "cosine_axis0" else (B,)
    assert isinstance(out, Tensor) and out.shape == expected_shape
    cot = np.random.default_rng(2).normal(size=out.shape)
    _, g_true, g_pred = tape_grads(fn, y_true, y_pred, cot=cot, **kw)

    def f(x):
        return float(np.sum(fn(y_true, x, **kw).numpy() * cot))

    np.testing.assert_allclose(g_pred, numeric_grad(f, y_pred), rtol=1e-5, atol=1e-7)
    if case.grad_true:

        def f_true(t):
            return float(np.sum(fn(t, y_pred, **kw).numpy() * cot))

        np.testing.assert_allclose(g_true, numeric_grad(f_true, y_true), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_in_float32_out(name):
    case, y_true, y_pred, weights = _case_data(name, seed=4)
    loss = case.make()
    yp = Tensor(y_pred.astype(np.float32))
    with GradientTape() as tape:
        tape.watch(yp)
        # float64 labels and weights must not promote the float32 computation.
        out = loss(y_true, yp, sample_weight=weights)
    grad = tape.gradient(out, yp)
    assert out.dtype == np.float32 and grad.dtype == np.float32
    assert loss.fn(y_true, yp, **loss._fn_kwargs).dtype == np.float32


@pytest.mark.parametrize("name", sorted(CASES))
def test_class_loss_is_one_tape_entry(name):
    case, y_true, y_pred, weights = _case_data(name, seed=5)
    yp = Tensor(y_pred.astype(np.float32))
    with GradientTape(persistent=True) as tape:
        tape.watch(yp)
        case.make()(y_true, yp, sample_weight=weights)
    assert len(tape._entries) == 1


# Fused softmax / sigmoid + crossentropy -----------------------------------------------------
def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


FUSED = {
    "cce": (
        lambda: losses.CategoricalCrossentropy(label_smoothing=0.1),
        ops.softmax,
        _softmax,
        lambda r: _onehot(r),
    ),
    "scce": (
        losses.SparseCategoricalCrossentropy,
        ops.softmax,
        _softmax,
        lambda r: r.integers(0, K, B),
    ),
    "scce_ignore": (
        lambda: losses.SparseCategoricalCrossentropy(ignore_class=0),
        ops.softmax,
        _softmax,
        lambda r: np.array([0, 1, 2, 1]),
    ),
    "bce": (
        lambda: losses.BinaryCrossentropy(label_smoothing=0.2),
        ops.sigmoid,
        _sigmoid,
        lambda r: r.integers(0, 2, (B, K)).astype(float),
    ),
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_activation_gradient_wrt_logits(f64, name, weighted):
    make, activation, np_activation, labels = FUSED[name]
    rng = np.random.default_rng(6)
    y_true = labels(rng)
    logits_value = 2 * rng.normal(size=(B, K))
    sw = rng.uniform(0.2, 2, B) if weighted else None
    loss = make()
    logits = Tensor(logits_value.copy())
    with GradientTape(persistent=True) as tape:
        tape.watch(logits)
        out = loss(y_true, activation(logits), sample_weight=sw)
    grad = tape.gradient(out, logits)
    # The loss entry hangs off the logits: the activation's own backward is skipped.
    assert tape._entries[-1][1][1] is logits

    def f(x):
        return float(loss(y_true, np_activation(x), sample_weight=sw).numpy())

    np.testing.assert_allclose(grad, numeric_grad(f, logits_value), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(float(out.numpy()), f(logits_value), rtol=1e-6)


def test_fused_softmax_is_stable_where_clipping_would_saturate():
    logits = Tensor(np.array([[30.0, -30.0, 0.0]], dtype=np.float32))
    with GradientTape() as tape:
        tape.watch(logits)
        out = losses.SparseCategoricalCrossentropy()([1], ops.softmax(logits))
    grad = tape.gradient(out, logits)
    # From the logits: log-softmax gives ~60; clipped probabilities would cap it at -log(1e-7).
    assert float(out.numpy()) == pytest.approx(60.0, rel=1e-5)
    np.testing.assert_allclose(grad, [[1.0, -1.0, 0.0]], atol=1e-6)
    unfused = losses.SparseCategoricalCrossentropy()([1], ops.softmax(logits).numpy())
    assert float(unfused.numpy()) == pytest.approx(-math.log(1e-7), rel=1e-5)


def test_fused_sigmoid_is_stable_where_clipping_would_saturate():
    logits = Tensor(np.array([[-40.0]], dtype=np.float32))
    with GradientTape() as tape:
        tape.watch(logits)
        out = losses.BinaryCrossentropy()([[1.0]], ops.sigmoid(logits))
    assert float(out.numpy()) == pytest.approx(40.0, rel=1e-5)
    np.testing.assert_allclose(tape.gradient(out, logits), [[-1.0]], atol=1e-6)


def test_binary_loss_on_softmax_output_uses_probabilities_not_sigmoid_logits():
    logits = Tensor(np.array([[2.0, -1.0], [0.5, 0.3]], dtype=np.float32))
    probs = ops.softmax(logits)
    y_true = np.array([[1.0, 0.0], [0.0, 1.0]])
    fused = losses.BinaryCrossentropy()(y_true, probs)
    plain = losses.BinaryCrossentropy()(y_true, probs.numpy())
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-6)


def test_categorical_loss_on_sigmoid_output_uses_probabilities():
    logits = Tensor(np.array([[2.0, -1.0, 0.1]], dtype=np.float32))
    probs = ops.sigmoid(logits)
    fused = losses.CategoricalCrossentropy()([[0.0, 1.0, 0.0]], probs)
    plain = losses.CategoricalCrossentropy()([[0.0, 1.0, 0.0]], probs.numpy())
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-6)


def test_softmax_over_another_axis_is_not_fused(f64):
    logits_value = np.random.default_rng(7).normal(size=(2, 3, 4))
    y_true = np.eye(4)[[[0, 1, 2], [3, 0, 1]]]
    logits = Tensor(logits_value.copy())
    with GradientTape() as tape:
        tape.watch(logits)
        out = losses.CategoricalCrossentropy()(y_true, ops.softmax(logits, axis=1))
    grad = tape.gradient(out, logits)

    def f(x):
        e = np.exp(x - x.max(1, keepdims=True))
        return float(losses.CategoricalCrossentropy()(y_true, e / e.sum(1, keepdims=True)).numpy())

    np.testing.assert_allclose(grad, numeric_grad(f, logits_value), rtol=1e-5, atol=1e-7)


# PyTorch oracles ---------------------------------------------------------------------
def _torch_pair(x):
    torch = pytest.importorskip("torch")
    return torch.tensor(np.asarray(x, dtype=np.float32), requires_grad=True)


def _ours(loss, y_true, y_pred, **kw):
    yp = Tensor(np.asarray(y_pred, dtype=np.float32))
    with GradientTape() as tape:
        tape.watch(yp)
        out = loss(y_true, yp, **kw)
    return out.numpy(), tape.gradient(out, yp)


def _compare(ours, theirs_value, theirs_grad):
    np.testing.assert_allclose(ours[0], theirs_value.detach().numpy(), rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(ours[1], theirs_grad.numpy(), rtol=2e-4, atol=1e-6)


def test_torch_mse_l1_huber():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    y_true, y_pred = rng.normal(size=(5, 4)), rng.normal(size=(5, 4)) * 2
    for ours, theirs in [
        (losses.MeanSquaredError(), torch.nn.MSELoss()),
        (losses.MeanAbsoluteError(), torch.nn.L1Loss()),
        (losses.Huber(delta=0.7), torch.nn.HuberLoss(delta=0.7)),
    ]:
        p = _torch_pair(y_pred)
        value = theirs(p, torch.tensor(y_true, dtype=torch.float32))
        value.backward()
        _compare(_ours(ours, y_true, y_pred), value, p.grad)


def test_torch_binary_crossentropy_probabilities_and_logits():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    y_true = rng.uniform(0, 1, (5, 4))
    w = rng.uniform(0.2, 2, 5)
    target = torch.tensor(y_true, dtype=torch.float32)
    weight = torch.tensor(w[:, None], dtype=torch.float32)
    probs = rng.uniform(0.05, 0.95, (5, 4))
    p = _torch_pair(probs)
    value = torch.nn.BCELoss(weight=weight)(p, target)
    value.backward()
    _compare(_ours(losses.BinaryCrossentropy(), y_true, probs, sample_weight=w), value, p.grad)

    logits = rng.normal(size=(5, 4)) * 3
    p = _torch_pair(logits)
    value = torch.nn.BCEWithLogitsLoss()(p, target)
    value.backward()
    _compare(_ours(losses.BinaryCrossentropy(from_logits=True), y_true, logits), value, p.grad)
    # The fused sigmoid path differentiates w.r.t. the same logits.
    fused = _ours(lambda t, x: losses.BinaryCrossentropy()(t, ops.sigmoid(x)), y_true, logits)
    _compare(fused, value, p.grad)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
def test_torch_cross_entropy_with_soft_targets(label_smoothing):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    y_true = _onehot(rng, 6, 5)
    logits = rng.normal(size=(6, 5)) * 2
    p = _torch_pair(logits)
    value = torch.nn.CrossEntropyLoss(label_smoothing=label_smoothing)(
        p, torch.tensor(y_true, dtype=torch.float32)
    )
    value.backward()
    ours = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)
    _compare(_ours(ours, y_true, logits), value, p.grad)
    fused = losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    _compare(_ours(lambda t, x: fused(t, ops.softmax(x)), y_true, logits), value, p.grad)


def test_torch_cross_entropy_with_class_indices_and_ignore_index():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    labels = np.array([0, 3, -1, 2, 1, -1])
    logits = rng.normal(size=(6, 4)) * 2
    p = _torch_pair(logits)
    value = torch.nn.CrossEntropyLoss(ignore_index=-1)(p, torch.tensor(labels))
    value.backward()
    ours = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    _compare(_ours(ours, labels, logits), value, p.grad)
    fused = losses.SparseCategoricalCrossentropy(ignore_class=-1)
    _compare(_ours(lambda t, x: fused(t, ops.softmax(x)), labels, logits), value, p.grad)


def test_torch_nll_matches_categorical_crossentropy_value_on_probabilities():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(14)
    probs = _softmax(rng.normal(size=(6, 4)))
    labels = rng.integers(0, 4, 6)
    expected = torch.nn.NLLLoss()(torch.log(torch.tensor(probs)), torch.tensor(labels))
    ours = losses.CategoricalCrossentropy()(np.eye(4)[labels], probs.astype(np.float32))
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=1e-5)
    ours = losses.SparseCategoricalCrossentropy()(labels, probs.astype(np.float32))
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=1e-5)


def test_torch_kl_divergence_and_poisson():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(15)
    y_true = _softmax(rng.normal(size=(5, 4)))
    y_pred = _softmax(rng.normal(size=(5, 4)))
    p = _torch_pair(y_pred)
    value = torch.nn.KLDivLoss(reduction="batchmean")(
        torch.log(p), torch.tensor(y_true, dtype=torch.float32)
    )
    value.backward()
    _compare(_ours(losses.KLDivergence(), y_true, y_pred), value, p.grad)

    counts = rng.integers(0, 6, (5, 4)).astype(float)
    rates = rng.uniform(0.2, 4, (5, 4))
    p = _torch_pair(rates)
    # With log_input=False and eps=epsilon() torch's Poisson NLL is Keras's formula.
    value = torch.nn.PoissonNLLLoss(log_input=False, eps=1e-7)(
        p, torch.tensor(counts, dtype=torch.float32)
    )
    value.backward()
    _compare(_ours(losses.Poisson(), counts, rates), value, p.grad)


def test_torch_cosine_similarity():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(16)
    y_true, y_pred = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    p = _torch_pair(y_pred)
    value = -torch.nn.functional.cosine_similarity(
        p, torch.tensor(y_true, dtype=torch.float32), dim=-1
    ).mean()
    value.backward()
    _compare(_ours(losses.CosineSimilarity(), y_true, y_pred), value, p.grad)


# Hand formulas where torch has no twin ------------------------------------------------
def test_hand_formulas_for_losses_without_a_torch_twin():
    rng = np.random.default_rng(17)
    t, p = rng.uniform(0.5, 2, (4, 3)), rng.uniform(0.1, 3, (4, 3))
    eps = 1e-7
    expected = {
        "mean_absolute_percentage_error": 100 * np.mean(np.abs((t - p) / t), -1),
        "mean_squared_logarithmic_error": np.mean((np.log(p + 1) - np.log(t + 1)) ** 2, -1),
        "log_cosh": np.mean(np.log(np.cosh(p - t)), -1),
        "poisson": np.mean(p - t * np.log(p + eps), -1),
        "hinge": np.mean(np.maximum(1 - t * p, 0), -1),
        "squared_hinge": np.mean(np.maximum(1 - t * p, 0) ** 2, -1),
    }
    for name, value in expected.items():
        got = getattr(losses, name)(t, p.astype(np.float32)).numpy()
        np.testing.assert_allclose(got, value, rtol=1e-5, err_msg=name)

    onehot = _onehot(rng)
    scores = rng.normal(size=(B, K))
    pos = (onehot * scores).sum(-1)
    neg = ((1 - onehot) * scores).max(-1)
    np.testing.assert_allclose(
        losses.categorical_hinge(onehot, scores).numpy(), np.maximum(neg - pos + 1, 0), rtol=1e-5
    )

    labels = rng.integers(0, 2, (B, K)).astype(float)
    probs = rng.uniform(0.05, 0.95, (B, K))
    p_t = labels * probs + (1 - labels) * (1 - probs)
    bce = -(labels * np.log(probs) + (1 - labels) * np.log(1 - probs))
    weight = labels * 0.3 + (1 - labels) * 0.7
    np.testing.assert_allclose(
        losses.binary_focal_crossentropy(
            labels, probs, apply_class_balancing=True, alpha=0.3, gamma=3.0
        ).numpy(),
        np.mean(weight * (1 - p_t) ** 3 * bce, -1),
        rtol=1e-5,
    )
    norm = _softmax(rng.normal(size=(B, K)))
    np.testing.assert_allclose(
        losses.categorical_focal_crossentropy(onehot, norm, alpha=0.5, gamma=1.0).numpy(),
        np.sum(0.5 * (1 - norm) * -onehot * np.log(norm), -1),
        rtol=1e-5,
    )


# Keras docstring examples ------------------------------------------------------------------
Y2 = [[0, 1], [0, 0]]
P2 = [[0.6, 0.4], [0.4, 0.6]]
LOGITS_1D = [-18.6, 0.51, 2.94, -12.8]
LOGITS_2D = [[-18.6, 0.51], [2.94, -12.8]]
CCE_TRUE = [[0, 1, 0], [0, 0, 1]]
CCE_PRED = [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]

DOCSTRING_EXAMPLES = [
    (lambda: losses.BinaryCrossentropy(from_logits=True), ([0, 1, 0, 0], LOGITS_1D), {}, 0.8654),
    (lambda: losses.BinaryCrossentropy(from_logits=True), (Y2, LOGITS_2D), {}, 0.8654),
    (
        lambda: losses.BinaryCrossentropy(from_logits=True),
        (Y2, LOGITS_2D),
        {"sample_weight": [0.8, 0.2]},
        0.243,
    ),
    (
        lambda: losses.BinaryCrossentropy(from_logits=True, reduction="sum"),
        (Y2, LOGITS_2D),
        {},
        1.730,
    ),
    (
        lambda: losses.BinaryCrossentropy(from_logits=True, reduction=None),
        (Y2, LOGITS_2D),
        {},
        [0.235, 1.496],
    ),
    (lambda: losses.binary_crossentropy, (Y2, P2), {}, [0.916, 0.714]),
    (
        lambda: losses.BinaryFocalCrossentropy(gamma=2, from_logits=True),
        ([0, 1, 0, 0], LOGITS_1D),
        {},
        0.691,
    ),
    (
        lambda: losses.BinaryFocalCrossentropy(
            apply_class_balancing=True, gamma=2, from_logits=True
        ),
        ([0, 1, 0, 0], LOGITS_1D),
        {},
        0.51,
    ),
    (lambda: losses.BinaryFocalCrossentropy(gamma=3, from_logits=True), (Y2, LOGITS_2D), {}, 0.647),
    (
        lambda: losses.BinaryFocalCrossentropy(
            apply_class_balancing=True, gamma=3, from_logits=True
        ),
        (Y2, LOGITS_2D),
        {},
        0.482,
    ),
    (
        lambda: losses.BinaryFocalCrossentropy(gamma=3, from_logits=True),
        (Y2, LOGITS_2D),
        {"sample_weight": [0.8, 0.2]},
        0.133,
    ),
    (
        lambda: losses.BinaryFocalCrossentropy(
            apply_class_balancing=True, gamma=3, from_logits=True
        ),
        (Y2, LOGITS_2D),
        {"sample_weight": [0.8, 0.2]},
        0.097,
    ),
    (
        lambda: losses.BinaryFocalCrossentropy(gamma=4, from_logits=True, reduction="sum"),
        (Y2, LOGITS_2D),
        {},
        1.222,
    ),
    (
        lambda: losses.BinaryFocalCrossentropy(
            apply_class_balancing=True, gamma=4, from_logits=True, reduction="sum"
        ),
        (Y2, LOGITS_2D),
        {},
        0.914,
    ),
    (
        lambda: losses.BinaryFocalCrossentropy(gamma=5, from_logits=True, reduction=None),
        (Y2, LOGITS_2D),
        {},
        [0.0017, 1.1561],
    ),
    (
        lambda: losses.BinaryFocalCrossentropy(
            apply_class_balancing=True, gamma=5, from_logits=True, reduction=None
        ),
        (Y2, LOGITS_2D),
        {},
        [0.0004, 0.8670],
    ),
    (lambda: losses.binary_focal_crossentropy, (Y2, P2), {"gamma": 2}, [0.330, 0.206]),
    (lambda: losses.CategoricalCrossentropy(), (CCE_TRUE, CCE_PRED), {}, 1.177),
    (
        lambda: losses.CategoricalCrossentropy(),
        (CCE_TRUE, CCE_PRED),
        {"sample_weight": np.array([0.3, 0.7])},
        0.814,
    ),
    (lambda: losses.CategoricalCrossentropy(reduction="sum"), (CCE_TRUE, CCE_PRED), {}, 2.354),
    (
        lambda: losses.CategoricalCrossentropy(reduction=None),
        (CCE_TRUE, CCE_PRED),
        {},
        [0.0513, 2.303],
    ),
    (lambda: losses.SparseCategoricalCrossentropy(), ([1, 2], CCE_PRED), {}, 1.177),
    (
        lambda: losses.SparseCategoricalCrossentropy(),
        ([1, 2], CCE_PRED),
        {"sample_weight": np.array([0.3, 0.7])},
        0.814,
    ),
    (lambda: losses.SparseCategoricalCrossentropy(reduction="sum"), ([1, 2], CCE_PRED), {}, 2.354),
    (lambda: losses.CategoricalFocalCrossentropy(), (CCE_TRUE, CCE_PRED), {}, 0.23315276),
    (
        lambda: losses.CategoricalFocalCrossentropy(),
        (CCE_TRUE, CCE_PRED),
        {"sample_weight": np.array([0.3, 0.7])},
        0.1632,
    ),
    (
        lambda: losses.CategoricalFocalCrossentropy(reduction="sum"),
        (CCE_TRUE, CCE_PRED),
        {},
        0.46631,
    ),
    (
        lambda: losses.CategoricalFocalCrossentropy(reduction=None),
        (CCE_TRUE, CCE_PRED),
        {},
        [3.2058331e-05, 4.6627346e-01],
    ),
    (
        lambda: losses.categorical_focal_crossentropy,
        ([[0, 1, 0], [0, 0, 1]], [[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]]),
        {},
        [2.63401289e-04, 6.75912094e-01],
    ),
    (lambda: losses.Huber(), (Y2, P2), {}, 0.155),
    (lambda: losses.LogCosh(), ([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]), {}, 0.108),
    (
        lambda: losses.cosine_similarity,
        ([[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0], [-1.0, -1.0]]),
        {},
        [0.0, -0.99999994, 0.99999994],
    ),
    (lambda: losses.MeanSquaredError(), (Y2, [[1.0, 1.0], [1.0, 0.0]]), {}, 0.5),
    (lambda: losses.MeanAbsoluteError(), (Y2, [[1.0, 1.0], [1.0, 0.0]]), {}, 0.5),
    (
        lambda: losses.MeanAbsolutePercentageError(),
        ([[2.0, 1.0], [2.0, 3.0]], [[1.0, 1.0], [1.0, 0.0]]),
        {},
        50.0,
    ),
    (lambda: losses.MeanSquaredLogarithmicError(), (Y2, [[1.0, 1.0], [1.0, 0.0]]), {}, 0.240),
    (lambda: losses.Poisson(), (Y2, [[1.0, 1.0], [0.0, 0.0]]), {}, 0.5),
    (lambda: losses.KLDivergence(), (Y2, P2), {}, 0.458),
    (lambda: losses.Hinge(), (Y2, P2), {}, 1.3),
    (lambda: losses.SquaredHinge(), (Y2, P2), {}, 1.86),
    (lambda: losses.CategoricalHinge(), (Y2, P2), {}, 1.4),
]


@pytest.mark.parametrize("make, args, kwargs, expected", DOCSTRING_EXAMPLES)
def test_keras_docstring_examples(make, args, kwargs, expected):
    out = make()(*args, **kwargs)
    assert out.dtype == np.float32
    # Keras prints its examples truncated: allow one unit in the last printed digit.
    decimals = min(len(repr(float(v)).split(".")[-1]) for v in np.ravel(expected) if v)
    np.testing.assert_allclose(out.numpy(), expected, atol=10.0 ** -min(decimals, 4))


def test_kl_divergence_docstring_identity():
    rng = np.random.default_rng(18)
    y_true = rng.integers(0, 2, (2, 3)).astype(np.float32)
    y_pred = rng.random((2, 3)).astype(np.float32)
    t, p = np.clip(y_true, 1e-7, 1), np.clip(y_pred, 1e-7, 1)
    np.testing.assert_allclose(
        losses.kl_divergence(y_true, y_pred).numpy(), np.sum(t * np.log(t / p), -1), rtol=1e-5
    )


# Reductions, sample weights and masks ----------------------------------------------------
def test_reductions_relate_as_keras_defines_them():
    rng = np.random.default_rng(19)
    y_true, y_pred = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    w = rng.uniform(0.5, 2, 4)
    per_sample = np.mean((y_true - y_pred) ** 2, -1)

    def run(reduction, **kw):
        return losses.MeanSquaredError(reduction=reduction)(y_true, y_pred, **kw).numpy()

    np.testing.assert_allclose(run("none"), per_sample, rtol=1e-6)
    np.testing.assert_allclose(run(None, sample_weight=w), per_sample * w, rtol=1e-6)
    np.testing.assert_allclose(run("sum", sample_weight=w), np.sum(per_sample * w), rtol=1e-6)
    np.testing.assert_allclose(
        run("sum_over_batch_size", sample_weight=w), np.mean(per_sample * w), rtol=1e-6
    )
    np.testing.assert_allclose(run("mean", sample_weight=w), np.mean(per_sample * w), rtol=1e-6)
    np.testing.assert_allclose(
        run("mean_with_sample_weight", sample_weight=w), np.sum(per_sample * w) / w.sum(), rtol=1e-6
    )
    np.testing.assert_allclose(run("mean_with_sample_weight"), per_sample.mean(), rtol=1e-6)
    assert float(run("mean_with_sample_weight", sample_weight=np.zeros(4))) == 0.0


def test_unknown_reduction_is_rejected():
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")


@pytest.mark.parametrize(
    "weight_shape", [(), (4,), (4, 1), (4, 5), (4, 5, 1)], ids=lambda s: str(s)
)
def test_sample_weight_shapes_broadcast_over_sequence_losses(weight_shape):
    rng = np.random.default_rng(20)
    labels = rng.integers(0, 3, (4, 5))
    logits = rng.normal(size=(4, 5, 3))
    w = rng.uniform(0.5, 2, weight_shape)
    per_entry = losses.sparse_categorical_crossentropy(labels, logits, from_logits=True).numpy()
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    expected = np.sum(
        per_entry * np.reshape(w, np.shape(w)[:2] + (1,) * (2 - len(np.shape(w)[:2])))
    )
    np.testing.assert_allclose(loss(labels, logits, sample_weight=w).numpy(), expected, rtol=1e-5)


def test_sample_weight_that_does_not_broadcast_is_a_value_error():
    with pytest.raises(ValueError, match="sample_weight"):
        losses.MeanSquaredError()(np.zeros((4, 3)), np.ones((4, 3)), sample_weight=np.ones(3))


def test_keras_mask_on_predictions_acts_as_sample_weight(f64):
    rng = np.random.default_rng(21)
    labels = rng.integers(0, 3, (2, 4))
    logits_value = rng.normal(size=(2, 4, 3))
    mask = np.array([[True, True, False, False], [True, True, True, False]])
    per_entry = losses.sparse_categorical_crossentropy(labels, logits_value, from_logits=True)
    valid = per_entry.numpy()[mask]
    w = np.array([0.5, 2.0])

    def run(reduction, x, sample_weight=None):
        y_pred = Tensor(x)
        y_pred._keras_mask = mask
        loss = losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction)
        return loss(labels, y_pred, sample_weight=sample_weight)

    np.testing.assert_allclose(run("sum_over_batch_size", logits_value).numpy(), valid.mean())
    np.testing.assert_allclose(run("sum", logits_value).numpy(), valid.sum())
    weighted = (per_entry.numpy() * mask * w[:, None]).sum() / mask.sum()
    np.testing.assert_allclose(run("mean", logits_value, w).numpy(), weighted)
    # Masked entries get no gradient.
    x = Tensor(logits_value.copy())
    with GradientTape() as tape:
        tape.watch(x)
        x_masked = x * 1.0
        x_masked._keras_mask = mask
        out = losses.SparseCategoricalCrossentropy(from_logits=True)(labels, x_masked)
    grad = tape.gradient(out, x)
    assert np.all(grad[~mask] == 0) and np.all(np.abs(grad[mask]).sum(-1) > 0)
    np.testing.assert_allclose(
        grad,
        numeric_grad(lambda v: float(run("sum_over_batch_size", v).numpy()), logits_value),
        rtol=1e-5,
        atol=1e-8,
    )


def test_ignore_class_masks_entries_out_of_the_mean():
    labels = np.array([[1, 255, 0], [2, 2, 255]])
    probs = _softmax(np.random.default_rng(22).normal(size=(2, 3, 3))).astype(np.float32)
    per_entry = losses.sparse_categorical_crossentropy(labels, probs, ignore_class=255)
    assert per_entry._keras_mask is not None
    np.testing.assert_array_equal(per_entry._keras_mask, labels != 255)
    assert np.all(per_entry.numpy()[labels == 255] == 0)
    expected = -np.log(probs[labels != 255, labels[labels != 255]]).mean()
    got = losses.SparseCategoricalCrossentropy(ignore_class=255)(labels, probs).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


# Label shapes and input validation ------------------------------------------------------------
@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 2, 1]),
        np.array([[0], [2], [1]]),
        np.array([0.0, 2.0, 1.0]),
        np.array([[0.0], [2.0], [1.0]]),
    ],
    ids=["int", "int_col", "float", "float_col"],
)
def test_sparse_labels_accept_int_and_float_flat_or_column(labels):
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7], [0.2, 0.6, 0.2]], dtype=np.float32)
    got = losses.SparseCategoricalCrossentropy(reduction=None)(labels, probs).numpy()
    np.testing.assert_allclose(got, -np.log([0.7, 0.7, 0.6]), rtol=1e-6)


def test_sparse_labels_out_of_range_or_misshaped_are_value_errors():
    probs = np.full((2, 3), 1 / 3, dtype=np.float32)
    with pytest.raises(ValueError, match="label 3"):
        losses.sparse_categorical_crossentropy([0, 3], probs)
    with pytest.raises(ValueError, match="shape"):
        losses.sparse_categorical_crossentropy([[0, 1]], probs)


def test_sparse_categorical_crossentropy_axis_argument(f64):
    rng = np.random.default_rng(23)
    logits = rng.normal(size=(2, 3, 4))
    labels = rng.integers(0, 3, (2, 4))
    moved = np.moveaxis(logits, 1, -1)
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(labels, logits, from_logits=True, axis=1).numpy(),
        losses.sparse_categorical_crossentropy(labels, moved, from_logits=True).numpy(),
    )
    cot = rng.normal(size=(2, 4))
    _, _, grad = tape_grads(
        losses.sparse_categorical_crossentropy, labels, logits, cot=cot, from_logits=True, axis=1
    )

    def f(x):
        return float(
            np.sum(losses.sparse_categorical_crossentropy(labels, x, True, axis=1).numpy() * cot)
        )

    np.testing.assert_allclose(grad, numeric_grad(f, logits), rtol=1e-5, atol=1e-8)


def test_binary_labels_as_a_flat_vector_match_a_column_of_predictions():
    probs = np.array([[0.8], [0.3], [0.6]], dtype=np.float32)
    flat = losses.BinaryCrossentropy()(np.array([1, 0, 1]), probs).numpy()
    col = losses.BinaryCrossentropy()(np.array([[1], [0], [1]]), probs).numpy()
    np.testing.assert_allclose(flat, col)
    np.testing.assert_allclose(flat, -np.mean(np.log([0.8, 0.7, 0.6])), rtol=1e-6)


def test_mismatched_shapes_and_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="same shape"):
        losses.binary_crossentropy(np.zeros((2, 3)), np.full((2, 4), 0.5))
    with pytest.raises(ValueError, match="same shape"):
        losses.categorical_crossentropy(np.zeros((2, 3)), np.full((2, 4), 0.25))
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.CategoricalCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match="axis"):
        losses.categorical_crossentropy(np.eye(3), np.eye(3), axis=True)
    with pytest.raises(ValueError, match="scalar"):
        losses.mean_squared_error(1.0, 2.0)


def test_categorical_crossentropy_warns_on_a_single_class():
    with pytest.warns(SyntaxWarning, match="binary_crossentropy"):
        losses.categorical_crossentropy(np.ones((2, 1)), np.ones((2, 1)))


def test_float32_predictions_with_float64_labels_stay_float32():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = losses.mean_squared_error(np.zeros((2, 3)), Tensor(np.ones((2, 3), np.float32)))
    assert out.dtype == np.float32


def test_dtype_argument_sets_the_compute_dtype():
    loss = losses.MeanSquaredError(dtype="float64")
    assert loss.dtype == "float64"
    out = loss(np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32))
    assert out.dtype == np.float64
    assert loss.get_config()["dtype"] == "float64"
    assert "dtype" not in losses.MeanSquaredError().get_config()


# Custom losses -----------------------------------------------------------------------------
class MeanCubedError(losses.Loss):
    def call(self, y_true, y_pred):
        return ops.mean(ops.abs(y_pred - y_true) ** 3, axis=-1)


def test_custom_loss_subclass_is_weighted_reduced_and_differentiable(f64):
    rng = np.random.default_rng(24)
    y_true, y_pred = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    w = rng.uniform(0.5, 2, 3)
    loss = MeanCubedError(reduction="sum")
    out, _, grad = tape_grads(loss, y_true, y_pred, sample_weight=w)
    np.testing.assert_allclose(out.numpy(), np.sum(np.mean(np.abs(y_pred - y_true) ** 3, -1) * w))

    def f(x):
        return float(loss(y_true, x, sample_weight=w).numpy())

    np.testing.assert_allclose(grad, numeric_grad(f, y_pred), rtol=1e-5, atol=1e-8)
    assert MeanCubedError().name.startswith("mean_cubed_error")


def test_loss_without_call_raises_a_type_error():
    with pytest.raises(TypeError, match="call"):
        losses.Loss()(np.zeros((1, 1)), np.zeros((1, 1)))


def test_wrapper_of_a_user_function_and_a_subclass_overriding_call(f64):
    def mean_fourth(y_true, y_pred):
        return ops.mean((y_pred - y_true) ** 4, axis=-1)

    rng = np.random.default_rng(25)
    y_true, y_pred = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    loss = losses.LossFunctionWrapper(mean_fourth)
    out, _, grad = tape_grads(loss, y_true, y_pred)
    np.testing.assert_allclose(out.numpy(), np.mean((y_pred - y_true) ** 4))
    np.testing.assert_allclose(
        grad, numeric_grad(lambda x: float(loss(y_true, x).numpy()), y_pred), rtol=1e-5, atol=1e-8
    )

    class DoubledMSE(losses.MeanSquaredError):
        def call(self, y_true, y_pred):
            return 2 * super().call(y_true, y_pred)

    np.testing.assert_allclose(
        DoubledMSE()(y_true, y_pred).numpy(), 2 * losses.MeanSquaredError()(y_true, y_pred).numpy()
    )


# get / serialize / deserialize -------------------------------------------------------------
def test_get_resolves_names_dicts_classes_and_callables():
    assert losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)
    loss = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert isinstance(loss, losses.CategoricalCrossentropy) and loss.from_logits
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    instance = losses.Hinge()
    assert losses.get(instance) is instance
    assert losses.get(len) is len
    assert losses.get(None) is None
    for alias, fn in [
        ("mse", losses.mean_squared_error),
        ("MSE", losses.mean_squared_error),
        ("mae", losses.mean_absolute_error),
        ("mape", losses.mean_absolute_percentage_error),
        ("msle", losses.mean_squared_logarithmic_error),
        ("kld", losses.kl_divergence),
        ("kullback_leibler_divergence", losses.kl_divergence),
        ("logcosh", losses.log_cosh),
        ("bce", losses.binary_crossentropy),
    ]:
        assert losses.get(alias) is fn, alias
    assert losses.MSE is losses.mse is losses.mean_squared_error
    with pytest.raises(ValueError, match="loss"):
        losses.get("not_a_loss")
    with pytest.raises(ValueError, match="loss identifier"):
        losses.get(42)


def test_serialize_round_trips_every_class_through_json():
    instances = [
        losses.MeanSquaredError(reduction="sum"),
        losses.MeanAbsoluteError(name="l1"),
        losses.MeanAbsolutePercentageError(),
        losses.MeanSquaredLogarithmicError(),
        losses.Huber(delta=0.3),
        losses.LogCosh(),
        losses.CosineSimilarity(axis=1),
        losses.KLDivergence(),
        losses.Poisson(),
        losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, axis=-2),
        losses.CategoricalCrossentropy(label_smoothing=0.2, reduction=None),
        losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1),
        losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, gamma=1.0),
        losses.CategoricalFocalCrossentropy(alpha=[0.1, 0.9], gamma=3.0),
        losses.Hinge(),
        losses.SquaredHinge(),
        losses.CategoricalHinge(),
        losses.LossFunctionWrapper(losses.huber, name="wrapped", delta=0.25),
    ]
    for loss in instances:
        config = json.loads(json.dumps(losses.serialize(loss)))
        restored = losses.deserialize(config)
        assert type(restored) is type(loss)
        assert restored.get_config() == loss.get_config()
    wrapped = losses.deserialize(json.loads(json.dumps(losses.serialize(instances[-1]))))
    assert wrapped.fn is losses.huber and wrapped._fn_kwargs == {"delta": 0.25}


def test_serialize_functions_by_name():
    config = losses.serialize(losses.mse)
    assert config["config"] == "mean_squared_error"
    assert losses.deserialize(config) is losses.mean_squared_error
    assert losses.deserialize("poisson") is losses.poisson


def test_deserialize_finds_custom_objects():
    config = losses.serialize(MeanCubedError(name="cubed"))
    restored = losses.deserialize(config, custom_objects={"MeanCubedError": MeanCubedError})
    assert isinstance(restored, MeanCubedError) and restored.name == "cubed"


# Documentation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "module",
    [
        "engine.losses",
        "engine.losses.loss",
        "engine.losses.regression",
        "engine.losses.probabilistic",
        "engine.losses.focal",
        "engine.losses.margin",
    ],
)
def test_docstring_examples_run(module):
    mod = importlib.import_module(module)
    names = {name: getattr(losses, name) for name in losses.__all__}
    result = doctest.testmod(
        mod,
        extraglobs={"np": np, "ops": ops, **names},
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 0 and result.failed == 0
