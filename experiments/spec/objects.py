"""Engine objects from spec tables: layers, optimizers, losses, metrics, callbacks, models.

A table is a dict with a `type` (a name from `experiments.spec.names`) and the
constructor arguments of that type. Validation builds every object once (a dry
run that catches what only the engine knows, such as an unknown activation
name), and the runner builds them again for training, with the same functions.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

from engine.layers.layer import _LAYER_KWARGS
from experiments.spec.names import (
    callback_classes,
    layer_classes,
    loss_objects,
    metric_objects,
    optimizer_classes,
)

# Arguments of wrapper layers whose value is itself a layer table.
NESTED_LAYER_ARGUMENTS = ("layer", "backward_layer", "cell")
BUILDER_PATTERN = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")


def accepted_arguments(factory: Callable[..., Any]) -> set[str] | None:
    """The keyword arguments a class or function accepts (None when it takes any).

    For a class, the named parameters of each `__init__` along the method
    resolution order are collected for as long as they pass `**kwargs` on,
    plus the keyword arguments the engine's base `Layer` accepts that way. A
    function with `**kwargs` accepts anything.

    Args:
        factory: a class or a function.

    Example:
        >>> "units" in accepted_arguments(engine.layers.Dense)
        True
    """
    from engine.layers.layer import Layer

    if inspect.isclass(factory):
        owners = [k.__init__ for k in factory.__mro__ if "__init__" in vars(k) and k is not object]
    else:
        owners = [factory]
    names: set[str] = set()
    for owner in owners:
        params = inspect.signature(owner).parameters.values()
        names.update(
            p.name
            for p in params
            if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        )
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return names
    if not inspect.isclass(factory):
        return None
    if issubclass(factory, Layer):
        # The base Layer takes these through **kwargs and rejects any other name.
        return names | set(_LAYER_KWARGS)
    # A base class's **kwargs only catches deprecated aliases (an optimizer's `lr`).
    return names


def _arguments(table: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in table.items() if k != "type"}


def _as_tuples(value: Any) -> Any:
    # TOML has arrays only; the engine, like Keras, documents shapes and sizes as tuples.
    if isinstance(value, list):
        return tuple(_as_tuples(v) for v in value)
    return value


def make_layer(table: Mapping[str, Any]) -> Any:
    """A layer from `{"type": "Conv2D", "filters": 32, ...}` (nested tables for wrappers).

    Args:
        table: the layer's type and constructor arguments; the `layer`, `backward_layer`
            and `cell` arguments of wrappers (Bidirectional, TimeDistributed, RNN) may be
            tables themselves.

    Example:
        >>> make_layer({"type": "Dense", "units": 4}).units
        4
    """
    factory = layer_classes()[table["type"]]
    kwargs: dict[str, Any] = {}
    for key, value in _arguments(table).items():
        if key in NESTED_LAYER_ARGUMENTS and isinstance(value, Mapping):
            kwargs[key] = make_layer(value)
        else:
            kwargs[key] = _as_tuples(value)
    return factory(**kwargs)


def canonical_optimizer_name(name: str) -> str | None:
    """The optimizer class name for a name in any case (`"adam"` -> `"Adam"`), or None."""
    by_lower = {n.lower(): n for n in optimizer_classes()}
    return by_lower.get(name.lower())


def make_optimizer(table: Mapping[str, Any]) -> Any:
    """An optimizer from `{"type": "Adam", "learning_rate": 3e-4}`."""
    name = canonical_optimizer_name(table["type"])
    if name is None:
        raise ValueError(f"Unknown optimizer {table['type']!r}.")
    return optimizer_classes()[name](**_arguments(table))


def make_loss(table: Mapping[str, Any]) -> Any:
    """A loss: the function or class named by `type`; a class gets the other keys as arguments."""
    obj = loss_objects()[table["type"]]
    if inspect.isclass(obj):
        return obj(**_arguments(table))
    if _arguments(table):
        raise TypeError(f"{table['type']!r} is a function and takes no arguments.")
    return obj


def make_metric(table: Mapping[str, Any]) -> Any:
    """A metric for `compile`: a name is passed as is (so `"accuracy"` resolves by shapes)."""
    obj = metric_objects()[table["type"]]
    args = _arguments(table)
    if isinstance(obj, str) or not inspect.isclass(obj):
        if args:
            raise TypeError(f"{table['type']!r} takes no arguments.")
        return table["type"]
    return obj(**args) if args else table["type"]


def make_callback(table: Mapping[str, Any]) -> Any:
    """A Keras callback from `{"type": "EarlyStopping", "patience": 3}`."""
    return callback_classes()[table["type"]](**_arguments(table))


def load_builder(path: str) -> Callable[..., Any]:
    """Import the function named by `"package.module:function"`.

    Raises:
        ValueError: the path is malformed, the module cannot be imported, or the
            attribute is missing or not callable.
    """
    if not BUILDER_PATTERN.match(path):
        raise ValueError(f"builder must look like 'package.module:function', got {path!r}")
    module_name, attr = path.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"cannot import module {module_name!r} ({err})") from err
    fn = getattr(module, attr, None)
    if fn is None:
        public = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise ValueError(
            f"module {module_name!r} has no function {attr!r}; it defines {', '.join(public)}"
        )
    if not callable(fn):
        raise ValueError(f"{path!r} is not callable")
    return fn


def build_model(
    model_table: Mapping[str, Any], input_shape: tuple[int, ...] | None, name: str | None = None
) -> Any:
    """The model of a spec's `[model]` table, built for inputs of `input_shape`.

    Args:
        model_table: `{"layers": [...]}` for a Sequential model, or
            `{"builder": "module:function", "args": {...}}` for any model.
        input_shape: the shape of one sample (without the batch axis); a builder
            that takes an `input_shape` argument receives it unless `args` sets it.
        name: the model's name when the table gives none.

    Returns:
        A built `engine.Model`.
    """
    from engine.models import Model, Sequential

    model_name = model_table.get("name") or name
    if model_table.get("builder"):
        fn = load_builder(model_table["builder"])
        args = dict(model_table.get("args") or {})
        accepted = accepted_arguments(fn)
        if (
            input_shape is not None
            and "input_shape" not in args
            and (accepted is None or "input_shape" in accepted)
        ):
            args["input_shape"] = tuple(input_shape)
        model = fn(**{k: _as_tuples(v) for k, v in args.items()})
        if not isinstance(model, Model):
            raise TypeError(
                f"builder {model_table['builder']!r} returned {type(model).__name__}, "
                "not an engine Model."
            )
        return model
    model = Sequential([make_layer(t) for t in model_table["layers"]], name=model_name)
    if not model.built and input_shape is not None:
        model.build((None, *input_shape))
    return model
