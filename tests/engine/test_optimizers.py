"""Optimizers: updates against PyTorch and against NumPy references of Keras 3's formulas.

Where PyTorch computes the same update as Keras, it is the oracle. Where it does
not, the test uses a float64 NumPy reference written from Keras 3's source and
says why. Known differences:
- Adam/AdamW: torch adds epsilon to the bias-corrected sqrt(v), Keras to sqrt(v)
  before correction; RMSprop and Adagrad: torch adds epsilon outside the square
  root, Keras inside; Adamax: torch adds epsilon to |g| inside the max. With
  epsilon=1e-7 and gradients bounded away from zero these differences are far
  below float32 tolerance, so torch remains a valid oracle there; the
  `test_epsilon_placement_*` tests pin Keras's placement with a large epsilon.
- Nadam equals torch's NAdam only with momentum_decay=1.0 (torch's default 0.004
  is a different momentum schedule).
- Weight decay: torch's `weight_decay` is L2 added to the gradient (except AdamW),
  Keras's is decoupled (`w -= w * wd * lr` before the update), so the torch runs
  apply Keras's decay by hand before `step()`.
- SGD momentum with a changing learning rate: Keras folds the learning rate into
  the velocity, torch does not, so schedules with momentum use the reference.
"""

from __future__ import annotations

import json
import math
import tracemalloc
import warnings

import numpy as np
import pytest

from engine import optimizers
from engine.backend.config import set_floatx
from engine.backend.tensor import Tensor, Variable
from engine.optimizers import schedules

SHAPES = [(4, 3), (3,), (2, 2, 2)]


@pytest.fixture
def float64():
    set_floatx("float64")
    yield
    set_floatx("float32")


def make_params(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype("float32") for s in SHAPES]


def make_grads(steps: int, seed: int = 1) -> list[list[np.ndarray]]:
    # Magnitudes in [0.5, 2] keep epsilon-placement differences negligible (see module doc).
    rng = np.random.default_rng(seed)
    return [
        [(rng.uniform(0.5, 2.0, s) * rng.choice([-1.0, 1.0], s)).astype("float32") for s in SHAPES]
        for _ in range(steps)
    ]


def make_variables(params: list[np.ndarray]) -> list[Variable]:
    return [Variable(p, name=f"v{i}") for i, p in enumerate(params)]


def run_engine(optimizer, params, grad_steps) -> list[np.ndarray]:
    variables = make_variables(params)
    for grads in grad_steps:
        optimizer.apply_gradients(zip(grads, variables))
    return [v.numpy().copy() for v in variables]


def assert_moved_and_close(result, reference, params, rtol=1e-5, atol=1e-6):
    for ours, ref, start in zip(result, reference, params):
        assert ours.dtype == np.float32
        # A vacuous comparison (nothing moved) would hide a broken update.
        assert np.max(np.abs(ref - start)) > 1e-3
        np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------------------
# PyTorch as the oracle
# --------------------------------------------------------------------------------------


def run_torch(make_opt, params, grad_steps, clip=None, weight_decay=None, lr_fn=None):
    torch = pytest.importorskip("torch")
    tparams = [torch.tensor(p, requires_grad=True) for p in params]
    opt = make_opt(torch, tparams)
    for step, grads in enumerate(grad_steps):
        for p, g in zip(tparams, grads):
            p.grad = torch.tensor(g)
        if clip is not None:
            clip(torch, tparams)
        if lr_fn is not None:
            for group in opt.param_groups:
                group["lr"] = lr_fn(step)
        if weight_decay is not None:
            lr = opt.param_groups[0]["lr"]
            with torch.no_grad():
                for p in tparams:
                    p.sub_(p * weight_decay * lr)  # Keras's decoupled decay, before the update.
        opt.step()
    return [p.detach().numpy().copy() for p in tparams]


def clip_each_norm(max_norm):
    def clip(torch, tparams):
        for p in tparams:
            torch.nn.utils.clip_grad_norm_([p], max_norm)

    return clip


def clip_global_norm(max_norm):
    def clip(torch, tparams):
        torch.nn.utils.clip_grad_norm_(tparams, max_norm)

    return clip


def clip_value(value):
    def clip(torch, tparams):
        torch.nn.utils.clip_grad_value_(tparams, value)

    return clip


