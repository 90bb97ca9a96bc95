"""The names a spec may use, read from the engine, and did-you-mean suggestions.

Every catalogue is computed from the engine itself (its exported layers,
optimizers, losses, metrics, callbacks and dataset modules), so a layer or a
dataset added to the engine is usable in specs without touching this module.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

# Callbacks a spec can configure. The others need a Python function
# (LambdaCallback, LearningRateScheduler) or write files (CSVLogger, ModelCheckpoint,
# BackupAndRestore), which the tracking store does instead.
_SPEC_CALLBACKS = ("EarlyStopping", "ReduceLROnPlateau", "TerminateOnNaN")

# Metric names `compile` resolves from the shapes of targets and predictions.
_SHAPE_DEPENDENT_METRICS = ("accuracy", "acc", "crossentropy", "ce")

# Abstract bases and wrappers that need a Python function: not usable from TOML.
_METRIC_BASES = (
    "Metric",
    "Mean",
    "Sum",
    "MeanMetricWrapper",
    "metric",
    "mean",
    "sum",
    "mean_metric_wrapper",
)
_LOSS_BASES = ("Loss", "LossFunctionWrapper")


def suggest(name: str, choices: Iterable[str]) -> str | None:
    """The choice closest to `name` (a different case first, then by spelling), if any.

    Args:
        name: what the user wrote.
        choices: the allowed names.

    Example:
        >>> suggest("Conv2d", ["Conv2D", "Dense"])
        'Conv2D'
    """
    options = list(choices)
    folded = {c.lower(): c for c in options}
    if name.lower() in folded and folded[name.lower()] != name:
        return folded[name.lower()]
    # Compare without case, so "adm" is closest to "Adam", not to "Nadam".
    close = difflib.get_close_matches(name.lower(), list(folded), n=1, cutoff=0.6)
    return folded[close[0]] if close else None


def unknown_name(kind: str, name: str, choices: Iterable[str]) -> str:
    """`unknown layer 'Conv2d'; did you mean 'Conv2D'?`, or the list of choices when none is close.

    Args:
        kind: what was looked up (`"layer"`, `"optimizer"`, ...).
        name: what the user wrote.
        choices: the allowed names.
    """
    options = sorted(choices)
    guess = suggest(name, options)
    if guess is not None:
        return f"unknown {kind} {name!r}; did you mean {guess!r}?"
    return f"unknown {kind} {name!r}; use one of {', '.join(options)}"


@cache
def layer_classes() -> dict[str, Callable[..., Any]]:
    """Layer types a spec can name: every exported engine layer that needs no Python object.

    Merge layers need several inputs and `Lambda` needs a function, so they are
    left to `builder` models. `Input` (a function returning a symbolic tensor)
    is included because Sequential models accept it as their first entry.
    """
    from engine import layers
    from engine.layers.core.lambda_layer import Lambda
    from engine.layers.layer import Layer
    from engine.layers.merging.base_merge import Merge

    found: dict[str, Callable[..., Any]] = {"Input": layers.Input}
    for name in layers.__all__:
        obj = getattr(layers, name, None)
        if not inspect.isclass(obj) or not issubclass(obj, Layer):
            continue
        if obj is Layer or issubclass(obj, (Merge, Lambda)) or inspect.isabstract(obj):
            continue
        found[name] = obj
    return found


@cache
def optimizer_classes() -> dict[str, type]:
    """Optimizer class names (a spec may write them in any case, as Keras allows)."""
    from engine import optimizers

    return {
        name: getattr(optimizers, name)
        for name in optimizers.__all__
        if inspect.isclass(getattr(optimizers, name))
        and issubclass(getattr(optimizers, name), optimizers.Optimizer)
        and name != "Optimizer"
    }


@cache
def loss_objects() -> dict[str, Any]:
    """Loss names: functions (`categorical_crossentropy`), classes and Keras's aliases."""
    from engine import losses

    return {k: v for k, v in losses.ALL_OBJECTS_DICT.items() if k not in _LOSS_BASES}


@cache
def metric_objects() -> dict[str, Any]:
    """Metric names: classes, their snake case, aliases, and the shape-dependent names."""
    from engine import metrics

    found = {k: v for k, v in metrics.ALL_OBJECTS_DICT.items() if k not in _METRIC_BASES}
    for name in _SHAPE_DEPENDENT_METRICS:
        found[name] = name
    return found


@cache
def callback_classes() -> dict[str, type]:
    """Callback classes a spec can configure in `fit.callbacks`."""
    from engine import callbacks

    return {name: getattr(callbacks, name) for name in _SPEC_CALLBACKS}


def dataset_loaders() -> dict[str, Callable[..., Any]]:
    """`load_data` of every dataset `engine.datasets` exports, by module name.

    Example:
        >>> "spirals" in dataset_loaders()
        True
    """
    import engine.datasets as package

    found: dict[str, Callable[..., Any]] = {}
    for name in package.__all__:
        load = getattr(getattr(package, name, None), "load_data", None)
        if callable(load):
            found[name] = load
    return found
