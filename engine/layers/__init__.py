"""Layers, with Keras's names and arguments.

Example:
    >>> from engine.layers import Dense, Dropout
"""

from __future__ import annotations

from typing import Any

from engine.layers.core.dense import Dense
from engine.layers.core.input_layer import Input, InputLayer
from engine.layers.layer import Layer

_EXPORTED = [Layer, InputLayer, Dense]


def _module_objects() -> dict[str, Any]:
    from engine import models

    objects: dict[str, Any] = {cls.__name__: cls for cls in _EXPORTED}
    objects.update(
        {"Model": models.Model, "Functional": models.Functional, "Sequential": models.Sequential}
    )
    return objects


def serialize(layer: Layer) -> dict[str, Any]:
    """A layer's class and config as a JSON-able dict."""
    from engine.saving.serialization import serialize_keras_object

    return serialize_keras_object(layer)


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Layer:
    """Rebuild a layer (or a nested model) from `serialize` output."""
    from engine.saving.serialization import custom_object_scope, deserialize_keras_object

    with custom_object_scope(custom_objects):
        return deserialize_keras_object(config, _module_objects(), custom_objects, kind="layer")


__all__ = ["Dense", "Input", "InputLayer", "Layer", "deserialize", "serialize"]