O = optimizers
TORCH_CASES = {
    "sgd": (lambda: O.SGD(0.1), lambda t, p: t.optim.SGD(p, lr=0.1), {}),
    "sgd_momentum": (
        lambda: O.SGD(0.1, momentum=0.9),
        lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9),
        {},
    ),
    "sgd_nesterov": (
        lambda: O.SGD(0.1, momentum=0.9, nesterov=True),
        lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        {},
    ),
    "rmsprop": (
        lambda: O.RMSprop(0.01),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7),
        {},
    ),
    "rmsprop_momentum": (
        lambda: O.RMSprop(0.01, momentum=0.5),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7, momentum=0.5),
        {},
    ),
    "rmsprop_centered": (
        lambda: O.RMSprop(0.01, centered=True),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7, centered=True),
        {},
    ),
    "rmsprop_centered_momentum": (
        lambda: O.RMSprop(0.01, rho=0.8, momentum=0.3, centered=True),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=1e-7, momentum=0.3, centered=True),
        {},
    ),
    "adam": (
        lambda: O.Adam(0.01),
        lambda t, p: t.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-7),
        {},
    ),
    "adam_betas": (
        lambda: O.Adam(0.02, beta_1=0.8, beta_2=0.99),
        lambda t, p: t.optim.Adam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-7),
        {},
    ),
    "adam_amsgrad": (
        lambda: O.Adam(0.01, amsgrad=True),
        lambda t, p: t.optim.Adam(p, lr=0.01, eps=1e-7, amsgrad=True),
        {},
    ),
    "adamw": (
        lambda: O.AdamW(0.01, weight_decay=0.1),
        lambda t, p: t.optim.AdamW(p, lr=0.01, eps=1e-7, weight_decay=0.1),
        {},
    ),
    "adamw_amsgrad": (
        lambda: O.AdamW(0.01, weight_decay=0.5, amsgrad=True),
        lambda t, p: t.optim.AdamW(p, lr=0.01, eps=1e-7, weight_decay=0.5, amsgrad=True),
        {},
    ),
    "adagrad": (
        lambda: O.Adagrad(0.1),
        lambda t, p: t.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=1e-7),
        {},
    ),
    "adagrad_accumulator": (
        lambda: O.Adagrad(0.1, initial_accumulator_value=0.5),
        lambda t, p: t.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.5, eps=1e-7),
        {},
    ),
    # Adadelta's formula is identical in both; a larger epsilon makes the first steps visible.
    "adadelta": (
        lambda: O.Adadelta(1.0, epsilon=1e-3),
        lambda t, p: t.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-3),
        {},
    ),
    "adadelta_rho": (
        lambda: O.Adadelta(0.5, rho=0.8, epsilon=1e-2),
        lambda t, p: t.optim.Adadelta(p, lr=0.5, rho=0.8, eps=1e-2),
        {},
    ),
    "adamax": (
        lambda: O.Adamax(0.01),
        lambda t, p: t.optim.Adamax(p, lr=0.01, betas=(0.9, 0.999), eps=1e-7),
        {},
    ),
    "nadam": (
        lambda: O.Nadam(0.01),
        lambda t, p: t.optim.NAdam(p, lr=0.01, eps=1e-7, momentum_decay=1.0),
        {},
    ),
    "nadam_betas": (
        lambda: O.Nadam(0.02, beta_1=0.8, beta_2=0.99),
        lambda t, p: t.optim.NAdam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-7, momentum_decay=1.0),
        {},
    ),
    # Clipping.
    "adam_clipnorm": (
        lambda: O.Adam(0.01, clipnorm=1.0),
        lambda t, p: t.optim.Adam(p, lr=0.01, eps=1e-7),
        {"clip": clip_each_norm(1.0)},
    ),
    "sgd_clipnorm": (
        lambda: O.SGD(0.1, clipnorm=0.5),
        lambda t, p: t.optim.SGD(p, lr=0.1),
        {"clip": clip_each_norm(0.5)},
    ),
    "sgd_momentum_global_clipnorm": (
        lambda: O.SGD(0.1, momentum=0.9, global_clipnorm=2.0),
        lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9),
        {"clip": clip_global_norm(2.0)},
    ),
    "adam_global_clipnorm": (
        lambda: O.Adam(0.01, global_clipnorm=1.5),
        lambda t, p: t.optim.Adam(p, lr=0.01, eps=1e-7),
        {"clip": clip_global_norm(1.5)},
    ),
    "rmsprop_clipvalue": (
        lambda: O.RMSprop(0.01, clipvalue=0.7),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7),
        {"clip": clip_value(0.7)},
    ),
    "sgd_clipvalue": (
        lambda: O.SGD(0.1, clipvalue=1.0),
        lambda t, p: t.optim.SGD(p, lr=0.1),
        {"clip": clip_value(1.0)},
    ),
    # Decoupled weight decay on every optimizer.
    "sgd_weight_decay": (
        lambda: O.SGD(0.1, momentum=0.9, weight_decay=0.2),
        lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9),
        {"weight_decay": 0.2},
    ),
    "rmsprop_weight_decay": (
        lambda: O.RMSprop(0.01, weight_decay=0.5),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7),
        {"weight_decay": 0.5},
    ),
    "adam_weight_decay": (
        lambda: O.Adam(0.01, weight_decay=0.5),
        lambda t, p: t.optim.Adam(p, lr=0.01, eps=1e-7),
        {"weight_decay": 0.5},
    ),
    "adagrad_weight_decay": (
        lambda: O.Adagrad(0.1, weight_decay=0.3),
        lambda t, p: t.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=1e-7),
        {"weight_decay": 0.3},
    ),
    "adadelta_weight_decay": (
        lambda: O.Adadelta(1.0, epsilon=1e-3, weight_decay=0.05),
        lambda t, p: t.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-3),
        {"weight_decay": 0.05},
    ),
    "adamax_weight_decay": (
        lambda: O.Adamax(0.01, weight_decay=0.5),
        lambda t, p: t.optim.Adamax(p, lr=0.01, eps=1e-7),
        {"weight_decay": 0.5},
    ),
    "nadam_weight_decay": (
        lambda: O.Nadam(0.01, weight_decay=0.5),
        lambda t, p: t.optim.NAdam(p, lr=0.01, eps=1e-7, momentum_decay=1.0),
        {"weight_decay": 0.5},
    ),
    # Schedules, evaluated at the step before each update.
    "adam_exponential_decay": (
        lambda: O.Adam(schedules.ExponentialDecay(0.02, decay_steps=2, decay_rate=0.5)),
        lambda t, p: t.optim.Adam(p, lr=0.02, eps=1e-7),
        {"lr_fn": lambda step: 0.02 * 0.5 ** (step / 2)},
    ),
    "sgd_piecewise": (
        lambda: O.SGD(schedules.PiecewiseConstantDecay([3], [0.1, 0.01])),
        lambda t, p: t.optim.SGD(p, lr=0.1),
        {"lr_fn": lambda step: 0.1 if step <= 3 else 0.01},
    ),
    "rmsprop_cosine": (
        lambda: O.RMSprop(schedules.CosineDecay(0.01, decay_steps=8)),
        lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7),
        {"lr_fn": lambda step: 0.01 * 0.5 * (1 + math.cos(math.pi * min(step, 8) / 8))},
    ),
    "adamw_schedule": (
        lambda: O.AdamW(schedules.InverseTimeDecay(0.02, 1, 0.5), weight_decay=0.2),
        lambda t, p: t.optim.AdamW(p, lr=0.02, eps=1e-7, weight_decay=0.2),
        {"lr_fn": lambda step: 0.02 / (1 + 0.5 * step)},
    ),
}


