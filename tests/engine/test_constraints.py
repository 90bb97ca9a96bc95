"""Constraints: Keras 3's projection formulas, dtypes, lookup and serialization."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine import constraints
from engine.backend import Variable, epsilon

RNG = np.random.default_rng(7)
EPS = epsilon()


def keras_norms(w: np.ndarray, axis) -> np.ndarray:
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


@pytest.mark.parametrize("axis", [0, 1, [0, 1, 2]])
def test_max_norm_formula(axis):
    w = RNG.normal(size=(3, 3, 4, 5)).astype("float32") * 2
    out = constraints.MaxNorm(max_value=1.5, axis=axis)(w)
    ax = tuple(axis) if isinstance(axis, list) else axis
    norms = keras_norms(w, ax)
    np.testing.assert_allclose(out, w * (np.clip(norms, 0, 1.5) / (EPS + norms)), rtol=1e-6)
    assert out.dtype == np.float32
    assert np.all(keras_norms(out, ax) <= 1.5 + 1e-5)


def test_max_norm_leaves_short_vectors_nearly_alone():
    w = np.array([[0.3], [0.4]], dtype="float32")
    out = constraints.MaxNorm(2.0)(w)
    # Epsilon sits in the denominator, so short vectors shrink by a factor 1 / (1 + eps / norm).
    np.testing.assert_allclose(out, w * (0.5 / (EPS + 0.5)), rtol=1e-7)


def test_non_neg():
    w = np.array([-1.0, 0.0, 2.5], dtype="float32")
    np.testing.assert_array_equal(constraints.NonNeg()(w), [0.0, 0.0, 2.5])
    assert constraints.NonNeg()(w).dtype == np.float32


@pytest.mark.parametrize("axis", [0, 1])
def test_unit_norm(axis):
    w = RNG.normal(size=(4, 6)).astype("float32")
    out = constraints.UnitNorm(axis=axis)(w)
    np.testing.assert_allclose(out, w / (EPS + keras_norms(w, axis)), rtol=1e-6)
    np.testing.assert_allclose(keras_norms(out, axis), 1.0, rtol=1e-5)


def test_unit_norm_keeps_zero_vectors_finite():
    out = constraints.UnitNorm()(np.zeros((3, 2), "float32"))
    assert np.all(out == 0)


@pytest.mark.parametrize("rate", [1.0, 0.5])
def test_min_max_norm(rate):
    w = np.array([[0.1, 3.0, 1.0], [0.0, 4.0, 0.0]], dtype="float32")
    out = constraints.MinMaxNorm(min_value=0.5, max_value=2.0, rate=rate)(w)
    norms = keras_norms(w, 0)
    desired = rate * np.clip(norms, 0.5, 2.0) + (1 - rate) * norms
    np.testing.assert_allclose(out, w * (desired / (EPS + norms)), rtol=1e-6)
    if rate == 1.0:
        np.testing.assert_allclose(keras_norms(out, 0), [[0.5, 2.0, 1.0]], rtol=1e-5)


def test_defaults_match_keras():
    assert constraints.MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    assert constraints.UnitNorm().get_config() == {"axis": 0}
    assert constraints.MinMaxNorm().get_config() == {
        "min_value": 0.0,
        "max_value": 1.0,
        "rate": 1.0,
        "axis": 0,
    }
    assert constraints.NonNeg().get_config() == {}


def test_accepts_variables_and_integer_arrays():
    v = Variable(np.array([[3.0], [4.0]]), name="kernel")
    np.testing.assert_allclose(constraints.UnitNorm()(v), [[0.6], [0.8]], rtol=1e-6)
    assert constraints.NonNeg()(np.array([-1, 2])).dtype == np.float32
    assert constraints.Constraint()(np.array([1.0, -1.0])).tolist() == [1.0, -1.0]


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("max_norm", constraints.MaxNorm),
        ("MaxNorm", constraints.MaxNorm),
        ("non_neg", constraints.NonNeg),
        ("unit_norm", constraints.UnitNorm),
        ("min_max_norm", constraints.MinMaxNorm),
    ],
)
def test_get_by_name(name, cls):
    assert type(constraints.get(name)) is cls


def test_get_other_identifiers():
    assert constraints.get(None) is None
    assert isinstance(constraints.get(constraints.NonNeg), constraints.NonNeg)
    c = constraints.MaxNorm(3)
    assert constraints.get(c) is c

    def clip(w):
        return np.clip(w, -1, 1)

    assert constraints.get(clip) is clip
    with pytest.raises(ValueError, match=r"Unknown constraint 'nonneg'\. Known constraints: "):
        constraints.get("nonneg")
    with pytest.raises(ValueError, match="Could not interpret constraint identifier"):
        constraints.get(2)


@pytest.mark.parametrize(
    "c",
    [
        constraints.MaxNorm(3.0, axis=[0, 1, 2]),
        constraints.NonNeg(),
        constraints.UnitNorm(axis=1),
        constraints.MinMaxNorm(0.1, 0.9, 0.5, 1),
    ],
)
def test_serialize_round_trip(c):
    config = json.loads(json.dumps(constraints.serialize(c)))
    restored = constraints.deserialize(config)
    assert type(restored) is type(c) and restored.get_config() == c.get_config()
    w = RNG.normal(size=(2, 3, 4, 5)).astype("float32")
    np.testing.assert_array_equal(restored(w), c(w))
