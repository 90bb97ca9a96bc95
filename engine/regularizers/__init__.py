"""Weight regularizers (penalties added to the loss), looked up by name as Keras does.

Example:
    >>> from engine import regularizers
    >>> regularizers.get("l2")
    L2(l2=0.01)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from engine.backend.naming import to_snake_case
from engine.regularizers.regularizers import (
    L1,
    L1L2,
    L2,
    OrthogonalRegularizer,
    Regularizer,
    l1,
    l1_l2,
    l2,
    orthogonal_regularizer,
)
from engine.saving.serialization import deserialize_keras_object, serialize_keras_object

ALL_OBJECTS = (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)
ALL_OBJECTS_DICT: dict[str, type[Regularizer]] = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT["l1_l2"] = L1L2


def _from_name(name: str, custom_objects: Mapping[str, Any] | None = None) -> Any:
    if name == "l1_l2" and not custom_objects:
        # Keras documents the string form with both factors at 0.01, unlike
        # the class defaults (0, 0) which would give no penalty at all.
        return L1L2(l1=0.01, l2=0.01)
    try:
        obj = deserialize_keras_object(
            name, module_objects=ALL_OBJECTS_DICT, custom_objects=custom_objects, kind="regularizer"
        )
    except ValueError:
        known = ", ".join(sorted(k for k in ALL_OBJECTS_DICT if k[0].islower()))
        raise ValueError(
            f"Unknown regularizer {name!r}. Known regularizers: {known}. A custom regularizer "
            "must be passed as an object or registered with "
            "engine.saving.register_keras_serializable()."
        ) from None
    return obj() if inspect.isclass(obj) else obj


def serialize(regularizer: Any) -> Any:
    """Return the JSON-able config dict of a regularizer (None gives None).

    Args:
        regularizer: a `Regularizer`, a registered function, or None.
    """
    return serialize_keras_object(regularizer)


def deserialize(config: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """Rebuild a regularizer from `serialize` output or a name.

    Args:
        config: a dict from `serialize`, or a name such as `"l2"`.
        custom_objects: extra names to resolve user regularizers.
    """
    if isinstance(config, str):
        return _from_name(config, custom_objects)
    return deserialize_keras_object(
        config, module_objects=ALL_OBJECTS_DICT, custom_objects=custom_objects, kind="regularizer"
    )


def get(identifier: Any) -> Callable[..., Any] | None:
    """Return a regularizer from a name, a config dict, a class or a callable.

    Args:
        identifier: None (gives None), a name such as `"l1"`, a dict from
            `serialize`, a regularizer class (instantiated with defaults), or
            a callable `weight -> scalar tensor` (returned unchanged).
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
        f"Could not interpret regularizer identifier {identifier!r}: pass a name such as "
        "'l2', a Regularizer, or a config dict."
    )


__all__ = [
    "ALL_OBJECTS",
    "ALL_OBJECTS_DICT",
    "L1",
    "L1L2",
    "L2",
    "OrthogonalRegularizer",
    "Regularizer",
    "deserialize",
    "get",
    "l1",
    "l1_l2",
    "l2",
    "orthogonal_regularizer",
    "serialize",
]
