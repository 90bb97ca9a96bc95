"""Metrics: stateful NumPy evaluation of predictions, with Keras's classes, names and lookup.

`get` turns a name, config, class or function into a metric as
`keras.metrics.get` does; `get_metric` is what `Model.compile` uses: it also
resolves `"accuracy"`/`"acc"` and `"crossentropy"`/`"ce"` from the shapes of
the targets and predictions, and names the metric after what the user wrote.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.backend.naming import to_snake_case
from engine.metrics.accuracy_metrics import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from engine.metrics.confusion_metrics import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from engine.metrics.f_score_metrics import F1Score, FBetaScore
from engine.metrics.metric import Metric
from engine.metrics.probabilistic_metrics import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from engine.metrics.reduction_metrics import Mean, MeanMetricWrapper, Sum
from engine.metrics.regression_metrics import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
    cosine_similarity,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from engine.saving.serialization import deserialize_keras_object, serialize_keras_object

ALL_OBJECTS = (
    Metric,
    Mean,
    Sum,
    MeanMetricWrapper,
    MeanSquaredError,
    RootMeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    CosineSimilarity,
    LogCoshError,
    R2Score,
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
    KLDivergence,
    Poisson,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    F1Score,
    FBetaScore,
)

# Names `get` and `deserialize` accept for classes: class names, their snake case, and
# Keras's short aliases. A snake-case name gives the class, as in Keras 3
# ("binary_accuracy" -> BinaryAccuracy), not the function of the same name.
ALL_OBJECTS_DICT: dict[str, Any] = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT.update(
    {
        "bce": BinaryCrossentropy,
        "BCE": BinaryCrossentropy,
        "mse": MeanSquaredError,
        "MSE": MeanSquaredError,
        "mae": MeanAbsoluteError,
        "MAE": MeanAbsoluteError,
        "mape": MeanAbsolutePercentageError,
        "MAPE": MeanAbsolutePercentageError,
        "msle": MeanSquaredLogarithmicError,
        "MSLE": MeanSquaredLogarithmicError,
    }
)

# Functions by name, for rebuilding a MeanMetricWrapper's `fn` from its config.
ALL_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    fn.__name__: fn
    for fn in (
        accuracy,
        binary_accuracy,
        categorical_accuracy,
        sparse_categorical_accuracy,
        top_k_categorical_accuracy,
        sparse_top_k_categorical_accuracy,
        mean_squared_error,
        mean_absolute_error,
        mean_absolute_percentage_error,
        mean_squared_logarithmic_error,
        log_cosh,
        cosine_similarity,
        binary_crossentropy,
        categorical_crossentropy,
        sparse_categorical_crossentropy,
        kl_divergence,
        poisson,
    )
}

_ACCURACY_ALIASES = ("accuracy", "acc")
_CROSSENTROPY_ALIASES = ("crossentropy", "ce")


def serialize(metric: Metric | Callable[..., Any]) -> Any:
    """Return a JSON-able description of a metric instance or function.

    Example:
        >>> serialize(Precision(name="p"))["class_name"]
        'Precision'
    """
    return serialize_keras_object(metric)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild a metric (or metric function) from `serialize` output or a name.

    Args:
        config: a dict from `serialize`, or a class or function name.
        custom_objects: user classes and functions by name.

    Example:
        >>> deserialize({"class_name": "AUC", "config": {"num_thresholds": 3}}).num_thresholds
        3
    """
    is_function = isinstance(config, dict) and config.get("class_name") == "function"
    return deserialize_keras_object(
        config,
        module_objects=ALL_FUNCTIONS if is_function else ALL_OBJECTS_DICT,
        custom_objects=custom_objects,
        kind="metric",
    )


