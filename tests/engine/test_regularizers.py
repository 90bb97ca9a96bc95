"""Regularizers: penalty values, gradients through the tape, lookup and serialization."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine import ops, regularizers
from engine.backend import GradientTape, Tensor, Variable, set_floatx

W = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.5]])


@pytest.fixture
def float64():
    set_floatx("float64")
    yield
    set_floatx("float32")


def penalty_and_gradient(reg, w: np.ndarray) -> tuple[float, np.ndarray]:
    v = Variable(w, name="kernel")
    with GradientTape() as tape:
        p = reg(v)
    assert isinstance(p, Tensor) and p.shape == ()
    return float(p), tape.gradient(p, v)


def numeric_gradient(reg, w: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        up, down = w.copy(), w.copy()
        up[i] += h
        down[i] -= h
        out[i] = (float(reg(up)) - float(reg(down))) / (2 * h)
    return out


def test_l1_l2_l1l2_values_and_gradients(float64):
    value, grad = penalty_and_gradient(regularizers.L1(0.1), W)
    assert value == pytest.approx(0.1 * 8.0)
    np.testing.assert_allclose(grad, 0.1 * np.sign(W))

    value, grad = penalty_and_gradient(regularizers.L2(0.5), W)
    assert value == pytest.approx(0.5 * np.sum(W**2))
    np.testing.assert_allclose(grad, W)

    value, grad = penalty_and_gradient(regularizers.L1L2(l1=0.1, l2=0.5), W)
    assert value == pytest.approx(0.8 + 0.5 * np.sum(W**2))
    np.testing.assert_allclose(grad, 0.1 * np.sign(W) + W)


def test_keras_docstring_example():
    assert float(regularizers.L2(2.0)(np.ones((5, 5), "float32"))) == 50.0


def test_defaults_match_keras():
    assert regularizers.L1().l1 == 0.01
    assert regularizers.L2().l2 == 0.01
    assert regularizers.L1(None).l1 == 0.01
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.OrthogonalRegularizer().get_config() == {"factor": 0.01, "mode": "rows"}


def test_zero_factor_gives_a_zero_scalar_of_the_weight_dtype():
    p = regularizers.L1L2()(np.ones((2, 2), "float32"))
    assert isinstance(p, Tensor) and float(p) == 0.0 and p.dtype == np.float32
    base = regularizers.Regularizer()(np.ones(3, "float32"))
    assert float(base) == 0.0 and base.dtype == np.float32


def test_penalty_keeps_the_weight_dtype():
    assert regularizers.L2(0.1)(np.ones(3, "float32")).dtype == np.float32
    assert regularizers.L1(0.1)(np.ones(3, "float64")).dtype == np.float64


def test_invalid_factors():
    for bad in (-0.1, float("nan"), float("inf"), "0.1", True):
        with pytest.raises(ValueError, match="non-negative number"):
            regularizers.L1(bad)
    with pytest.raises(ValueError, match="'rows' or 'columns'"):
        regularizers.OrthogonalRegularizer(mode="diagonal")


def test_orthogonal_regularizer_values(float64):
    reg = regularizers.OrthogonalRegularizer(factor=1.0)
    assert float(reg(np.eye(3))) == pytest.approx(0.0)
    # Two identical rows: cosine 1 for the single pair, counted twice then halved.
    assert float(reg(np.array([[1.0, 2.0], [2.0, 4.0]]))) == pytest.approx(1.0)
    rows = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    c = 1 / np.sqrt(2)
    assert float(reg(rows)) == pytest.approx((c + 0 + c) / 3)
    columns = regularizers.OrthogonalRegularizer(factor=2.0, mode="columns")
    assert float(columns(rows.T)) == pytest.approx(2 * (c + 0 + c) / 3)
    with pytest.raises(ValueError, match="2-D weight"):
        reg(np.ones(3))


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_regularizer_gradient(float64, mode):
    reg = regularizers.OrthogonalRegularizer(factor=0.3, mode=mode)
    w = np.random.default_rng(0).normal(size=(4, 3))
    _, grad = penalty_and_gradient(reg, w)
    np.testing.assert_allclose(grad, numeric_gradient(reg, w), rtol=1e-6, atol=1e-9)


def test_penalty_gradient_flows_into_a_loss(float64):
    v = Variable(W, name="kernel")
    reg = regularizers.L2(0.5)
    with GradientTape() as tape:
        loss = ops.add(ops.sum(v), reg(v))
    np.testing.assert_allclose(tape.gradient(loss, v), 1 + W)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("l1", regularizers.L1(0.01)),
        ("l2", regularizers.L2(0.01)),
        ("L1", regularizers.L1(0.01)),
        ("l1_l2", regularizers.L1L2(0.01, 0.01)),
        ("l1l2", regularizers.L1L2(0.0, 0.0)),
        ("L1L2", regularizers.L1L2(0.0, 0.0)),
        ("orthogonal_regularizer", regularizers.OrthogonalRegularizer()),
    ],
)
def test_get_by_name(name, expected):
    got = regularizers.get(name)
    assert type(got) is type(expected) and got.get_config() == expected.get_config()


def test_get_other_identifiers():
    assert regularizers.get(None) is None
    assert isinstance(regularizers.get(regularizers.L2), regularizers.L2)
    reg = regularizers.L1(0.2)
    assert regularizers.get(reg) is reg

    def custom(w):
        return ops.sum(w)

    assert regularizers.get(custom) is custom
    with pytest.raises(ValueError, match=r"Unknown regularizer 'l3'\. Known regularizers: "):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier"):
        regularizers.get(0.1)


@pytest.mark.parametrize(
    "reg",
    [
        regularizers.L1(0.3),
        regularizers.L2(0.2),
        regularizers.L1L2(0.1, 0.4),
        regularizers.OrthogonalRegularizer(0.5, "columns"),
    ],
)
def test_serialize_round_trip(reg):
    config = json.loads(json.dumps(regularizers.serialize(reg)))
    restored = regularizers.deserialize(config)
    assert type(restored) is type(reg) and restored.get_config() == reg.get_config()
    assert regularizers.serialize(None) is None
