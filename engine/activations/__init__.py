"""Activation functions, looked up by name as Keras does.

Example:
    >>> from engine import activations
    >>> activations.get("relu")([-1.0, 2.0]).numpy()
    array([0., 2.], dtype=float32)
    >>> activations.serialize(activations.swish)
    'silu'
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any

from engine.activations.activations import (
    celu,
    elu,
    exponential,
    gelu,
    glu,
    hard_shrink,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    leaky_relu,
    linear,
    log_sigmoid,
    log_softmax,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    soft_shrink,
    softmax,
    softplus,
    softsign,
    sparse_plus,
    sparse_sigmoid,
    sparsemax,
    squareplus,
    swish,
    tanh,
    tanh_shrink,
    threshold,
)
from engine.saving.serialization import deserialize_keras_object, serialize_keras_object

ALL_OBJECTS = (
    celu,
    elu,
    exponential,
    gelu,
    glu,
    hard_shrink,
    hard_sigmoid,
    hard_silu,
    hard_tanh,
    leaky_relu,
    linear,
    log_sigmoid,
    log_softmax,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    soft_shrink,
    softmax,
    softplus,
    softsign,
    sparse_plus,
    sparse_sigmoid,
    sparsemax,
    squareplus,
    tanh,
    tanh_shrink,
    threshold,
)
ALL_OBJECTS_DICT: dict[str, Callable[..., Any]] = {fn.__name__: fn for fn in ALL_OBJECTS}
ALL_OBJECTS_DICT["swish"] = silu
ALL_OBJECTS_DICT["hard_swish"] = hard_silu

_BUILTIN_IDS = {id(fn) for fn in ALL_OBJECTS}


def _unknown(name: str) -> ValueError:
    known = ", ".join(sorted(ALL_OBJECTS_DICT))
    return ValueError(
        f"Unknown activation {name!r}. Known activations: {known}. A custom activation "
        "must be passed as a function or registered with "
        "engine.saving.register_keras_serializable()."
    )


def serialize(activation: Any) -> Any:
    """Return a built-in activation's name, or a config dict for a custom one.

    Args:
        activation: an activation function or callable object (None gives None).
    """
    if activation is None:
        return None
    if id(activation) in _BUILTIN_IDS:
        return activation.__name__
    config = serialize_keras_object(activation)
    if isinstance(activation, types.FunctionType) or isinstance(config, dict):
        return config
    raise ValueError(f"Cannot serialize activation {activation!r}: it is not a function.")


def deserialize(config: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """Return the activation named or described by `config`.

    Args:
        config: a name such as `"relu"`, or a dict from `serialize`.
        custom_objects: extra names to resolve user activations.
    """
    if isinstance(config, str) and config in ALL_OBJECTS_DICT and not custom_objects:
        return ALL_OBJECTS_DICT[config]
    try:
        return deserialize_keras_object(
            config,
            module_objects=ALL_OBJECTS_DICT,
            custom_objects=custom_objects,
            kind="activation",
        )
    except ValueError:
        if isinstance(config, str):
            raise _unknown(config) from None
        raise


def get(identifier: Any) -> Callable[..., Any]:
    """Return an activation function from a name, a config dict or a callable.

    Args:
        identifier: None (the linear activation), a name such as `"relu"`, a
            dict from `serialize`, or any callable (returned unchanged).
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        found = ALL_OBJECTS_DICT.get(identifier)
        return found if found is not None else deserialize(identifier)
    if isinstance(identifier, Mapping):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret activation identifier {identifier!r}: pass a name such as "
        "'relu', a function, or a config dict."
    )


def fused_activation(activation: Any) -> str | None:
    """ "relu" when a layer's op can apply `activation` itself (in place, in cache), else None."""
    return "relu" if activation is relu else None


__all__ = [
    "fused_activation",
    "ALL_OBJECTS",
    "ALL_OBJECTS_DICT",
    "celu",
    "deserialize",
    "elu",
    "exponential",
    "gelu",
    "get",
    "glu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "linear",
    "log_sigmoid",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "soft_shrink",
    "softmax",
    "softplus",
    "softsign",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "swish",
    "tanh",
    "tanh_shrink",
    "threshold",
]
