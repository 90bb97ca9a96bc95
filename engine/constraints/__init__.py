"""Weight constraints, looked up by name as Keras does.

Example:
    >>> from engine import constraints
    >>> constraints.get("non_neg")(np.array([-1.0, 1.0])).tolist()
    [0.0, 1.0]
"""

from __future__ import annotations

import inspect
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
from engine.saving.serialization import deserialize_keras_object, serialize_keras_object

ALL_OBJECTS = (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)
ALL_OBJECTS_DICT: dict[str, type[Constraint]] = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})


def _from_name(name: str, custom_objects: Mapping[str, Any] | None = None) -> Any:
    try:
        obj = deserialize_keras_object(
            name, module_objects=ALL_OBJECTS_DICT, custom_objects=custom_objects, kind="constraint"
        )
    except ValueError:
        known = ", ".join(sorted(k for k in ALL_OBJECTS_DICT if k[0].islower()))
        raise ValueError(
            f"Unknown constraint {name!r}. Known constraints: {known}. A custom constraint "
            "must be passed as an object or registered with "
            "engine.saving.register_keras_serializable()."
        ) from None
    return obj() if inspect.isclass(obj) else obj


def serialize(constraint: Any) -> Any:
    """Return the JSON-able config dict of a constraint (None gives None).

    Args:
        constraint: a `Constraint`, a registered function, or None.
    """
    return serialize_keras_object(constraint)


def deserialize(config: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """Rebuild a constraint from `serialize` output or a name.

    Args:
        config: a dict from `serialize`, or a name such as `"max_norm"`.
        custom_objects: extra names to resolve user constraints.
    """
    if isinstance(config, str):
        return _from_name(config, custom_objects)
    return deserialize_keras_object(
        config, module_objects=ALL_OBJECTS_DICT, custom_objects=custom_objects, kind="constraint"
    )


def get(identifier: Any) -> Callable[..., Any] | None:
    """Return a constraint from a name, a config dict, a class or a callable.

    Args:
        identifier: None (gives None), a name such as `"unit_norm"`, a dict
            from `serialize`, a constraint class (instantiated with defaults),
            or a callable `array -> array` (returned unchanged).
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        return _from_name(identifier)
    if isinstance(identifier, Mapping):
        return deserialize(identifier)
    if callable(identifier):
        return identifier() if inspect.isclass(identifier) else identifier
    raise ValueError(
        f"Could not interpret constraint identifier {identifier!r}: pass a name such as "
        "'max_norm', a Constraint, or a config dict."
    )


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
