"""Learning rate schedules, importable as `engine.optimizers.schedules` like Keras's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.optimizers.schedules.cosine_decay import CosineDecay
from engine.optimizers.schedules.cosine_decay_restarts import CosineDecayRestarts
from engine.optimizers.schedules.exponential_decay import ExponentialDecay
from engine.optimizers.schedules.inverse_time_decay import InverseTimeDecay
from engine.optimizers.schedules.learning_rate_schedule import LearningRateSchedule
from engine.optimizers.schedules.piecewise_constant_decay import PiecewiseConstantDecay
from engine.optimizers.schedules.polynomial_decay import PolynomialDecay
from engine.saving.serialization import deserialize_keras_object, serialize_keras_object

_ALL_OBJECTS = {
    cls.__name__: cls
    for cls in (
        LearningRateSchedule,
        ExponentialDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        InverseTimeDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(learning_rate_schedule: LearningRateSchedule) -> dict[str, Any]:
    """Return a JSON-able dict describing the schedule.

    Example:
        >>> serialize(ExponentialDecay(0.1, 1000, 0.96))["class_name"]
        'ExponentialDecay'
    """
    return serialize_keras_object(learning_rate_schedule)


def deserialize(
    config: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None
) -> LearningRateSchedule:
    """Rebuild a schedule from `serialize` output (Keras-saved configs work too).

    Args:
        config: a dict with `class_name` and `config`.
        custom_objects: user-defined schedule classes by name.
    """
    return deserialize_keras_object(
        config,
        module_objects=_ALL_OBJECTS,
        custom_objects=custom_objects,
        kind="learning rate schedule",
    )


__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "deserialize",
    "serialize",
]