def get(identifier: Any) -> Any:
    """Return a metric instance (or function) for a name, config, class, instance or function.

    Names are Keras's: class names, their snake case (`"binary_accuracy"`,
    `"auc"`, `"f1_score"`) and the aliases `"mse"`, `"mae"`, `"mape"`,
    `"msle"`, `"bce"`. `"accuracy"` gives `Accuracy` (exact equality); the
    shape-dependent meaning of `"accuracy"`/`"acc"` that `compile` applies
    comes from `get_metric`. A class is instantiated with no arguments;
    instances and functions are returned as they are.

    Args:
        identifier: None, a name, a config dict, a `Metric` class or
            instance, or a function `fn(y_true, y_pred)`.

    Example:
        >>> get("mse")
        <MeanSquaredError name=mean_squared_error>
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
        if obj is None:
            known = ", ".join(sorted(k for k in ALL_OBJECTS_DICT if k.islower()))
            raise ValueError(
                f"Unknown metric {identifier!r}; use one of {known}, or pass a Metric "
                "instance or a function fn(y_true, y_pred)."
            )
    else:
        obj = identifier
    if inspect.isclass(obj):
        return obj()
    if callable(obj):
        return obj
    raise ValueError(
        f"Could not interpret metric identifier {identifier!r}: pass a name, a config dict, "
        "a Metric class or instance, or a function fn(y_true, y_pred)."
    )


def _object_name(obj: Any) -> str:
    """The log name Keras gives a metric object: its `name`, else its snake-cased name."""
    if hasattr(obj, "name"):
        return obj.name
    if hasattr(obj, "__name__"):
        return to_snake_case(obj.__name__)
    return to_snake_case(type(obj).__name__)


def _shape(x: Any) -> tuple[int | None, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def is_binary_or_sparse_categorical(y_true: Any, y_pred: Any) -> tuple[bool, bool]:
    """How Keras reads targets/predictions shapes: (binary?, sparse categorical?).

    Binary when predictions have one unit on the last axis; sparse
    categorical when the targets have lower rank than the predictions, or a
    last axis of 1 against several predicted classes.
    """
    true_shape, pred_shape = _shape(y_true), _shape(y_pred)
    true_last = true_shape[-1] if true_shape else 1
    pred_last = pred_shape[-1] if pred_shape else 1
    is_binary = pred_last == 1
    is_sparse = len(true_shape) < len(pred_shape) or (
        true_last == 1 and pred_last is not None and pred_last > 1
    )
    return is_binary, is_sparse


def get_metric(identifier: Any, y_true: Any, y_pred: Any) -> Metric:
    """Resolve one entry of `compile(metrics=...)` into a `Metric`, as Keras's compile does.

    `"accuracy"`/`"acc"` become `BinaryAccuracy` when predictions have one
    unit, `SparseCategoricalAccuracy` for integer targets (lower rank, or a
    last axis of 1 against several classes), `CategoricalAccuracy`
    otherwise; `"crossentropy"`/`"ce"` resolve the same way to the three
    crossentropies. A string names the metric exactly as written (that is
    its key in the logs). Strings, configs, classes and functions give a new
    metric; a `Metric` instance is used as is, so the caller's object sees
    the updates, as in Keras. A plain function is wrapped in
    `MeanMetricWrapper` named after it.

    Args:
        identifier: what the user passed for one output.
        y_true: a sample of the targets (array or tensor), for its shape.
        y_pred: a sample of the predictions, for its shape.

    Example:
        >>> get_metric("acc", np.zeros((4,)), np.zeros((4, 10))).__class__.__name__
        'SparseCategoricalAccuracy'
    """
    if identifier is None:
        raise ValueError("Expected a metric for compile(metrics=...), received None.")
    key = identifier.lower() if isinstance(identifier, str) else None
    if key in _ACCURACY_ALIASES or key in _CROSSENTROPY_ALIASES:
        is_binary, is_sparse = is_binary_or_sparse_categorical(y_true, y_pred)
        if key in _ACCURACY_ALIASES:
            choices = (BinaryAccuracy, SparseCategoricalAccuracy, CategoricalAccuracy)
        else:
            choices = (BinaryCrossentropy, SparseCategoricalCrossentropy, CategoricalCrossentropy)
        cls = choices[0] if is_binary else choices[1] if is_sparse else choices[2]
        metric = cls(name=identifier)
    else:
        metric = get(identifier)
    name = identifier if isinstance(identifier, str) else _object_name(metric)
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric, name=name)
    metric.name = name
    return metric


__all__ = [
    "AUC",
    "ALL_FUNCTIONS",
    "ALL_OBJECTS",
    "ALL_OBJECTS_DICT",
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CosineSimilarity",
    "F1Score",
    "FBetaScore",
    "FalseNegatives",
    "FalsePositives",
    "KLDivergence",
    "LogCoshError",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "Poisson",
    "Precision",
    "R2Score",
    "Recall",
    "RootMeanSquaredError",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "Sum",
    "TopKCategoricalAccuracy",
    "TrueNegatives",
    "TruePositives",
    "accuracy",
    "binary_accuracy",
    "binary_crossentropy",
    "categorical_accuracy",
    "categorical_crossentropy",
    "cosine_similarity",
    "deserialize",
    "get",
    "get_metric",
    "is_binary_or_sparse_categorical",
    "kl_divergence",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "poisson",
    "serialize",
    "sparse_categorical_accuracy",
    "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]
