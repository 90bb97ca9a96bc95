"""The pydantic schema of an experiment spec: one model per TOML table.

Every table forbids unknown keys and takes values strictly (a string is not
an integer). Names of layers, optimizers, losses, metrics, callbacks and
datasets are checked against what the engine provides, and each object is
built once as a dry run, so a spec that validates is one the runner can build.
A failed check raises `PydanticCustomError("spec", ...)` with the relative
`field` it is about; `experiments.spec.messages` turns those into messages.
"""

from __future__ import annotations

import inspect
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from experiments.spec.names import (
    callback_classes,
    dataset_loaders,
    layer_classes,
    loss_objects,
    metric_objects,
    optimizer_classes,
    suggest,
    unknown_name,
)
from experiments.spec.objects import (
    NESTED_LAYER_ARGUMENTS,
    accepted_arguments,
    canonical_optimizer_name,
    load_builder,
    make_callback,
    make_layer,
    make_loss,
    make_metric,
    make_optimizer,
)

PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]


def spec_problem(message: str, field: str | None = None) -> PydanticCustomError:
    """An error about the table being validated, or about its `field` (a relative dotted path)."""
    return PydanticCustomError("spec", "{message}", {"message": message, "field": field})


class SpecTable(BaseModel):
    """Base of every table: unknown keys are errors and values are taken strictly."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True)


def _check_arguments(what: str, factory: Any, args: dict[str, Any], prefix: str = "") -> None:
    """Raise about the first key of `args` that `factory` does not accept."""
    accepted = accepted_arguments(factory)
    if accepted is None:
        return
    for key in args:
        if key not in accepted:
            guess = suggest(key, accepted)
            hint = (
                f"did you mean {guess!r}?" if guess else f"it takes {', '.join(sorted(accepted))}"
            )
            raise spec_problem(f"{what} has no argument {key!r}; {hint}", field=f"{prefix}{key}")


def _dry_run(kind: str, name: str, make: Any, table: dict[str, Any]) -> None:
    try:
        make(table)
    except (ValueError, TypeError) as err:
        raise spec_problem(f"{kind} {name} rejects its arguments: {err}") from None


def _as_table(value: Any) -> Any:
    """`"adam"` -> `{"type": "adam"}`: a name is short for a table with only a type."""
    return {"type": value} if isinstance(value, str) else value


def check_layer_table(table: dict[str, Any], prefix: str = "") -> None:
    """Check a layer table's type and arguments, nested wrapper tables included.

    Args:
        table: `{"type": ..., **arguments}`.
        prefix: the dotted path of `table` relative to the table being validated.
    """
    kind = table.get("type")
    if not isinstance(kind, str):
        raise spec_problem("a layer table needs a `type` string such as 'Dense'", prefix or None)
    classes = layer_classes()
    if kind not in classes:
        raise spec_problem(unknown_name("layer", kind, classes), f"{prefix}type")
    args = {k: v for k, v in table.items() if k != "type"}
    _check_arguments(f"layer {kind}", classes[kind], args, prefix)
    for key in NESTED_LAYER_ARGUMENTS:
        if isinstance(args.get(key), dict):
            check_layer_table(args[key], f"{prefix}{key}.")


class LayerSpec(SpecTable):
    """One `[[model.layers]]` table: `type` and the layer's constructor arguments."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str

    @model_validator(mode="after")
    def _known_layer(self) -> LayerSpec:
        table = self.model_dump()
        check_layer_table(table)
        _dry_run("layer", self.type, make_layer, table)
        return self


class ExperimentTable(SpecTable):
    """`[experiment]`: what the experiment is called and how to find it again.

    `tags` are key/value labels given to each run (`{ dataset = "shapes" }`); a
    list of words (`["cnn", "baseline"]`) gives tags with empty values.
    """

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    tags: dict[str, str] = {}

    @model_validator(mode="before")
    @classmethod
    def _words_are_tags(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("tags"), list):
            words = value["tags"]
            if not all(isinstance(w, str) for w in words):
                raise spec_problem(
                    'tags are a list of words or a table of key = "value" strings', "tags"
                )
            return {**value, "tags": dict.fromkeys(words, "")}
        return value


