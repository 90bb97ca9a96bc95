"""`Lambda`: wrap a Python function of tensors as a layer."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.backend import tree
from engine.backend.tensor import Tensor, unwrap
from engine.layers.layer import Layer
from engine.saving.serialization import (
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    serialize_keras_object,
)


class Lambda(Layer):
    """Wraps an expression of tensors, `function(inputs, **arguments)`, as a layer.

    Use it for quick, weightless transformations inside `Sequential` and
    functional models. A model with a `Lambda` saves only if `function` can be
    found again by name when loading: a module-level function (looked up by
    module and name) or one registered with
    `engine.saving.register_keras_serializable`. A `lambda` or a function
    defined inside another function cannot be saved; write a `Layer` subclass
    for those.

    Args:
        function: the function to apply; it gets the inputs first, plus `mask`
            and `training` when its signature names them.
        output_shape: the output shape without the batch axis (a tuple, or a
            list of tuples for several outputs), or a function mapping the full
            input shape to the full output shape. Inferred by running the
            function on zeros when None.
        mask: None (no mask), a function `(inputs, mask) -> mask`, or a constant
            boolean array used as the output mask.
        arguments: extra keyword arguments passed to `function`.

    Example:
        >>> squared = Lambda(lambda x: ops.square(x))
        >>> squared(np.array([[1.0, 2.0]], "float32")).numpy()
        array([[1., 4.]], dtype=float32)
    """

    def __init__(
        self,
        function: Callable[..., Any],
        output_shape: Any = None,
        mask: Any = None,
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(
                f"Lambda needs a callable `function`, got {type(function).__name__}; "
                "pass a function of tensors."
            )
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = _standardize_output_shape(output_shape)
        params = _parameter_names(function)
        self._fn_expects_training_arg = "training" in params
        self._fn_expects_mask_arg = "mask" in params
        self.built = True

    def call(self, inputs: Any, mask: Any = None, training: bool | None = None) -> Any:
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch_size = tree.flatten(input_shape)[0]
        if isinstance(self._output_shape, tuple):
            return (batch_size, *self._output_shape)
        return [(batch_size, *shape) for shape in self._output_shape]

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        if self._output_shape is None:
            # Running the function keeps its output dtypes (a cast to int stays int).
            return self._infer_output_spec(*args, **kwargs)
        return super().compute_output_spec(*args, **kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["function"] = self._serialize_function(self.function, "function")
        if self._output_shape is not None:
            if callable(self._output_shape):
                config["output_shape"] = self._serialize_function(
                    self._output_shape, "output_shape"
                )
            elif isinstance(self._output_shape, tuple):
                config["output_shape"] = list(self._output_shape)
            else:
                config["output_shape"] = [list(shape) for shape in self._output_shape]
        if self.mask is not None:
            if callable(self.mask):
                config["mask"] = self._serialize_function(self.mask, "mask")
            else:
                config["mask"] = _serialize_array(self.mask)
        config["arguments"] = {k: _serialize_argument(v) for k, v in self.arguments.items()}
        return config

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Lambda:
        config = dict(config)
        config["function"] = _deserialize_function(config["function"], custom_objects)
        output_shape = config.get("output_shape")
        if isinstance(output_shape, dict):
            config["output_shape"] = _deserialize_function(output_shape, custom_objects)
        mask = config.get("mask")
        if isinstance(mask, dict):
            if mask.get("class_name") == "__tensor__":
                config["mask"] = _deserialize_array(mask)
            else:
                config["mask"] = _deserialize_function(mask, custom_objects)
        if config.get("arguments"):
            config["arguments"] = {
                k: _deserialize_array(v) if _is_array_config(v) else v
                for k, v in config["arguments"].items()
            }
        return cls(**config)

    def _serialize_function(self, fn: Callable[..., Any], what: str) -> dict[str, Any]:
        if _is_registered(fn) or _is_importable(fn):
            return serialize_keras_object(fn)
        label = getattr(fn, "__qualname__", None) or repr(fn)
        raise ValueError(
            f"Lambda layer {self.name!r} wraps a Python function as its {what} ({label}) that "
            "cannot be saved; use a named module-level function registered with "
            "@engine.saving.register_keras_serializable() or write a custom Layer subclass."
        )


def _parameter_names(fn: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        # Builtins and NumPy ufuncs may have no introspectable signature.
        return set()


def _standardize_output_shape(output_shape: Any) -> Any:
    if output_shape is None or callable(output_shape):
        return output_shape
    if not isinstance(output_shape, (list, tuple)):
        raise TypeError(
            "Lambda output_shape must be a tuple, a list of tuples or a function, "
            f"got {output_shape!r}."
        )
    if all(d is None or isinstance(d, (int, np.integer)) for d in output_shape):
        return tuple(None if d is None else int(d) for d in output_shape)
    return [tuple(s) for s in output_shape]


def _is_registered(fn: Any) -> bool:
    return get_custom_objects().get(get_registered_name(fn)) is fn


def _is_importable(fn: Any) -> bool:
    """Whether `fn` can be found again as `getattr(import_module(fn.__module__), fn.__name__)`."""
    name = getattr(fn, "__name__", None)
    module = getattr(fn, "__module__", None)
    if not name or not module or name == "<lambda>":
        return False
    if getattr(fn, "__qualname__", name) != name:
        return False
    try:
        return getattr(importlib.import_module(module), name, None) is fn
    except ImportError:
        return False


def _deserialize_function(config: Any, custom_objects: dict[str, Any] | None) -> Callable[..., Any]:
    if callable(config):
        return config
    if not isinstance(config, dict) or config.get("class_name") != "function":
        raise ValueError(
            f"Cannot load the function of a Lambda layer from {config!r}: only named functions "
            "saved by this engine can be loaded (Python lambdas are never saved)."
        )
    try:
        return deserialize_keras_object(config, {}, custom_objects, kind="function")
    except ValueError:
        module, name = config.get("module"), config.get("config")
        fn = None
        if isinstance(module, str) and isinstance(name, str):
            # A saved file must never make us import code: only modules that are
            # already loaded (or the engine's own) are searched.
            loaded = sys.modules.get(module)
            if loaded is None and module.split(".")[0] == "engine":
                loaded = importlib.import_module(module)
            fn = getattr(loaded, name, None) if loaded is not None else None
        if not callable(fn):
            raise ValueError(
                f"Cannot find the Lambda function {name!r} from module {module!r}; import that "
                "module before loading, pass the function in custom_objects, or register it "
                "with @engine.saving.register_keras_serializable()."
            ) from None
        return fn


def _serialize_array(value: Any) -> dict[str, Any]:
    arr = np.asarray(unwrap(value))
    return {"class_name": "__tensor__", "config": {"value": arr.tolist(), "dtype": str(arr.dtype)}}


def _is_array_config(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__tensor__"


def _deserialize_array(config: dict[str, Any]) -> np.ndarray:
    inner = config["config"]
    return np.asarray(inner["value"], dtype=inner["dtype"])


def _serialize_argument(value: Any) -> Any:
    if isinstance(value, (np.ndarray, Tensor)):
        return _serialize_array(value)
    return serialize_keras_object(value)