@pytest.mark.parametrize("steps", [1, 10])
@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_matches_torch(case, steps):
    make_engine, make_torch, extras = TORCH_CASES[case]
    params, grads = make_params(), make_grads(steps)
    reference = run_torch(make_torch, params, grads, **extras)
    assert_moved_and_close(run_engine(make_engine(), params, grads), reference, params)


# --------------------------------------------------------------------------------------
# NumPy references of Keras 3's formulas (float64), where torch differs
# --------------------------------------------------------------------------------------


def keras_reference(kind, params, grad_steps, lr_fn, ema=None, **hp):
    """Keras 3's update rules, written plainly from keras/src/optimizers/*.py."""
    w = [p.astype(np.float64) for p in params]
    zeros = [np.zeros_like(x) for x in w]
    state = {name: [z.copy() for z in zeros] for name in ("m", "v", "a", "vh", "d")}
    state["acc"] = [np.full_like(x, hp.get("initial_accumulator_value", 0.1)) for x in w]
    averages = [x.copy() for x in w]
    u_product = 1.0
    for it, grads in enumerate(grad_steps):
        lr, t = lr_fn(it), it + 1
        if kind == "nadam":
            u_t = hp["beta_1"] * (1 - 0.5 * 0.96**t)
            u_t1 = hp["beta_1"] * (1 - 0.5 * 0.96 ** (t + 1))
            u_product *= u_t
        for i, g in enumerate(grads):
            g = g.astype(np.float64)
            m, v, a, vh, d, acc = (state[k][i] for k in ("m", "v", "a", "vh", "d", "acc"))
            if kind == "sgd":
                if hp["momentum"]:
                    m[...] = hp["momentum"] * m - lr * g
                    w[i] += hp["momentum"] * m - lr * g if hp["nesterov"] else m
                else:
                    w[i] -= lr * g
            elif kind == "rmsprop":
                rho, eps = hp["rho"], hp["epsilon"]
                v[...] = rho * v + (1 - rho) * g**2
                if hp["centered"]:
                    a[...] = rho * a + (1 - rho) * g
                    increment = lr * g / np.sqrt(v - a**2 + eps)
                else:
                    increment = lr * g / np.sqrt(v + eps)
                if hp["momentum"]:
                    m[...] = hp["momentum"] * m + increment
                    w[i] -= m
                else:
                    w[i] -= increment
            elif kind == "adam":
                b1, b2 = hp["beta_1"], hp["beta_2"]
                alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
                m += (g - m) * (1 - b1)
                v += (g**2 - v) * (1 - b2)
                if hp["amsgrad"]:
                    vh[...] = np.maximum(vh, v)
                w[i] -= m * alpha / (np.sqrt(vh if hp["amsgrad"] else v) + hp["epsilon"])
            elif kind == "adagrad":
                acc += g**2
                w[i] -= lr * g / np.sqrt(acc + hp["epsilon"])
            elif kind == "adadelta":
                rho, eps = hp["rho"], hp["epsilon"]
                a[...] = rho * a + (1 - rho) * g**2
                delta = -np.sqrt(d + eps) * g / np.sqrt(a + eps)
                d[...] = rho * d + (1 - rho) * delta**2
                w[i] += lr * delta
            elif kind == "adamax":
                b1 = hp["beta_1"]
                m += (g - m) * (1 - b1)
                v[...] = np.maximum(hp["beta_2"] * v, np.abs(g))
                w[i] -= lr * m / ((1 - b1**t) * (v + hp["epsilon"]))
            elif kind == "nadam":
                b1, b2 = hp["beta_1"], hp["beta_2"]
                m += (g - m) * (1 - b1)
                v += (g**2 - v) * (1 - b2)
                m_hat = u_t1 * m / (1 - u_product * u_t1) + (1 - u_t) * g / (1 - u_product)
                v_hat = v / (1 - b2**t)
                w[i] -= lr * m_hat / (np.sqrt(v_hat) + hp["epsilon"])
        if ema is not None:
            momentum = ema["momentum"] if it != 0 else 0.0
            for avg, x in zip(averages, w):
                avg[...] = momentum * avg + (1 - momentum) * x
            if ema.get("frequency") and (it + 1) % ema["frequency"] == 0:
                for avg, x in zip(averages, w):
                    x[...] = avg
    return w, averages


ADAM_HP = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 0.5, "amsgrad": False}
REFERENCE_CASES = {
    # epsilon=0.5 makes its placement change the result far beyond float32 noise.
    "adam_eps": (lambda: O.Adam(0.05, epsilon=0.5), "adam", ADAM_HP),
    "adam_amsgrad_eps": (
        lambda: O.Adam(0.05, epsilon=0.5, amsgrad=True),
        "adam",
        {**ADAM_HP, "amsgrad": True},
    ),
    "rmsprop_eps": (
        lambda: O.RMSprop(0.05, epsilon=0.5),
        "rmsprop",
        {"rho": 0.9, "epsilon": 0.5, "centered": False, "momentum": 0.0},
    ),
    "rmsprop_centered_momentum_eps": (
        lambda: O.RMSprop(0.05, epsilon=0.5, centered=True, momentum=0.4),
        "rmsprop",
        {"rho": 0.9, "epsilon": 0.5, "centered": True, "momentum": 0.4},
    ),
    "adagrad_eps": (
        lambda: O.Adagrad(0.1, epsilon=0.5, initial_accumulator_value=0.0),
        "adagrad",
        {"epsilon": 0.5, "initial_accumulator_value": 0.0},
    ),
    "adadelta_eps": (
        lambda: O.Adadelta(1.0, epsilon=0.5),
        "adadelta",
        {"rho": 0.95, "epsilon": 0.5},
    ),
    "adamax_eps": (
        lambda: O.Adamax(0.05, epsilon=0.5),
        "adamax",
        {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 0.5},
    ),
    "nadam_eps": (
        lambda: O.Nadam(0.05, epsilon=0.5),
        "nadam",
        {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 0.5},
    ),
}