class DataTable(SpecTable):
    """`[data]`: the dataset, how much of it, and its preprocessing."""

    name: str
    options: dict[str, Any] = {}
    limit: PositiveInt | None = None
    validation: Literal["test", "none"] | None = None
    validation_limit: PositiveInt | None = None
    scale: bool = False
    one_hot: bool = False
    flatten: bool = False
    sequence_length: PositiveInt | None = None
    padding: Literal["pre", "post"] = "pre"
    truncating: Literal["pre", "post"] = "pre"

    @model_validator(mode="after")
    def _known_dataset(self) -> DataTable:
        loaders = dataset_loaders()
        if self.name not in loaders:
            raise spec_problem(unknown_name("dataset", self.name, loaders), "name")
        _check_arguments(f"dataset {self.name!r}", loaders[self.name], self.options, "options.")
        return self


class ModelTable(SpecTable):
    """`[model]`: `[[model.layers]]` for a Sequential model, or a `builder` function."""

    name: str | None = None
    layers: list[LayerSpec] | None = None
    builder: str | None = None
    args: dict[str, Any] = {}

    @model_validator(mode="after")
    def _one_way(self) -> ModelTable:
        if (self.layers is None) == (self.builder is None):
            raise spec_problem(
                "give either [[model.layers]] tables or builder = 'package.module:function', "
                "not both and not neither"
            )
        if self.layers is not None and not self.layers:
            raise spec_problem("needs at least one [[model.layers]] table", "layers")
        if self.builder is None:
            if self.args:
                raise spec_problem("args are the builder's arguments; set builder too", "args")
            return self
        try:
            fn = load_builder(self.builder)
        except ValueError as err:
            raise spec_problem(str(err), "builder") from None
        _check_arguments(f"builder {self.builder}", fn, self.args, "args.")
        required = [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.default is p.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.name not in self.args
            # The runner passes the data's sample shape as `input_shape`.
            and p.name != "input_shape"
        ]
        if required:
            raise spec_problem(
                f"{self.builder} needs the argument(s) {', '.join(required)}", "args"
            )
        return self


class OptimizerSpec(SpecTable):
    """`compile.optimizer`: a name (`"adam"`) or a table with `type` and arguments."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str

    @model_validator(mode="before")
    @classmethod
    def _name_is_table(cls, value: Any) -> Any:
        return _as_table(value)

    @model_validator(mode="after")
    def _known_optimizer(self) -> OptimizerSpec:
        name = canonical_optimizer_name(self.type)
        if name is None:
            raise spec_problem(unknown_name("optimizer", self.type, optimizer_classes()), "type")
        # One spelling per optimizer, so "adam" and "Adam" hash and filter alike.
        self.type = name
        args = self.model_extra if self.model_extra is not None else {}
        _check_arguments(f"optimizer {name}", optimizer_classes()[name], args)
        if "learning_rate" not in args:
            # Recorded explicitly, so runs can be compared and filtered by learning rate.
            default = inspect.signature(optimizer_classes()[name]).parameters["learning_rate"]
            args["learning_rate"] = default.default
        _dry_run("optimizer", name, make_optimizer, self.model_dump())
        return self


class LossSpec(SpecTable):
    """`compile.loss`: a loss name or a table with a loss class `type` and its arguments."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str

    @model_validator(mode="before")
    @classmethod
    def _name_is_table(cls, value: Any) -> Any:
        return _as_table(value)

    @model_validator(mode="after")
    def _known_loss(self) -> LossSpec:
        objects = loss_objects()
        if self.type not in objects:
            raise spec_problem(unknown_name("loss", self.type, objects), "type")
        args = self.model_extra or {}
        obj = objects[self.type]
        if args and not inspect.isclass(obj):
            classes = [n for n, o in objects.items() if inspect.isclass(o)]
            guess = suggest(self.type.replace("_", ""), classes)
            hint = f"; use type = {guess!r} to pass arguments" if guess else ""
            raise spec_problem(f"loss {self.type!r} is a function and takes no arguments{hint}")
        if inspect.isclass(obj):
            _check_arguments(f"loss {self.type}", obj, args)
        _dry_run("loss", self.type, make_loss, self.model_dump())
        return self


