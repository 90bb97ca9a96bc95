"""A run's model summary: its layers, output shapes and parameter counts, without training.

The model is rebuilt from the run's spec for the input shape the run trained
on. That shape comes, cheapest first, from the run's newest checkpoint (its
state records `input_shapes`), from the spec itself (a first layer with an
`input_shape`), or, failing both, from the data, prepared with one sample per
split so a generated dataset is not generated in full (a dataset that needs a
download is never downloaded for a summary).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from experiments.spec import ExperimentSpec, validate_spec

ShapeSource = Literal["checkpoint", "spec", "data"]

# Default layer names (dense, dense_1, ...) come from a process-wide counter that
# is reset before each build, so two builds at once must not interleave.
_build_lock = threading.Lock()


@dataclass(frozen=True)
class LayerSummary:
    """One row of a model summary.

    Attributes:
        name: the layer's name (`dense_1`).
        type: its class name (`Dense`).
        output_shape: its output shape as text, `(None, 16)`.
        params: how many weights it holds.
        trainable: how many of them are trainable.
    """

    name: str
    type: str
    output_shape: str
    params: int
    trainable: int


@dataclass(frozen=True)
class ModelSummary:
    """What `model.summary()` prints, as data.

    Attributes:
        name: the model's name.
        input_shape: one sample's shape the model was built for (None: the spec fixes it).
        shape_source: where that shape came from: "checkpoint", "spec" or "data".
        layers: one `LayerSummary` per top-level layer, in order.
        total_params: every weight.
        trainable_params: the trainable ones.
        non_trainable_params: the rest (batch-norm moving statistics...).

    Example:
        >>> summary = model_summary(store, 12)
        >>> summary.total_params == sum(layer.params for layer in summary.layers)
        True
    """

    name: str
    input_shape: tuple[int, ...] | None
    shape_source: ShapeSource
    layers: list[LayerSummary] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0


def _output_shape(layer: Any) -> str:
    try:
        shape = layer.output_shape
    except (AttributeError, ValueError):
        return "?"
    if isinstance(shape, list):
        return ", ".join(str(tuple(s)) for s in shape)
    return str(tuple(shape))


def _count(weights: list[Any]) -> int:
    return int(sum(w.size for w in weights))


def summarize_model(
    model: Any, input_shape: tuple[int, ...] | None = None, shape_source: ShapeSource = "spec"
) -> ModelSummary:
    """The summary of a built model.

    Args:
        model: a built `engine.Model`.
        input_shape: the sample shape it was built for, to record.
        shape_source: where that shape came from, to record.

    Example:
        >>> summarize_model(Sequential([Input((4,)), Dense(2)])).total_params
        10
    """
    layers = [
        LayerSummary(
            name=layer.name,
            type=type(layer).__name__,
            output_shape=_output_shape(layer),
            params=_count(layer.weights),
            trainable=_count(layer.trainable_weights),
        )
        for layer in model.layers
    ]
    total = _count(model.weights)
    trainable = _count(model.trainable_weights)
    return ModelSummary(
        name=model.name,
        input_shape=input_shape,
        shape_source=shape_source,
        layers=layers,
        total_params=total,
        trainable_params=trainable,
        non_trainable_params=total - trainable,
    )


def _data_input_shape(spec: ExperimentSpec) -> tuple[int, ...]:
    from experiments.data import prepare_data
    from experiments.datasets import is_offline

    if not is_offline(spec.data.name):
        # A summary never starts a download behind the user's back.
        raise ValueError(
            f"the model's input shape comes from its data and dataset {spec.data.name!r} is "
            f"not downloaded; run `kerastui datasets download {spec.data.name}` first"
        )

    # One sample per split: the sample shape does not depend on how many there are.
    data = spec.data.model_copy(update={"limit": 1, "validation_limit": 1})
    return prepare_data(data, 0.0).input_shape


def build_run_model(store: Any, ref: int | str) -> tuple[Any, tuple[int, ...] | None, ShapeSource]:
    """A run's model built (not trained) from its spec, and the input shape it was built for.

    Args:
        store: the tracking store.
        ref: the run's id or name.

    Returns:
        `(model, input_shape, source)`; `input_shape` is None when the spec fixes it.

    Raises:
        RunNotFoundError: no such run.
        SpecError: the run's spec no longer validates.
    """
    from engine.backend import naming
    from experiments.runner import compile_model_for_shape

    run = store.get_run(ref)
    spec = validate_spec(run.spec or {})
    state = store.checkpoint_state(run.id) or {}
    shapes = state.get("input_shapes") or []
    with _build_lock:
        if len(shapes) == 1:
            shape = tuple(int(d) for d in shapes[0])
            naming.clear_session()
            return compile_model_for_shape(spec, shape), shape, "checkpoint"
        naming.clear_session()
        try:
            model = compile_model_for_shape(spec, None)
        except (TypeError, ValueError):
            # A builder that needs the input shape, or a first layer without one.
            model = None
        if model is not None and model.built:
            return model, None, "spec"
        shape = _data_input_shape(spec)
        naming.clear_session()
        return compile_model_for_shape(spec, shape), shape, "data"


def model_summary(store: Any, ref: int | str) -> ModelSummary:
    """The layer table and parameter totals of a run's model, built from its spec without training.

    Args:
        store: the tracking store.
        ref: the run's id or name.

    Raises:
        RunNotFoundError: no such run.
        SpecError: the run's spec no longer validates.

    Example:
        >>> [(row.name, row.params) for row in model_summary(store, 12).layers]
        [('dense', 48), ('dense_1', 17)]
    """
    model, shape, source = build_run_model(store, ref)
    return summarize_model(model, shape, source)
