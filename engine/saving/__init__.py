"""Saving and loading models and objects."""

from engine.saving.serialization import (
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    register_keras_serializable,
    serialize_keras_object,
)

__all__ = [
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "register_keras_serializable",
    "serialize_keras_object",
]
