"""Weight initializers, looked up by name as Keras does.

Example:
    >>> from engine import initializers
    >>> init = initializers.get("glorot_uniform")
    >>> init((3, 4)).shape
    (3, 4)
"""

from __future__ import annotations

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
from engine.saving.object_registry import ObjectRegistry

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


_REGISTRY = ObjectRegistry("initializer", ALL_OBJECTS_DICT, "glorot_uniform")


def serialize(initializer: Any) -> Any:
    """Return the JSON-able config dict of an initializer (None gives None).

    Args:
        initializer: an `Initializer`, a registered function, or None.
    """
    return _REGISTRY.serialize(initializer)


def deserialize(config: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """Rebuild an initializer from `serialize` output or a name.

    Args:
        config: a dict from `serialize`, or a name such as `"glorot_uniform"`.
        custom_objects: extra names to resolve user initializers.
    """
    return _REGISTRY.deserialize(config, custom_objects)


def get(identifier: Any) -> Callable[..., Any] | None:
    """Return an initializer from a name, a config dict, a class or a callable.

    Args:
        identifier: None (gives None), a name such as `"glorot_uniform"`, a dict from
            `serialize`, a class (instantiated with defaults), or a callable
            (returned unchanged).
    """
    return _REGISTRY.get(identifier)


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
