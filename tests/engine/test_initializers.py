"""Initializers: distributions, fans, seeding, reproducibility and lookup."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine import initializers
from engine.backend import Variable, set_floatx
from engine.backend.random import SeedGenerator
from engine.initializers import compute_fans
from engine.utils import set_random_seed

BIG = (400, 500)  # 200k draws: sample moments are accurate to well under 1%


@pytest.fixture
def float64():
    set_floatx("float64")
    yield
    set_floatx("float32")


@pytest.mark.parametrize(
    ("shape", "fans"),
    [
        ((), (1, 1)),
        ((7,), (7, 7)),
        ((3, 5), (3, 5)),
        ((3, 16, 32), (48, 96)),
        ((3, 3, 16, 32), (144, 288)),
        ((2, 3, 3, 4, 8), (72, 144)),
    ],
)
def test_compute_fans_uses_the_receptive_field(shape, fans):
    assert compute_fans(shape) == fans


@pytest.mark.parametrize(
    ("cls", "variance"),
    [
        (initializers.GlorotUniform, lambda fi, fo: 2 / (fi + fo)),
        (initializers.GlorotNormal, lambda fi, fo: 2 / (fi + fo)),
        (initializers.HeUniform, lambda fi, fo: 2 / fi),
        (initializers.HeNormal, lambda fi, fo: 2 / fi),
        (initializers.LecunUniform, lambda fi, fo: 1 / fi),
        (initializers.LecunNormal, lambda fi, fo: 1 / fi),
    ],
)
@pytest.mark.parametrize("shape", [BIG, (5, 5, 16, 500)])
def test_named_variance_scaling_statistics(cls, variance, shape):
    values = cls(seed=3)(shape)
    assert values.dtype == np.float32 and values.shape == shape
    fan_in, fan_out = compute_fans(shape)
    std = math.sqrt(variance(fan_in, fan_out))
    assert abs(values.mean()) < 0.01 * std
    assert values.std() == pytest.approx(std, rel=0.01)
    if "Uniform" in cls.__name__:
        limit = math.sqrt(3) * std
        assert values.max() <= limit and values.min() >= -limit
        assert values.max() > 0.99 * limit and values.min() < -0.99 * limit
    else:
        # Truncated at two (pre-correction) standard deviations.
        limit = 2 * std / 0.87962566103423978
        assert values.max() <= limit and values.min() >= -limit
        assert values.max() > 0.98 * limit


@pytest.mark.parametrize(("mode", "fan"), [("fan_in", 400), ("fan_out", 500), ("fan_avg", 450)])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_modes_and_distributions(mode, fan, distribution):
    init = initializers.VarianceScaling(scale=3.0, mode=mode, distribution=distribution, seed=0)
    values = init(BIG)
    assert values.std() == pytest.approx(math.sqrt(3.0 / fan), rel=0.01)
    if distribution == "untruncated_normal":
        # Tails beyond 3 sigma exist only without truncation.
        assert np.abs(values).max() > 3.5 * math.sqrt(3.0 / fan)


def test_variance_scaling_normal_alias_and_validation():
    assert initializers.VarianceScaling(distribution="Normal").distribution == "truncated_normal"
    with pytest.raises(ValueError, match="positive"):
        initializers.VarianceScaling(scale=0.0)
    with pytest.raises(ValueError, match="mode must be one of"):
        initializers.VarianceScaling(mode="fan_mean")
    with pytest.raises(ValueError, match="distribution must be one of"):
        initializers.VarianceScaling(distribution="cauchy")


def test_random_normal_uniform_truncated_statistics():
    normal = initializers.RandomNormal(mean=1.0, stddev=2.0, seed=1)(BIG)
    assert normal.mean() == pytest.approx(1.0, abs=0.02)
    assert normal.std() == pytest.approx(2.0, rel=0.01)
    uniform = initializers.RandomUniform(minval=-1.0, maxval=3.0, seed=1)(BIG)
    assert uniform.min() >= -1.0 and uniform.max() < 3.0
    assert uniform.mean() == pytest.approx(1.0, abs=0.02)
    assert uniform.std() == pytest.approx(4 / math.sqrt(12), rel=0.01)
    truncated = initializers.TruncatedNormal(mean=0.5, stddev=1.0, seed=1)(BIG)
    assert truncated.min() >= -1.5 and truncated.max() <= 2.5
    assert truncated.mean() == pytest.approx(0.5, abs=0.01)
    assert truncated.std() == pytest.approx(0.87962566, rel=0.01)


def test_defaults_match_keras():
    assert initializers.RandomNormal().get_config() == {"seed": None, "mean": 0.0, "stddev": 0.05}
    assert initializers.RandomUniform().get_config() == {
        "seed": None,
        "minval": -0.05,
        "maxval": 0.05,
    }
    assert initializers.TruncatedNormal().get_config()["stddev"] == 0.05
    assert initializers.VarianceScaling().get_config() == {
        "seed": None,
        "scale": 1.0,
        "mode": "fan_in",
        "distribution": "truncated_normal",
    }
    assert initializers.GlorotUniform(seed=4).get_config() == {"seed": 4}


def test_int_seed_gives_the_keras_numpy_backend_stream():
    # Keras's NumPy backend draws from default_rng([seed, 0]); the values match it.
    expected = np.random.default_rng(np.array([42, 0], dtype=np.uint32)).normal(
        loc=0.0, scale=0.05, size=(3, 4)
    )
    np.testing.assert_array_equal(
        initializers.RandomNormal(seed=42)((3, 4)), expected.astype("float32")
    )


@pytest.mark.parametrize(
    "cls",
    [
        initializers.RandomNormal,
        initializers.RandomUniform,
        initializers.TruncatedNormal,
        initializers.GlorotUniform,
        initializers.HeNormal,
        initializers.Orthogonal,
    ],
)
def test_seeding_semantics(cls):
    seeded = cls(seed=7)
    # An int-seeded (or unseeded) instance repeats its values on every call, as in Keras 3.
    np.testing.assert_array_equal(seeded((6, 4)), seeded((6, 4)))
    np.testing.assert_array_equal(seeded((6, 4)), cls(seed=7)((6, 4)))
    assert not np.array_equal(seeded((6, 4)), cls(seed=8)((6, 4)))
    unseeded = cls()
    np.testing.assert_array_equal(unseeded((6, 4)), unseeded((6, 4)))
    assert not np.array_equal(cls()((6, 4)), cls()((6, 4)))
    # A SeedGenerator gives fresh values on each call, reproducibly.
    fresh = cls(seed=SeedGenerator(5))
    first, second = fresh((6, 4)), fresh((6, 4))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(cls(seed=SeedGenerator(5))((6, 4)), first)


def test_set_random_seed_makes_unseeded_initializers_reproducible():
    set_random_seed(123)
    a = [initializers.get(name)((5, 3)) for name in ("glorot_uniform", "he_normal", "orthogonal")]
    set_random_seed(123)
    b = [initializers.get(name)((5, 3)) for name in ("glorot_uniform", "he_normal", "orthogonal")]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    set_random_seed(124)
    assert not np.array_equal(initializers.get("glorot_uniform")((5, 3)), a[0])


def test_seed_validation():
    for bad in (-1, 2**32, 1.5, "7", True):
        with pytest.raises(ValueError, match="seed"):
            initializers.RandomNormal(seed=bad)


@pytest.mark.parametrize("shape", [(5, 5), (8, 3), (3, 8), (3, 3, 4, 6)])
def test_orthogonal(shape):
    q = initializers.Orthogonal(gain=2.0, seed=0)(shape)
    assert q.shape == shape and q.dtype == np.float32
    m = q.reshape(-1, shape[-1])
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(len(gram)), atol=1e-5)


def test_orthogonal_needs_rank_two():
    with pytest.raises(ValueError, match="rank 2 or more"):
        initializers.Orthogonal()((4,))


def test_identity_constant_zeros_ones():
    np.testing.assert_array_equal(initializers.Identity(gain=3.0)((2, 3)), [[3, 0, 0], [0, 3, 0]])
    with pytest.raises(ValueError, match="2-D"):
        initializers.Identity()((2, 2, 2))
    np.testing.assert_array_equal(initializers.Constant(2.5)((2,)), [2.5, 2.5])
    np.testing.assert_array_equal(initializers.Constant([1, 2])((2, 2)), [[1, 2], [1, 2]])
    with pytest.raises(ValueError, match="cannot fill"):
        initializers.Constant([1, 2, 3])((2, 2))
    assert initializers.Zeros()((2, 2)).sum() == 0
    assert initializers.Ones()((2, 2)).sum() == 4
    assert initializers.Zeros()((3,), dtype="int32").dtype == np.int32
    assert initializers.Constant(7)((2,), dtype="int64").tolist() == [7, 7]


def test_dtypes(float64):
    assert initializers.GlorotUniform(seed=0)((2, 2)).dtype == np.float64
    assert initializers.Ones()((2,)).dtype == np.float64
    assert initializers.RandomNormal(seed=0)((2,), dtype="float16").dtype == np.float16
    assert initializers.Orthogonal(seed=0)((3, 3), dtype="float16").dtype == np.float16
    with pytest.raises(ValueError, match="cannot fill dtype int32"):
        initializers.RandomUniform(seed=0)((2,), dtype="int32")


def test_shape_validation():
    with pytest.raises(ValueError, match="fully known shape"):
        initializers.Zeros()((None, 3))
    assert initializers.Ones()(3).shape == (3,)


def test_variable_accepts_an_initializer():
    v = Variable(initializers.get("ones"), shape=(2, 3), name="w")
    assert v.value.dtype == np.float32 and v.value.sum() == 6


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("glorot_uniform", initializers.GlorotUniform),
        ("glorot_normal", initializers.GlorotNormal),
        ("he_uniform", initializers.HeUniform),
        ("he_normal", initializers.HeNormal),
        ("lecun_uniform", initializers.LecunUniform),
        ("lecun_normal", initializers.LecunNormal),
        ("zeros", initializers.Zeros),
        ("zero", initializers.Zeros),
        ("ones", initializers.Ones),
        ("one", initializers.Ones),
        ("constant", initializers.Constant),
        ("orthogonal", initializers.Orthogonal),
        ("Orthogonal", initializers.Orthogonal),
        ("OrthogonalInitializer", initializers.Orthogonal),
        ("identity", initializers.Identity),
        ("IdentityInitializer", initializers.Identity),
        ("truncated_normal", initializers.TruncatedNormal),
        ("random_normal", initializers.RandomNormal),
        ("normal", initializers.RandomNormal),
        ("random_uniform", initializers.RandomUniform),
        ("uniform", initializers.RandomUniform),
        ("variance_scaling", initializers.VarianceScaling),
        ("GlorotUniform", initializers.GlorotUniform),
    ],
)
def test_get_by_name_returns_a_fresh_instance(name, cls):
    first, second = initializers.get(name), initializers.get(name)
    assert type(first) is cls and first is not second


def test_get_other_identifiers():
    assert initializers.get(None) is None
    assert isinstance(initializers.get(initializers.HeUniform), initializers.HeUniform)
    init = initializers.HeUniform(seed=1)
    assert initializers.get(init) is init

    def my_init(shape, dtype=None):
        return np.zeros(shape, dtype)

    assert initializers.get(my_init) is my_init
    with pytest.raises(ValueError, match=r"Unknown initializer 'glorot'\. Known initializers: "):
        initializers.get("glorot")
    with pytest.raises(ValueError, match="Could not interpret initializer identifier"):
        initializers.get(3)


@pytest.mark.parametrize(
    "init",
    [
        initializers.GlorotUniform(seed=3),
        initializers.HeNormal(),
        initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=1),
        initializers.RandomNormal(0.5, 2.0, seed=9),
        initializers.RandomUniform(-2.0, 1.0, seed=9),
        initializers.TruncatedNormal(0.0, 0.3, seed=9),
        initializers.Orthogonal(gain=1.5, seed=2),
        initializers.Identity(gain=0.5),
        initializers.Constant(0.25),
        initializers.Constant([[1.0, 2.0]]),
        initializers.Zeros(),
        initializers.Ones(),
        initializers.RandomNormal(seed=SeedGenerator(4)),
    ],
)
def test_serialize_round_trip(init):
    config = initializers.serialize(init)
    restored = initializers.deserialize(json.loads(json.dumps(config)))
    assert type(restored) is type(init)
    assert restored.get_config() == init.get_config()
    # Deterministic and int-seeded initializers give the same values after the round trip.
    if isinstance(init.get_config().get("seed", 0), int):
        np.testing.assert_array_equal(restored((2, 2)), init((2, 2)))
    assert type(init.clone()) is type(init)


def test_deserialize_by_name_and_keras_style_dict():
    assert isinstance(initializers.deserialize("he_normal"), initializers.HeNormal)
    keras_config = {
        "module": "keras.initializers",
        "class_name": "GlorotUniform",
        "config": {"seed": None},
        "registered_name": None,
    }
    assert isinstance(initializers.get(keras_config), initializers.GlorotUniform)
