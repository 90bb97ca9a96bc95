"""Learning rate schedules: values against Keras 3's formulas, configs and step types."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine.backend.tensor import Tensor, Variable
from engine.optimizers import schedules
from engine.optimizers.schedules import (
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
)

STEPS = [0, 1, 5, 10, 15, 20, 37, 100]


def test_exponential_decay_values():
    schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert schedule(0) == pytest.approx(0.1)
    assert schedule(10) == pytest.approx(0.05)
    assert schedule(20) == pytest.approx(0.025)
    for step in STEPS:
        assert schedule(step) == pytest.approx(0.1 * 0.5 ** (step / 10))


def test_exponential_decay_staircase():
    schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    assert [schedule(s) for s in (0, 9, 10, 19, 20)] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_inverse_time_decay_values():
    schedule = InverseTimeDecay(0.1, decay_steps=5, decay_rate=0.5)
    for step in STEPS:
        assert schedule(step) == pytest.approx(0.1 / (1 + 0.5 * step / 5))
    stair = InverseTimeDecay(0.1, decay_steps=5, decay_rate=0.5, staircase=True)
    assert [stair(s) for s in (4, 5, 9, 10)] == pytest.approx([0.1, 0.1 / 1.5, 0.1 / 1.5, 0.05])


def test_piecewise_constant_boundaries_are_inclusive_on_the_left_interval():
    schedule = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    expected = {0: 1.0, 10: 1.0, 11: 0.5, 20: 0.5, 21: 0.1, 1000: 0.1}
    assert {s: schedule(s) for s in expected} == expected


def test_piecewise_constant_validates_its_lists():
    with pytest.raises(ValueError, match="one more value"):
        PiecewiseConstantDecay([10, 20], [1.0, 0.5])
    with pytest.raises(ValueError, match="increasing"):
        PiecewiseConstantDecay([20, 10], [1.0, 0.5, 0.1])


def test_polynomial_decay_linear_and_power():
    linear = PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01)
    assert linear(0) == pytest.approx(0.1)
    assert linear(5) == pytest.approx(0.055)
    assert linear(10) == pytest.approx(0.01)
    assert linear(50) == pytest.approx(0.01)
    sqrt = PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01, power=0.5)
    for step in STEPS:
        p = min(step, 10) / 10
        assert sqrt(step) == pytest.approx(0.09 * (1 - p) ** 0.5 + 0.01)


def test_polynomial_decay_cycle():
    schedule = PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.0, cycle=True)
    assert schedule(0) == pytest.approx(0.1)
    assert schedule(5) == pytest.approx(0.05)
    assert schedule(10) == pytest.approx(0.0)
    # Past the first horizon it decays over the next multiple of decay_steps.
    assert schedule(15) == pytest.approx(0.1 * (1 - 15 / 20))
    assert schedule(25) == pytest.approx(0.1 * (1 - 25 / 30))


def test_cosine_decay_values():
    schedule = CosineDecay(0.1, decay_steps=20, alpha=0.1)
    for step in STEPS:
        cosine = 0.5 * (1 + math.cos(math.pi * min(step, 20) / 20))
        assert schedule(step) == pytest.approx(0.1 * (0.9 * cosine + 0.1))
    assert schedule(10) == pytest.approx(0.1 * (0.9 * 0.5 + 0.1))
    assert schedule(20) == pytest.approx(0.01)


def test_cosine_decay_with_warmup():
    schedule = CosineDecay(0.0, decay_steps=20, alpha=0.0, warmup_target=0.2, warmup_steps=10)
    assert schedule(0) == pytest.approx(0.0)
    assert schedule(5) == pytest.approx(0.1)
    assert schedule(10) == pytest.approx(0.2)
    assert schedule(20) == pytest.approx(0.1)
    assert schedule(30) == pytest.approx(0.0)
    assert schedule(100) == pytest.approx(0.0)
    warm_from = CosineDecay(0.05, decay_steps=20, warmup_target=0.2, warmup_steps=10)
    assert warm_from(5) == pytest.approx(0.05 + 0.15 * 0.5)


def cosine_restarts_reference(step, lr, first, t_mul, m_mul, alpha):
    """Walk the periods one by one (independent of the closed form in the schedule)."""
    start, length, i = 0.0, float(first), 0
    while step >= start + length:
        start += length
        length *= t_mul
        i += 1
    fraction = (step - start) / length
    return lr * ((1 - alpha) * 0.5 * m_mul**i * (1 + math.cos(math.pi * fraction)) + alpha)


@pytest.mark.parametrize(
    "t_mul, m_mul, alpha", [(2.0, 1.0, 0.0), (1.0, 1.0, 0.0), (2.0, 0.5, 0.1), (1.5, 0.8, 0.05)]
)
def test_cosine_decay_restarts_matches_period_walk(t_mul, m_mul, alpha):
    schedule = CosineDecayRestarts(0.1, first_decay_steps=10, t_mul=t_mul, m_mul=m_mul, alpha=alpha)
    for step in [0, 3, 9, 10, 11, 25, 29, 30, 31, 55, 69, 71, 150]:
        expected = cosine_restarts_reference(step, 0.1, 10, t_mul, m_mul, alpha)
        assert schedule(step) == pytest.approx(expected, abs=1e-9), step


def test_cosine_decay_restarts_restarts_at_period_ends():
    schedule = CosineDecayRestarts(0.1, first_decay_steps=10)
    assert schedule(0) == pytest.approx(0.1)
    assert schedule(5) == pytest.approx(0.05)
    assert schedule(10) == pytest.approx(0.1)  # first restart
    assert schedule(20) == pytest.approx(0.05)  # middle of the 20-step second period
    assert schedule(30) == pytest.approx(0.1)  # second restart


def test_step_may_be_a_variable_tensor_or_numpy_scalar():
    schedule = ExponentialDecay(1.0, decay_steps=1, decay_rate=0.5)
    step = Variable(np.array(3), dtype="int64", trainable=False)
    assert schedule(step) == 0.125
    assert schedule(Tensor(np.array(3))) == 0.125
    assert schedule(np.int64(3)) == 0.125
    assert isinstance(schedule(step), float)
    with pytest.raises(ValueError, match="scalar"):
        schedule(np.arange(3))


@pytest.mark.parametrize(
    "make",
    [
        lambda: ExponentialDecay(0.1, 0, 0.5),
        lambda: InverseTimeDecay(0.1, -1, 0.5),
        lambda: PolynomialDecay(0.1, 0),
        lambda: CosineDecay(0.1, 0),
        lambda: CosineDecayRestarts(0.1, 0),
    ],
)
def test_non_positive_decay_steps_are_rejected(make):
    with pytest.raises(ValueError, match="> 0"):
        make()


ALL_SCHEDULES = [
    lambda: ExponentialDecay(0.1, 100, 0.96, staircase=True, name="exp"),
    lambda: PiecewiseConstantDecay([10, 20], [0.1, 0.05, 0.01]),
    lambda: PolynomialDecay(0.1, 100, end_learning_rate=0.01, power=2.0, cycle=True),
    lambda: InverseTimeDecay(0.1, 10, 0.5, staircase=True),
    lambda: CosineDecay(0.0, 100, alpha=0.1, warmup_target=0.1, warmup_steps=10),
    lambda: CosineDecayRestarts(0.1, 50, t_mul=1.5, m_mul=0.9, alpha=0.01),
]


@pytest.mark.parametrize("make", ALL_SCHEDULES)
def test_config_round_trip(make):
    schedule = make()
    config = schedule.get_config()
    rebuilt = type(schedule).from_config(json.loads(json.dumps(config)))
    assert rebuilt.get_config() == config
    serialized = json.loads(json.dumps(schedules.serialize(schedule)))
    assert serialized["class_name"] == type(schedule).__name__
    again = schedules.deserialize(serialized)
    assert type(again) is type(schedule)
    assert [again(s) for s in STEPS] == [schedule(s) for s in STEPS]


def test_deserializes_a_keras_saved_schedule():
    config = {
        "module": "keras.optimizers.schedules",
        "class_name": "ExponentialDecay",
        "config": {
            "initial_learning_rate": 0.01,
            "decay_steps": 1000,
            "decay_rate": 0.9,
            "staircase": False,
            "name": "ExponentialDecay",
        },
        "registered_name": None,
    }
    schedule = schedules.deserialize(config)
    assert isinstance(schedule, ExponentialDecay)
    assert schedule(1000) == pytest.approx(0.009)


def test_custom_schedule_subclass():
    class Halving(LearningRateSchedule):
        def __call__(self, step):
            return 1.0 / 2 ** float(step)

    assert Halving()(3) == 0.125
    with pytest.raises(TypeError, match="get_config"):
        schedules.serialize(Halving())
    with pytest.raises(TypeError):
        LearningRateSchedule()