@pytest.mark.parametrize("steps", [1, 10])
@pytest.mark.parametrize("case", sorted(REFERENCE_CASES))
def test_epsilon_placement_matches_keras_reference(case, steps):
    make_engine, kind, hp = REFERENCE_CASES[case]
    optimizer = make_engine()
    lr = optimizer.learning_rate
    params, grads = make_params(), make_grads(steps)
    reference, _ = keras_reference(kind, params, grads, lambda _: lr, **hp)
    assert_moved_and_close(run_engine(optimizer, params, grads), reference, params)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_with_schedule_matches_keras_reference(nesterov):
    # Keras's velocity holds lr * g, so a changing lr is not torch's momentum buffer.
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.7)
    params, grads = make_params(), make_grads(10)
    optimizer = O.SGD(schedule, momentum=0.9, nesterov=nesterov)
    reference, _ = keras_reference(
        "sgd", params, grads, lambda step: 0.1 * 0.7**step, momentum=0.9, nesterov=nesterov
    )
    assert_moved_and_close(run_engine(optimizer, params, grads), reference, params)


@pytest.mark.parametrize("frequency", [None, 3])
def test_ema_matches_keras_reference(frequency):
    params, grads = make_params(), make_grads(7)
    optimizer = O.SGD(0.1, momentum=0.5, use_ema=True, ema_momentum=0.8,
                      ema_overwrite_frequency=frequency)  # fmt: skip
    variables = make_variables(params)
    for g in grads:
        optimizer.apply(g, variables)
    reference, averages = keras_reference(
        "sgd", params, grads, lambda _: 0.1, ema={"momentum": 0.8, "frequency": frequency},
        momentum=0.5, nesterov=False,
    )  # fmt: skip
    assert_moved_and_close([v.numpy() for v in variables], reference, params)
    optimizer.finalize_variable_values(variables)
    for variable, average in zip(variables, averages):
        np.testing.assert_allclose(variable.numpy(), average, rtol=1e-5, atol=1e-6)


def test_ema_first_step_copies_weights_and_finalize_swaps_them_in():
    variable = Variable(np.array([1.0, 2.0], "float32"))
    optimizer = O.SGD(1.0, use_ema=True, ema_momentum=0.9)
    optimizer.apply([np.array([1.0, 1.0], "float32")], [variable])
    average = optimizer.variables[2]
    np.testing.assert_allclose(average.numpy(), [0.0, 1.0])
    optimizer.apply([np.array([1.0, 1.0], "float32")], [variable])
    np.testing.assert_allclose(variable.numpy(), [-1.0, 0.0])
    np.testing.assert_allclose(average.numpy(), [-0.1, 0.9], rtol=1e-6)
    optimizer.finalize_variable_values([variable])
    np.testing.assert_allclose(variable.numpy(), [-0.1, 0.9], rtol=1e-6)


# --------------------------------------------------------------------------------------
# Defaults, names and configs
# --------------------------------------------------------------------------------------

DEFAULTS = {
    "SGD": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False, "name": "SGD"},
    "RMSprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                "centered": False},
    "Adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
             "amsgrad": False, "weight_decay": None},
    "AdamW": {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999,
              "epsilon": 1e-7, "amsgrad": False},
    "Adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
    "Adadelta": {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7},
    "Adamax": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "Nadam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
}  # fmt: skip


@pytest.mark.parametrize("class_name", sorted(DEFAULTS))
def test_defaults_match_keras(class_name):
    config = getattr(optimizers, class_name)().get_config()
    for key, expected in DEFAULTS[class_name].items():
        if key == "learning_rate":
            assert config[key] == pytest.approx(expected, rel=1e-7)  # stored as float32
        else:
            assert config[key] == expected, key
    assert config["use_ema"] is False and config["ema_momentum"] == 0.99
    assert config["clipnorm"] is None and config["clipvalue"] is None
    assert config["global_clipnorm"] is None


@pytest.mark.parametrize(
    "identifier, cls",
    [
        ("sgd", O.SGD), ("SGD", O.SGD), ("rmsprop", O.RMSprop), ("RMSProp", O.RMSprop),
        ("adam", O.Adam), ("Adam", O.Adam), ("ADAM", O.Adam), ("adamw", O.AdamW),
        ("AdamW", O.AdamW), ("adagrad", O.Adagrad), ("adadelta", O.Adadelta),
        ("adamax", O.Adamax), ("nadam", O.Nadam), ("Nadam", O.Nadam),
    ],
)  # fmt: skip
def test_get_by_name_is_case_insensitive(identifier, cls):
    optimizer = optimizers.get(identifier)
    assert type(optimizer) is cls


def test_get_passes_instances_and_none_and_rejects_unknown_names():
    adam = O.Adam()
    assert optimizers.get(adam) is adam
    assert optimizers.get(None) is None
    with pytest.raises(ValueError, match="adamz"):
        optimizers.get("adamz")
    with pytest.raises(ValueError, match="identifier"):
        optimizers.get(3)


