"""`ObjectRegistry`: Keras's `get`/`serialize`/`deserialize` trio for one kind of object.

Initializers, regularizers and constraints are all looked up the same way:
by name (class name or snake-case alias), from a config dict, as a class
(instantiated with its defaults) or as a ready callable.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from engine.saving.serialization import deserialize_keras_object, serialize_keras_object


class ObjectRegistry:
    """Name lookup and (de)serialization for one kind of engine object.

    Args:
        kind: what the objects are, for messages (`"initializer"`).
        objects: names (class names and aliases) to classes or functions.
        example: a name to suggest in the error for an uninterpretable identifier.
        named: optional ready objects for special names (checked before `objects`).

    Example:
        >>> registry = ObjectRegistry("constraint", {"non_neg": NonNeg}, "non_neg")
        >>> registry.get("non_neg")
    """

    def __init__(
        self,
        kind: str,
        objects: Mapping[str, Any],
        example: str,
        named: Mapping[str, Callable[[], Any]] | None = None,
    ) -> None:
        self.kind = kind
        self.objects = dict(objects)
        self.example = example
        self.named = dict(named or {})

    def from_name(self, name: str, custom_objects: Mapping[str, Any] | None = None) -> Any:
        """The object for `name`; classes are instantiated with their defaults."""
        if name in self.named and not custom_objects:
            return self.named[name]()
        try:
            obj = deserialize_keras_object(
                name, module_objects=self.objects, custom_objects=custom_objects, kind=self.kind
            )
        except ValueError:
            known = ", ".join(sorted(k for k in self.objects if k[0].islower()))
            raise ValueError(
                f"Unknown {self.kind} {name!r}. Known {self.kind}s: {known}. A custom "
                f"{self.kind} must be passed as an object or registered with "
                "engine.saving.register_keras_serializable()."
            ) from None
        return obj() if inspect.isclass(obj) else obj

    def serialize(self, obj: Any) -> Any:
        """The JSON-able config dict of `obj` (None gives None)."""
        return serialize_keras_object(obj)

    def deserialize(self, config: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
        """Rebuild an object from `serialize` output or a name."""
        if isinstance(config, str):
            return self.from_name(config, custom_objects)
        return deserialize_keras_object(
            config, module_objects=self.objects, custom_objects=custom_objects, kind=self.kind
        )

    def get(self, identifier: Any) -> Any:
        """An object from None (None), a name, a config dict, a class or a callable."""
        if identifier is None:
            return None
        if isinstance(identifier, str):
            return self.from_name(identifier)
        if isinstance(identifier, Mapping):
            return self.deserialize(identifier)
        if callable(identifier):
            return identifier() if inspect.isclass(identifier) else identifier
        raise ValueError(
            f"Could not interpret {self.kind} identifier {identifier!r}: pass a name such as "
            f"{self.example!r}, an object, or a config dict."
        )
