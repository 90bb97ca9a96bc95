"""Turning engine objects into JSON-able configs and back, as Keras does.

A serialized object is `{"module", "class_name", "config", "registered_name"}`.
Built-in classes are found through the module registries that each package
(`engine.layers`, `engine.optimizers`, ...) passes in; user classes through
`register_keras_serializable` or `custom_objects`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

_GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}
_scope = threading.local()


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Callable:
    """Register a class or function so that `load_model` finds it by name.

    Example:
        >>> @register_keras_serializable(package="my_pkg")
        ... class MyLayer(engine.layers.Layer): ...
    """

    def decorator(obj: Any) -> Any:
        key = f"{package}>{name or obj.__name__}"
        _GLOBAL_CUSTOM_OBJECTS[key] = obj
        _GLOBAL_CUSTOM_OBJECTS.setdefault(name or obj.__name__, obj)
        obj._registered_name = key
        return obj

    return decorator


def get_registered_name(obj: Any) -> str:
    """The name under which `obj` is registered (its class name otherwise)."""
    return getattr(obj, "_registered_name", None) or getattr(obj, "__name__", type(obj).__name__)


@contextlib.contextmanager
def custom_object_scope(custom_objects: Mapping[str, Any] | None) -> Iterator[None]:
    """Make `custom_objects` resolvable by name inside the block."""
    stack = getattr(_scope, "stack", None)
    if stack is None:
        stack = _scope.stack = []
    stack.append(dict(custom_objects or {}))
    try:
        yield
    finally:
        stack.pop()


def get_custom_objects() -> dict[str, Any]:
    """The global registry of custom objects (mutable, like Keras's)."""
    return _GLOBAL_CUSTOM_OBJECTS


def _lookup(name: str, custom_objects: Mapping[str, Any] | None) -> Any:
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    for scope in reversed(getattr(_scope, "stack", None) or []):
        if name in scope:
            return scope[name]
    return _GLOBAL_CUSTOM_OBJECTS.get(name)


def serialize_keras_object(obj: Any) -> Any:
    """Return a JSON-able description of `obj` (None, str and numbers pass through)."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(o) for o in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "get_config")):
        name = getattr(obj, "__name__", None)
        if name is None or name == "<lambda>":
            raise ValueError(
                f"Cannot serialize {obj!r}: a lambda or anonymous function has no name to "
                "save; define a named function and register it with "
                "engine.saving.register_keras_serializable."
            )
        return {
            "module": getattr(obj, "__module__", None),
            "class_name": "function",
            "config": name,
            "registered_name": get_registered_name(obj),
        }
    if not hasattr(obj, "get_config"):
        raise ValueError(
            f"Cannot serialize {type(obj).__name__} object {obj!r}: it has no get_config()."
        )
    cls = type(obj)
    return {
        "module": cls.__module__,
        "class_name": cls.__name__,
        "config": obj.get_config(),
        "registered_name": get_registered_name(cls),
    }


def deserialize_keras_object(
    config: Any,
    module_objects: Mapping[str, Any] | None = None,
    custom_objects: Mapping[str, Any] | None = None,
    kind: str = "object",
) -> Any:
    """Rebuild an object from `serialize_keras_object` output or from a name.

    Args:
        config: a dict from `serialize_keras_object`, or a plain name such as `"adam"`.
        module_objects: the built-in names of the package asking (lower-cased aliases allowed).
        custom_objects: extra names from the user.
        kind: what is being rebuilt, for error messages (`"layer"`, `"optimizer"`, ...).
    """
    if config is None:
        return None
    module_objects = module_objects or {}
    if isinstance(config, str):
        obj = _lookup(config, custom_objects) or module_objects.get(config)
        if obj is None:
            obj = module_objects.get(config.lower())
        if obj is None:
            known = ", ".join(sorted(k for k in module_objects if not k.startswith("_"))[:40])
            raise ValueError(f"Unknown {kind} {config!r}. Known {kind}s include: {known}.")
        return obj
    if not isinstance(config, Mapping) or "class_name" not in config:
        raise ValueError(
            f"Cannot read a {kind} from {config!r}: expected a name or a dict with 'class_name'."
        )
    class_name = config["class_name"]
    inner = config.get("config")
    if class_name == "function":
        return deserialize_keras_object(
            config.get("registered_name") or inner, module_objects, custom_objects, kind
        )
    registered = config.get("registered_name") or class_name
    cls = (
        _lookup(registered, custom_objects)
        or _lookup(class_name, custom_objects)
        or module_objects.get(class_name)
    )
    if cls is None:
        raise ValueError(
            f"Unknown {kind} class {class_name!r}. If it is a custom class, pass it in "
            "custom_objects or decorate it with @engine.saving.register_keras_serializable()."
        )
    if hasattr(cls, "from_config"):
        return cls.from_config(inner or {})
    return cls(**(inner or {}))