CONFIGURED = [
    lambda: O.SGD(0.05, momentum=0.8, nesterov=True, clipnorm=1.0, name="my_sgd"),
    lambda: O.RMSprop(0.002, rho=0.8, momentum=0.1, epsilon=1e-6, centered=True, clipvalue=2.0),
    lambda: O.Adam(0.003, beta_1=0.8, beta_2=0.95, epsilon=1e-6, amsgrad=True, weight_decay=0.01),
    lambda: O.AdamW(0.004, weight_decay=0.02, global_clipnorm=3.0, use_ema=True,
                    ema_momentum=0.9, ema_overwrite_frequency=5),
    lambda: O.Adagrad(0.02, initial_accumulator_value=0.3, epsilon=1e-5),
    lambda: O.Adadelta(1.0, rho=0.9, epsilon=1e-6, gradient_accumulation_steps=4),
    lambda: O.Adamax(0.002, beta_1=0.85, beta_2=0.99, loss_scale_factor=128.0),
    lambda: O.Nadam(0.002, beta_1=0.85, beta_2=0.99, epsilon=1e-6),
    lambda: O.Adam(schedules.CosineDecay(0.01, 100, alpha=0.1, warmup_target=0.1,
                                         warmup_steps=10)),
    lambda: O.SGD(schedules.PiecewiseConstantDecay([10, 20], [0.1, 0.05, 0.01]), momentum=0.9),
]  # fmt: skip


@pytest.mark.parametrize("make", CONFIGURED)
def test_config_round_trip(make):
    optimizer = make()
    config = optimizer.get_config()
    json.dumps(config)
    rebuilt = type(optimizer).from_config(config)
    assert rebuilt.get_config() == config
    assert rebuilt.learning_rate == optimizer.learning_rate
    via_serialize = optimizers.deserialize(json.loads(json.dumps(optimizers.serialize(optimizer))))
    assert type(via_serialize) is type(optimizer)
    assert via_serialize.get_config() == config
    assert type(optimizers.get(optimizers.serialize(optimizer))) is type(optimizer)


def test_schedule_in_config_is_serialized_and_rebuilt():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    config = O.Adam(schedule).get_config()
    assert config["learning_rate"]["class_name"] == "ExponentialDecay"
    rebuilt = O.Adam.from_config(config)
    assert isinstance(rebuilt._learning_rate, schedules.ExponentialDecay)
    assert rebuilt._learning_rate.get_config() == schedule.get_config()


def test_deserializes_a_keras_saved_config():
    keras_config = {
        "module": "keras.optimizers",
        "class_name": "Adam",
        "config": {
            "name": "adam", "learning_rate": 0.0010000000474974513, "weight_decay": None,
            "clipnorm": None, "global_clipnorm": None, "clipvalue": None, "use_ema": False,
            "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
            "gradient_accumulation_steps": None, "beta_1": 0.9, "beta_2": 0.999,
            "epsilon": 1e-07, "amsgrad": False,
        },
        "registered_name": None,
    }  # fmt: skip
    optimizer = optimizers.deserialize(keras_config)
    assert isinstance(optimizer, O.Adam)
    assert optimizer.get_config() == keras_config["config"]


# --------------------------------------------------------------------------------------
# Constructor arguments
# --------------------------------------------------------------------------------------


def test_lr_alias_warns_and_sets_learning_rate():
    with pytest.warns(DeprecationWarning, match="learning_rate") as record:
        optimizer = O.Adam(lr=0.5)
    assert optimizer.learning_rate == 0.5
    # The warning points at the caller, so Python shows it in user scripts.
    assert record[0].filename == __file__
    with pytest.warns(DeprecationWarning) as record:
        O.AdamW(lr=0.25)
    assert record[0].filename == __file__


def test_legacy_decay_argument_is_ignored_with_a_warning():
    with pytest.warns(UserWarning, match="decay"):
        optimizer = O.SGD(0.1, decay=1e-6)
    assert optimizer.learning_rate == pytest.approx(0.1)


def test_unknown_keyword_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="learnig_rate"):
        O.Adam(learnig_rate=0.1)


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda: O.Adam(clipnorm=1.0, global_clipnorm=1.0), ValueError),
        (lambda: O.SGD(clipnorm=1.0, clipvalue=1.0), ValueError),
        (lambda: O.SGD(momentum=1.5), ValueError),
        (lambda: O.AdamW(weight_decay=None), ValueError),
        (lambda: O.Adam(learning_rate="fast"), TypeError),
        (lambda: O.Adam(use_ema=True, ema_momentum=1.5), ValueError),
        (lambda: O.Adam(use_ema=True, ema_overwrite_frequency=0), ValueError),
        (lambda: O.Adam(gradient_accumulation_steps=1), ValueError),
        (lambda: O.Adagrad(initial_accumulator_value=-1.0), ValueError),
    ],
)
def test_bad_arguments_raise(make, error):
    with pytest.raises(error):
        make()


# --------------------------------------------------------------------------------------
# State: iterations, variables, save and restore
# --------------------------------------------------------------------------------------


def test_iterations_is_a_non_trainable_int64_variable_counting_steps():
    optimizer = O.Adam()
    variable = Variable(np.zeros(2, "float32"))
    assert isinstance(optimizer.iterations, Variable)
    assert optimizer.iterations.dtype == np.int64 and not optimizer.iterations.trainable
    for _ in range(3):
        optimizer.apply([np.ones(2, "float32")], [variable])
    assert int(optimizer.iterations) == 3
    assert all(not v.trainable for v in optimizer.variables)


def test_variables_are_in_keras_order():
    a, b = Variable(np.zeros(2, "float32"), name="a"), Variable(np.zeros(3, "float32"), name="b")
    adam = O.Adam(amsgrad=True, use_ema=True)
    adam.build([a, b])
    assert [v.name for v in adam.variables] == [
        "iteration", "learning_rate", "a_average", "b_average", "a_momentum", "b_momentum",
        "a_velocity", "b_velocity", "a_velocity_hat", "b_velocity_hat",
    ]  # fmt: skip
    adamax = O.Adamax(schedules.ExponentialDecay(0.1, 10, 0.9))
    adamax.build([a, b])
    # A schedule is not state; Adamax's two slots are interleaved per variable.
    assert [v.name for v in adamax.variables] == [
        "iteration", "a_momentum", "a_norm", "b_momentum", "b_norm",
    ]  # fmt: skip
    nadam = O.Nadam()
    nadam.build([a])
    assert [v.name for v in nadam.variables][-1] == "u_product"
    assert nadam.variables[0].path == "nadam/iteration"


