"""Weight initializers, looked up by name as Keras does.

Example:
    >>> from engine import initializers
    >>> init = initializers.get("glorot_uniform")
    >>> init((3, 4)).shape
    (3, 4)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from engine.backend.naming import to_snake_case
from engine.initializers.constant_initializers import (
    Constant,
    Identity,
    IdentityInitializer,
    Ones,
    Zeros,
)
from engine.initializers.initializer import Initializer
from engine.initializers.random_initializers import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    Orthogonal,
    OrthogonalInitializer,
    RandomInitializer,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    compute_fans,
)
from engine.saving.serialization import deserialize_keras_object, serialize_keras_object

ALL_OBJECTS = (
    Constant,
    Identity,
    Ones,
    Zeros,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
)
ALL_OBJECTS_DICT: dict[str, type[Initializer]] = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT.update(
    {
        "IdentityInitializer": Identity,
        "identity_initializer": Identity,
        "OrthogonalInitializer": Orthogonal,
        "orthogonal_initializer": Orthogonal,
        "normal": RandomNormal,
        "uniform": RandomUniform,
        "one": Ones,
        "zero": Zeros,
    }
)

# The lower-case functional names Keras also exports (`keras.initializers.he_normal`).
constant = Constant
identity = Identity
ones = Ones
zeros = Zeros
glorot_normal = GlorotNormal
glorot_uniform = GlorotUniform
he_normal = HeNormal
he_uniform = HeUniform
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
orthogonal = Orthogonal
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling


def serialize(initializer: Any) -> Any:
    """Return the JSON-able config dict of an initializer (None gives None).

    Args:
        initializer: an `Initializer`, a registered function, or None.
    """
    return serialize_keras_object(initializer)


def deserialize(config: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """Rebuild an initializer from `serialize` output or a name.

    Args:
        config: a dict from `serialize`, or a name such as `"he_normal"`.
        custom_objects: extra names to resolve user initializers.
    """
    if isinstance(config, str):
        return _instantiate(_lookup(config, custom_objects))
    return deserialize_keras_object(
        config, module_objects=ALL_OBJECTS_DICT, custom_objects=custom_objects, kind="initializer"
    )


def _lookup(name: str, custom_objects: Mapping[str, Any] | None = None) -> Any:
    try:
        return deserialize_keras_object(
            name, module_objects=ALL_OBJECTS_DICT, custom_objects=custom_objects, kind="initializer"
        )
    except ValueError:
        known = ", ".join(sorted(k for k in ALL_OBJECTS_DICT if k[0].islower()))
        raise ValueError(
            f"Unknown initializer {name!r}. Known initializers: {known}. A custom initializer "
            "must be passed as an object or registered with "
            "engine.saving.register_keras_serializable()."
        ) from None


def _instantiate(obj: Any) -> Any:
    return obj() if inspect.isclass(obj) else obj


def get(identifier: Any) -> Callable[..., Any] | None:
    """Return an initializer from a name, a config dict, a class or a callable.

    Args:
        identifier: None (gives None), a name such as `"glorot_uniform"`, a dict
            from `serialize`, an initializer class (instantiated with defaults),
            or a callable `(shape, dtype) -> array` (returned unchanged).
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        cls = ALL_OBJECTS_DICT.get(identifier)
        return cls() if cls is not None else _instantiate(_lookup(identifier))
    if isinstance(identifier, Mapping):
        return deserialize(identifier)
    if callable(identifier):
        return _instantiate(identifier)
    raise ValueError(
        f"Could not interpret initializer identifier {identifier!r}: pass a name such as "
        "'glorot_uniform', an Initializer, or a config dict."
    )


__all__ = [
    "ALL_OBJECTS",
    "ALL_OBJECTS_DICT",
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "IdentityInitializer",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "OrthogonalInitializer",
    "RandomInitializer",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "compute_fans",
    "constant",
    "deserialize",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "ones",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "serialize",
    "truncated_normal",
    "variance_scaling",
    "zeros",
]
