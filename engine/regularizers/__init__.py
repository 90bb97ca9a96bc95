"""Weight regularizers (penalties added to the loss), looked up by name as Keras does.

Example:
    >>> from engine import regularizers
    >>> regularizers.get("l2")
    L2(l2=0.01)
"""

from __future__ import annotations

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
from engine.saving.object_registry import ObjectRegistry

ALL_OBJECTS = (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)
ALL_OBJECTS_DICT: dict[str, type[Regularizer]] = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT["l1_l2"] = L1L2

# Keras documents the string "l1_l2" with both factors at 0.01, unlike the class
# defaults (0, 0) which would give no penalty at all.
_REGISTRY = ObjectRegistry(
    "regularizer", ALL_OBJECTS_DICT, "l2", named={"l1_l2": lambda: L1L2(l1=0.01, l2=0.01)}
)


def serialize(regularizer: Any) -> Any:
    """Return the JSON-able config dict of a regularizer (None gives None).

    Args:
        regularizer: a `Regularizer`, a registered function, or None.
    """
    return _REGISTRY.serialize(regularizer)


def deserialize(config: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """Rebuild a regularizer from `serialize` output or a name.

    Args:
        config: a dict from `serialize`, or a name such as `"l2"`.
        custom_objects: extra names to resolve user regularizers.
    """
    return _REGISTRY.deserialize(config, custom_objects)


def get(identifier: Any) -> Callable[..., Any] | None:
    """Return a regularizer from a name, a config dict, a class or a callable.

    Args:
        identifier: None (gives None), a name such as `"l2"`, a dict from
            `serialize`, a class (instantiated with defaults), or a callable
            (returned unchanged).
    """
    return _REGISTRY.get(identifier)


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