SAVE_CASES = [
    lambda: O.SGD(0.1, momentum=0.9, nesterov=True),
    lambda: O.RMSprop(0.01, momentum=0.5, centered=True),
    lambda: O.Adam(schedules.ExponentialDecay(0.01, 2, 0.8), amsgrad=True),
    lambda: O.AdamW(0.01, weight_decay=0.1, use_ema=True, ema_overwrite_frequency=4),
    lambda: O.Adagrad(0.1),
    lambda: O.Adadelta(1.0, epsilon=1e-3, gradient_accumulation_steps=2),
    lambda: O.Adamax(0.01),
    lambda: O.Nadam(0.01),
]


@pytest.mark.parametrize("make", SAVE_CASES)
def test_saved_state_restores_identical_continued_updates(make):
    params, grads = make_params(), make_grads(9)
    original = make()
    variables = make_variables(params)
    for g in grads[:5]:
        original.apply(g, variables)
    store: dict[str, np.ndarray] = {}
    original.save_own_variables(store)
    weights = [v.numpy().copy() for v in variables]

    restored = make()
    restored_variables = make_variables(weights)
    restored.build(restored_variables)
    restored.load_own_variables(store)
    fresh = make()
    fresh_variables = make_variables(weights)
    for g in grads[5:]:
        original.apply(g, variables)
        restored.apply(g, restored_variables)
        fresh.apply(g, fresh_variables)
    for ours, theirs, unrestored in zip(variables, restored_variables, fresh_variables):
        np.testing.assert_array_equal(theirs.numpy(), ours.numpy())
        # Without the saved state the continuation differs: the restore did the work.
        assert not np.array_equal(unrestored.numpy(), ours.numpy())
    assert int(restored.iterations) == 9
    restored.load_own_variables([store[str(i)] for i in range(len(store))])


def test_saved_state_is_a_copy():
    optimizer = O.Adam(0.1)
    variable = Variable(np.zeros(3, "float32"))
    optimizer.apply([np.ones(3, "float32")], [variable])
    store: dict[str, np.ndarray] = {}
    optimizer.save_own_variables(store)
    saved = {k: v.copy() for k, v in store.items()}
    optimizer.apply([np.ones(3, "float32")], [variable])
    for key in store:
        np.testing.assert_array_equal(store[key], saved[key])


def test_loading_a_mismatched_store_warns_and_keeps_state():
    optimizer = O.Adam()
    with pytest.warns(UserWarning, match="build"):
        optimizer.load_own_variables({"0": np.array(5), "1": np.array(0.1), "2": np.zeros(3)})
    assert int(optimizer.iterations) == 0


def test_set_weights_needs_a_built_optimizer():
    with pytest.raises(ValueError, match="build"):
        O.Adam().set_weights([np.array(1)])


# --------------------------------------------------------------------------------------
# Learning rate property
# --------------------------------------------------------------------------------------


def test_learning_rate_setter_changes_the_next_update():
    variable = Variable(np.zeros(2, "float32"))
    optimizer = O.SGD(0.1)
    optimizer.learning_rate = 0.5
    assert optimizer.learning_rate == 0.5
    assert isinstance(optimizer.learning_rate, float)
    optimizer.apply([np.ones(2, "float32")], [variable])
    np.testing.assert_allclose(variable.numpy(), [-0.5, -0.5])
    assert optimizer.get_config()["learning_rate"] == 0.5


def test_learning_rate_follows_schedule_at_iterations():
    schedule = schedules.ExponentialDecay(1.0, decay_steps=1, decay_rate=0.5)
    optimizer = O.SGD(schedule)
    variable = Variable(np.zeros(1, "float32"))
    seen = []
    for _ in range(4):
        seen.append(optimizer.learning_rate)
        optimizer.apply([np.ones(1, "float32")], [variable])
    assert seen == [1.0, 0.5, 0.25, 0.125]
    np.testing.assert_allclose(variable.numpy(), [-1.875])


def test_learning_rate_schedule_replaces_variable_and_blocks_float_setting():
    optimizer = O.Adam(0.1)
    assert len(optimizer.variables) == 2
    optimizer.learning_rate = schedules.InverseTimeDecay(0.2, 1, 1.0)
    assert len(optimizer.variables) == 1
    assert optimizer.learning_rate == pytest.approx(0.2)
    with pytest.raises(TypeError, match="schedule"):
        optimizer.learning_rate = 0.3


def test_callable_learning_rate_with_or_without_step():
    variable = Variable(np.zeros(1, "float32"))
    optimizer = O.SGD(lambda: 0.25)
    optimizer.apply([np.ones(1, "float32")], [variable])
    assert optimizer.learning_rate == 0.25
    stepped = O.SGD(lambda step: 1.0 / (int(step) + 1))
    stepped.apply([np.ones(1, "float32")], [variable])
    assert stepped.learning_rate == 0.5


# --------------------------------------------------------------------------------------
# apply: gradients, constraints, weight decay exclusion, accumulation
# --------------------------------------------------------------------------------------


def test_none_gradients_skip_their_variable_with_a_warning():
    a, b = Variable(np.ones(2, "float32"), name="a"), Variable(np.ones(2, "float32"), name="b")
    optimizer = O.SGD(0.1)
    with pytest.warns(UserWarning, match="do not exist"):
        optimizer.apply_gradients([(np.ones(2, "float32"), a), (None, b)])
    np.testing.assert_allclose(a.numpy(), [0.9, 0.9])
    np.testing.assert_array_equal(b.numpy(), [1.0, 1.0])
    with pytest.raises(ValueError, match="No gradients"):
        optimizer.apply([None, None], [a, b])