class MetricSpec(SpecTable):
    """One entry of `compile.metrics`: a metric name or a table with `type` and arguments."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str

    @model_validator(mode="before")
    @classmethod
    def _name_is_table(cls, value: Any) -> Any:
        return _as_table(value)

    @model_validator(mode="after")
    def _known_metric(self) -> MetricSpec:
        objects = metric_objects()
        if self.type not in objects:
            raise spec_problem(unknown_name("metric", self.type, objects), "type")
        obj = objects[self.type]
        if inspect.isclass(obj):
            _check_arguments(f"metric {self.type}", obj, self.model_extra or {})
        _dry_run("metric", self.type, make_metric, self.model_dump())
        return self


class CompileTable(SpecTable):
    """`[compile]`: optimizer, loss and metrics, as `model.compile` takes them."""

    optimizer: OptimizerSpec = Field(default_factory=lambda: OptimizerSpec(type="RMSprop"))
    loss: LossSpec
    metrics: list[MetricSpec] = []


class CallbackSpec(SpecTable):
    """One `[[fit.callbacks]]` table, such as early stopping or reducing the learning rate."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str

    @model_validator(mode="after")
    def _known_callback(self) -> CallbackSpec:
        classes = callback_classes()
        if self.type not in classes:
            raise spec_problem(unknown_name("callback", self.type, classes), "type")
        _check_arguments(f"callback {self.type}", classes[self.type], self.model_extra or {})
        _dry_run("callback", self.type, make_callback, self.model_dump())
        return self


class FitTable(SpecTable):
    """`[fit]`: the arguments of `model.fit`, plus the seed of the whole run."""

    epochs: NonNegativeInt = 10
    batch_size: PositiveInt = 32
    seed: NonNegativeInt = 0
    validation_split: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    shuffle: bool = True
    steps_per_epoch: PositiveInt | None = None
    validation_freq: PositiveInt = 1
    callbacks: list[CallbackSpec] = []


class TrackingTable(SpecTable):
    """`[tracking]`: what the runner records besides per-epoch metrics.

    Per-batch metrics (`batch_metrics`) are buffered and written, with a
    heartbeat carrying the progress, every `flush_interval` seconds (at most 10,
    so a live run never looks dead to a worker's 30-second timeout). The cancel
    flag is read every `cancel_check_interval` seconds between batches. A
    checkpoint is written every `checkpoint_every` epochs (0: only after the
    last epoch); the newest `keep_last` are kept, plus the best by `monitor`
    when `keep_best`. `monitor` defaults to `val_loss` when there is validation
    data, else `loss`; `mode` "auto" infers from its name whether lower is better.
    """

    batch_metrics: bool = True
    flush_interval: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    layer_stats: bool = True
    checkpoint_every: NonNegativeInt = 1
    keep_last: PositiveInt = 1
    keep_best: bool = True
    monitor: str | None = None
    mode: Literal["auto", "min", "max"] = "auto"
    cancel_check_interval: Annotated[float, Field(gt=0.0, le=10.0)] = 0.5


