"""Weight constraints, looked up by name as Keras does.

Example:
    >>> from engine import constraints
    >>> constraints.get("non_neg")(np.array([-1.0, 1.0])).tolist()
    [0.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.backend.naming import to_snake_case
from engine.constraints.constraints import (
    Constraint,
    MaxNorm,
    MinMaxNorm,
    NonNeg,
    UnitNorm,
    max_norm,
    min_max_norm,
    non_neg,
    unit_norm,
)
from engine.saving.object_registry import ObjectRegistry

ALL_OBJECTS = (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)
ALL_OBJECTS_DICT: dict[str, type[Constraint]] = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})


_REGISTRY = ObjectRegistry("constraint", ALL_OBJECTS_DICT, "max_norm")


def serialize(constraint: Any) -> Any:
    """Return the JSON-able config dict of a constraint (None gives None).

    Args:
        constraint: a `Constraint`, a registered function, or None.
    """
    return _REGISTRY.serialize(constraint)


def deserialize(config: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """Rebuild a constraint from `serialize` output or a name.

    Args:
        config: a dict from `serialize`, or a name such as `"max_norm"`.
        custom_objects: extra names to resolve user constraints.
    """
    return _REGISTRY.deserialize(config, custom_objects)


def get(identifier: Any) -> Callable[..., Any] | None:
    """Return a constraint from a name, a config dict, a class or a callable.

    Args:
        identifier: None (gives None), a name such as `"max_norm"`, a dict from
            `serialize`, a class (instantiated with defaults), or a callable
            (returned unchanged).
    """
    return _REGISTRY.get(identifier)


__all__ = [
    "ALL_OBJECTS",
    "ALL_OBJECTS_DICT",
    "Constraint",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "deserialize",
    "get",
    "max_norm",
    "min_max_norm",
    "non_neg",
    "serialize",
    "unit_norm",
]