def test_tensor_gradients_and_apply_without_variables_after_build():
    variable = Variable(np.ones(2, "float32"))
    optimizer = O.SGD(0.1)
    optimizer.apply([Tensor(np.ones(2, "float32"))], [variable])
    optimizer.apply([np.ones(2, "float32")])
    np.testing.assert_allclose(variable.numpy(), [0.8, 0.8])
    with pytest.raises(ValueError, match="build"):
        O.SGD().apply([np.ones(2, "float32")])


def test_unknown_variable_and_shape_mismatch_are_errors():
    a, b = Variable(np.ones(2, "float32")), Variable(np.ones(2, "float32"))
    optimizer = O.Adam()
    optimizer.apply([np.ones(2, "float32")], [a])
    with pytest.raises(ValueError, match="Unknown variable"):
        optimizer.apply([np.ones(2, "float32")], [b])
    with pytest.raises(ValueError, match="shape"):
        optimizer.apply([np.ones((1, 2), "float32")], [a])


def test_constraint_is_applied_after_the_update():
    variable = Variable(np.zeros(3, "float32"), constraint=lambda w: np.clip(w, -0.05, 0.05))
    optimizer = O.SGD(0.1)
    optimizer.apply([np.array([1.0, 0.2, -1.0], "float32")], [variable])
    np.testing.assert_allclose(variable.numpy(), [-0.05, -0.02, 0.05])


def test_exclude_from_weight_decay_by_name_and_by_variable():
    params, grads = make_params(), make_grads(3)

    def run(optimizer, exclude=None):
        variables = [Variable(params[0], name="kernel"), Variable(params[1], name="bias")]
        if exclude is not None:
            exclude(optimizer, variables)
        for g in grads:
            optimizer.apply(g[:2], variables)
        return [v.numpy() for v in variables]

    no_decay = run(O.Adam(0.01))
    decay = run(O.AdamW(0.01, weight_decay=0.5))
    by_name = run(O.AdamW(0.01, weight_decay=0.5),
                  lambda o, vs: o.exclude_from_weight_decay(var_names=["bias"]))  # fmt: skip
    by_var = run(O.AdamW(0.01, weight_decay=0.5),
                 lambda o, vs: o.exclude_from_weight_decay(var_list=[vs[1]]))  # fmt: skip
    for excluded in (by_name, by_var):
        np.testing.assert_array_equal(excluded[0], decay[0])
        np.testing.assert_allclose(excluded[1], no_decay[1], rtol=1e-6)
        assert not np.allclose(excluded[1], decay[1], rtol=1e-6, atol=0)


def test_gradient_accumulation_updates_with_the_mean_every_n_steps():
    params, grads = make_params(), make_grads(4)
    accumulating = O.Adam(0.01, gradient_accumulation_steps=2)
    variables = make_variables(params)
    accumulating.apply(grads[0], variables)
    for variable, start in zip(variables, params):
        np.testing.assert_array_equal(variable.numpy(), start)
    for g in grads[1:]:
        accumulating.apply(g, variables)
    assert int(accumulating.iterations) == 4
    means = [[(a + b) / 2 for a, b in zip(grads[0], grads[1])],
             [(a + b) / 2 for a, b in zip(grads[2], grads[3])]]  # fmt: skip
    expected = run_engine(O.Adam(0.01), params, means)
    for variable, ref in zip(variables, expected):
        np.testing.assert_allclose(variable.numpy(), ref, rtol=1e-6, atol=1e-7)


def test_loss_scale_factor_unscales_gradients():
    optimizer = O.SGD(1.0, loss_scale_factor=4.0)
    assert optimizer.scale_loss(2.0) == 8.0
    variable = Variable(np.zeros(1, "float32"))
    optimizer.apply([np.array([4.0], "float32")], [variable])
    np.testing.assert_allclose(variable.numpy(), [-1.0])


# --------------------------------------------------------------------------------------
# dtypes and in-place updates
# --------------------------------------------------------------------------------------

ALL_CONFIGS = [
    lambda: O.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda: O.RMSprop(0.01, momentum=0.5, centered=True),
    lambda: O.Adam(0.01, amsgrad=True, use_ema=True),
    lambda: O.AdamW(0.01),
    lambda: O.Adagrad(0.1),
    lambda: O.Adadelta(1.0),
    lambda: O.Adamax(0.01),
    lambda: O.Nadam(0.01),
]


@pytest.mark.parametrize("make", ALL_CONFIGS)
def test_updates_stay_float32_and_in_place(make):
    optimizer = make()
    variables = make_variables(make_params())
    arrays = [v.value for v in variables]
    rng = np.random.default_rng(3)
    for _ in range(3):
        # float64 gradients (e.g. from a user's NumPy code) must not promote the state.
        optimizer.apply([rng.standard_normal(v.shape) for v in variables], variables)
    for variable, array in zip(variables, arrays):
        assert variable.value is array
        assert variable.dtype == np.float32
    for state in optimizer.variables[1:]:
        assert state.dtype == np.float32, state.path


@pytest.mark.parametrize("make", ALL_CONFIGS)
def test_update_allocates_no_full_size_temporaries(make):
    optimizer = make()
    variable = Variable(np.zeros((500, 500), "float32"))
    gradient = np.full((500, 500), 0.5, "float32")
    optimizer.apply([gradient], [variable])  # builds slots and scratch buffers
    tracemalloc.start()
    try:
        optimizer.apply([gradient], [variable])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < gradient.nbytes // 4


def test_float64_floatx_keeps_float64_state(float64):
    optimizer = O.Nadam(0.01)
    variable = Variable(np.ones(3))
    assert variable.dtype == np.float64
    optimizer.apply([np.ones(3, "float32")], [variable])
    assert variable.dtype == np.float64
    assert all(v.dtype == np.float64 for v in optimizer.variables[1:])