class SweepParameter(SpecTable):
    """One parameter of a sweep: a list of values (a choice) or a distribution table.

    `choice` takes `values`; `uniform` and `log_uniform` take floats `low < high`
    (`log_uniform` needs `low > 0`); `int` takes integers `low <= high` and a `step`.
    """

    distribution: Literal["choice", "uniform", "log_uniform", "int"]
    values: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    step: PositiveInt = 1

    @model_validator(mode="before")
    @classmethod
    def _list_is_choice(cls, value: Any) -> Any:
        return {"distribution": "choice", "values": value} if isinstance(value, list) else value

    @model_validator(mode="after")
    def _complete(self) -> SweepParameter:
        if self.distribution == "choice":
            if not self.values:
                raise spec_problem("a choice needs a non-empty list of values", "values")
            if self.low is not None or self.high is not None:
                raise spec_problem("a choice takes values, not low/high", "low")
            return self
        if self.values is not None:
            raise spec_problem(f"a {self.distribution} distribution takes low/high, not values")
        for key in ("low", "high"):
            if getattr(self, key) is None:
                raise spec_problem(f"a {self.distribution} distribution needs {key}", key)
        assert self.low is not None and self.high is not None
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise spec_problem("low and high must be finite numbers", "low")
        if self.distribution == "int":
            if not (float(self.low).is_integer() and float(self.high).is_integer()):
                raise spec_problem("an int range needs integer low and high", "low")
            if self.low > self.high:
                raise spec_problem(f"low must be <= high, got {self.low} > {self.high}", "low")
        elif self.low >= self.high:
            raise spec_problem(f"low must be < high, got {self.low} >= {self.high}", "low")
        if self.distribution == "log_uniform" and self.low <= 0:
            raise spec_problem(f"a log_uniform distribution needs low > 0, got {self.low}", "low")
        return self

    def candidates(self) -> list[Any]:
        """Values worth checking against the spec: the choices, or the range's two ends."""
        if self.distribution == "choice":
            return list(self.values or [])
        if self.distribution == "int":
            return [int(self.low or 0), int(self.high or 0)]
        return [self.low, self.high]


class EarlyStoppingRule(SpecTable):
    """`[sweep.early_stopping]`: stop a trial whose metric is worse than the median.

    After `warmup_epochs` epochs, a trial whose best `metric` so far is worse than
    the median of the other trials at the same epoch is stopped, once at least
    `min_trials` other trials have reached that epoch.
    """

    rule: Literal["median"] = "median"
    metric: str = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"
    warmup_epochs: PositiveInt = 1
    min_trials: PositiveInt = 3


class SweepTable(SpecTable):
    """`[sweep]`: a grid or a random search over dotted spec paths."""

    method: Literal["grid", "random"]
    max_runs: PositiveInt | None = None
    seed: NonNegativeInt = 0
    parameters: dict[str, SweepParameter]
    early_stopping: EarlyStoppingRule | None = None

    @model_validator(mode="after")
    def _runnable(self) -> SweepTable:
        if not self.parameters:
            raise spec_problem("a sweep needs at least one parameter", "parameters")
        if self.method == "random" and self.max_runs is None:
            raise spec_problem("a random sweep needs max_runs", "max_runs")
        if self.method == "grid":
            for path, param in self.parameters.items():
                if param.distribution in ("uniform", "log_uniform"):
                    raise spec_problem(
                        f"a grid cannot enumerate a {param.distribution} distribution; "
                        "give a list of values or use method = 'random'",
                        f'parameters."{path}"',
                    )
        return self


class ExperimentSpec(SpecTable):
    """A whole experiment spec, as read from TOML.

    Example:
        >>> spec = ExperimentSpec.model_validate({
        ...     "experiment": {"name": "mlp"},
        ...     "data": {"name": "spirals"},
        ...     "model": {"layers": [{"type": "Dense", "units": 1, "activation": "sigmoid"}]},
        ...     "compile": {"optimizer": "adam", "loss": "binary_crossentropy"},
        ... })
        >>> spec.compile.optimizer.type
        'Adam'
    """

    experiment: ExperimentTable
    data: DataTable
    model: ModelTable
    compile: CompileTable
    fit: FitTable = FitTable()
    tracking: TrackingTable = TrackingTable()
    sweep: SweepTable | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentSpec:
        if self.fit.validation_split > 0 and self.data.validation == "test":
            raise spec_problem(
                "fit.validation_split holds out training data for validation, so "
                "data.validation = 'test' cannot apply too; remove one of them",
                "fit.validation_split",
            )
        return self
