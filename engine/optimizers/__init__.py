"""Optimizers with Keras 3's names, arguments and update rules.

`get("adam")` (case-insensitive), `serialize(optimizer)` and
`deserialize(config)` mirror `keras.optimizers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.optimizers import schedules
from engine.optimizers.adadelta import Adadelta
from engine.optimizers.adagrad import Adagrad
from engine.optimizers.adam import Adam
from engine.optimizers.adamax import Adamax
from engine.optimizers.adamw import AdamW
from engine.optimizers.nadam import Nadam
from engine.optimizers.optimizer import Optimizer
from engine.optimizers.rmsprop import RMSprop
from engine.optimizers.sgd import SGD
from engine.saving.serialization import deserialize_keras_object, serialize_keras_object

_ALL_OBJECTS = (Optimizer, SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam)
# Keras resolves built-in optimizer names case-insensitively ("Adam", "adam", "ADAM").
_BY_LOWER_NAME = {cls.__name__.lower(): cls for cls in _ALL_OBJECTS}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Return a JSON-able dict describing the optimizer's configuration (not its state).

    Example:
        >>> serialize(Adam())["class_name"]
        'Adam'
    """
    return serialize_keras_object(optimizer)


def deserialize(
    config: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None
) -> Optimizer:
    """Create an optimizer from `serialize` output (Keras-saved configs work too).

    Args:
        config: a dict with `class_name` and `config`.
        custom_objects: user-defined optimizer or schedule classes by name.
    """
    if not isinstance(config, Mapping) or "class_name" not in config:
        raise ValueError(
            f"Cannot read an optimizer from {config!r}: expected a dict with 'class_name' "
            "and 'config', as returned by engine.optimizers.serialize."
        )
    config = dict(config)
    builtin = _BY_LOWER_NAME.get(str(config["class_name"]).lower())
    if builtin is not None and not (custom_objects and config["class_name"] in custom_objects):
        inner = config.get("config") or {}
        return builtin.from_config(inner, custom_objects=custom_objects)
    return deserialize_keras_object(
        config,
        module_objects={cls.__name__: cls for cls in _ALL_OBJECTS},
        custom_objects=custom_objects,
        kind="optimizer",
    )


def get(identifier: Any) -> Optimizer | None:
    """Return an optimizer from a name, a config dict or an optimizer instance.

    Args:
        identifier: `"adam"` (any case), `serialize` output, an `Optimizer`, or None.

    Example:
        >>> get("RMSprop").learning_rate
        0.0010000000474974513
    """
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() not in _BY_LOWER_NAME or identifier.lower() == "optimizer":
            known = ", ".join(sorted(name for name in _BY_LOWER_NAME if name != "optimizer"))
            raise ValueError(f"Unknown optimizer {identifier!r}; use one of {known}.")
        return deserialize({"class_name": identifier, "config": {}})
    if isinstance(identifier, Mapping):
        return deserialize(identifier)
    raise ValueError(
        f"Could not interpret optimizer identifier {identifier!r}: pass a name such as 'adam', "
        "a config dict or an Optimizer instance."
    )


__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "deserialize",
    "get",
    "schedules",
    "serialize",
]