def test_repr_names_the_optimizer():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "Adam" in repr(O.Adam(0.5))


def test_custom_optimizer_subclass_in_keras_style():
    class HeavyBall(optimizers.Optimizer):
        def __init__(self, learning_rate=0.1, momentum=0.5, **kwargs):
            super().__init__(learning_rate=learning_rate, **kwargs)
            self.momentum = momentum

        def build(self, var_list):
            if self.built:
                return
            super().build(var_list)
            self.velocities = self.add_optimizer_variables(var_list, "velocity")

        def update_step(self, gradient, variable, learning_rate):
            velocity = self.velocities[self._get_variable_index(variable)]
            self.assign(velocity, self.momentum * velocity.value - learning_rate * gradient)
            self.assign_add(variable, velocity.value)

    variable = Variable(np.zeros(2, "float32"), name="w")
    optimizer = HeavyBall()
    for _ in range(2):
        optimizer.apply([np.ones(2, "float32")], [variable])
    np.testing.assert_allclose(variable.numpy(), [-0.25, -0.25])
    assert optimizer.name.startswith("heavy_ball")
    assert [v.name for v in optimizer.variables] == ["iteration", "learning_rate", "w_velocity"]
    with pytest.raises(TypeError, match="update_step"):
        optimizers.Optimizer(0.1).apply([np.ones(2, "float32")], [variable])


class _OneByOneAdam(O.Adam):
    """Adam with its own `update_step`: every variable is updated on its own."""

    def update_step(self, gradient, variable, learning_rate):
        super().update_step(gradient, variable, learning_rate)


def _adam_runs(cls, amsgrad, shapes, dtypes, listed=None):
    """Variables and slots after 4 steps of `cls` and of its one-by-one twin.

    `listed` gives the order in which the variables are passed to `apply`
    (indices, repeats allowed); every variable by default.
    """
    rng = np.random.default_rng(7)
    params = [rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes)]
    listed = list(range(len(shapes))) if listed is None else listed
    runs = []
    for make in (cls, type("OneByOne", (_OneByOneAdam, cls), {})):
        optimizer = make(learning_rate=0.01, amsgrad=amsgrad)
        variables = [Variable(p.copy(), name=f"v{i}", dtype=p.dtype) for i, p in enumerate(params)]
        optimizer.build(variables)
        arrays = [v.value for v in variables]
        grad_rng = np.random.default_rng(8)
        for _ in range(4):
            grads = [grad_rng.standard_normal(shapes[i]) for i in listed]
            optimizer.apply(grads, [variables[i] for i in listed])
        assert all(v.value is a for v, a in zip(variables, arrays))
        runs.append(
            [v.numpy().copy() for v in variables] + [s.numpy() for s in optimizer.variables]
        )
    return params, runs


def _assert_equal_runs(params, runs):
    together, one_by_one = runs
    for ours, reference in zip(together, one_by_one):
        assert ours.dtype == reference.dtype
        np.testing.assert_array_equal(ours, reference)
    assert not np.array_equal(together[0], params[0])


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("cls", [O.Adam, O.AdamW])
def test_adam_updates_small_variables_together_bit_for_bit(cls, amsgrad):
    # Small variables go through one update of their concatenation per dtype; a
    # large one, a lone float16 one and a subclass with its own update_step do
    # not. All equal the one-by-one update exactly, slots included.
    shapes = [(4, 3), (), (3,), (2, 2, 2), (300, 200), (5,), (7, 2), (4,)]
    dtypes = ["float32"] * 5 + ["float64", "float64", "float16"]
    _assert_equal_runs(*_adam_runs(cls, amsgrad, shapes, dtypes))


def test_adam_variable_listed_twice_is_updated_twice_as_one_by_one():
    # Together, both copies would start from the same values and one would be lost.
    shapes = [(3,), (2, 2), (4,)]
    params, runs = _adam_runs(O.Adam, False, shapes, ["float32"] * 3, listed=[0, 1, 0, 2])
    _assert_equal_runs(params, runs)


def test_adam_groups_are_capped_and_still_exact(monkeypatch):
    from engine.optimizers import adam

    monkeypatch.setattr(adam, "_TOGETHER_MAX", 20)
    groups = adam._small_groups([Variable(np.ones(n, "float32")) for n in (8, 8, 8, 3, 30, 9)])
    # 8+8 fit, a third 8 starts a group that 3 joins; 30 is over the cap and 9 is
    # left alone after it: both are updated one by one.
    assert groups == [[0, 1], [2, 3]]
    shapes = [(8,), (8,), (8,), (3,), (30,), (9,)]
    _assert_equal_runs(*_adam_runs(O.Adam, True, shapes, ["float32"] * 6))


def test_adam_update_step_set_on_the_instance_is_used():
    seen = []
    optimizer = O.Adam(0.1)
    original = optimizer.update_step

    def update_step(gradient, variable, learning_rate):
        seen.append(variable.name)
        original(gradient, variable, learning_rate)

    optimizer.update_step = update_step
    variables = [Variable(np.ones(3, "float32"), name=f"v{i}") for i in range(2)]
    optimizer.apply([np.ones(3, "float32")] * 2, variables)
    assert seen == ["v0", "v1"]


def test_adam_update_together_runs_one_update_for_the_small_variables(monkeypatch):
    calls = []
    original = O.Adam._update_together

    def spy(self, grads, variables, learning_rate):
        calls.append([v.name for v in variables])
        original(self, grads, variables, learning_rate)

    monkeypatch.setattr(O.Adam, "_update_together", spy)
    variables = [
        Variable(np.ones(s, "float32"), name=f"v{i}")
        for i, s in enumerate([(3,), (300, 200), (2, 2)])
    ]
    O.Adam(0.1).apply([np.ones(v.shape, "float32") for v in variables], variables)
    assert calls == [["v0", "v2"]]
