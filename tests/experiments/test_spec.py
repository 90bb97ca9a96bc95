"""Experiment specs: validation messages, overrides with coercion, examples, loading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from experiments.spec import (
    ExperimentSpec,
    SpecError,
    apply_overrides,
    list_examples,
    load_spec,
    parse_overrides,
    parse_path,
    parse_value,
    read_spec_file,
    resolve,
    sweep_trials,
    validate_spec,
)
from tests.experiments.spec_helpers import missing_engine_pieces, mlp_raw

EXAMPLES = [
    "shapes_cnn",
    "cifar10_cnn",
    "mnist_mlp",
    "imdb_lstm",
    "sentiment_bilstm",
    "sentiment_transformer",
    "shapes_sweep",
]


def _messages(raw: dict[str, Any], overrides: dict[str, Any] | None = None) -> list[str]:
    with pytest.raises(SpecError) as info:
        validate_spec(raw, overrides)
    return info.value.messages


def test_a_valid_spec_resolves_with_defaults_and_round_trips() -> None:
    spec = validate_spec(mlp_raw())
    assert spec.compile.optimizer.type == "Adam"
    assert spec.compile.optimizer.model_extra == {"learning_rate": 0.001}
    assert spec.compile.loss.type == "binary_crossentropy"
    assert spec.experiment.tags == {"mlp": ""}
    assert spec.fit.validation_split == 0.0 and spec.tracking.keep_last == 1
    resolved = resolve(spec)
    assert resolved["model"]["layers"][0] == {
        "type": "Dense",
        "units": 16,
        "activation": "relu",
        "input_shape": [2],
    }
    # The resolved form (what the database keeps) validates to the same spec.
    assert resolve(validate_spec(resolved)) == resolved


# Ten different mistakes, each with the one message that names its path.
INVALID = [
    ("unknown table", {"trainig": {}}, "trainig: unknown key 'trainig'; did you mean 'tracking'?"),
    ("unknown key", {"fit.epoch": 3}, "fit.epoch: unknown key 'epoch'; did you mean 'epochs'?"),
    ("negative epochs", {"fit.epochs": -1}, "fit.epochs: must be >= 0, got -1"),
    ("wrong type", {"fit.batch_size": "big"}, "fit.batch_size: expected an integer, got 'big'"),
    (
        "unknown layer",
        {"model.layers[1].type": "Dnse"},
        "model.layers[1].type: unknown layer 'Dnse'; did you mean 'Dense'?",
    ),
    (
        "unknown layer argument",
        {"model.layers[0].unit": 3},
        "model.layers[0].unit: layer Dense has no argument 'unit'; did you mean 'units'?",
    ),
    (
        "unknown optimizer",
        {"compile.optimizer": "adm"},
        "compile.optimizer.type: unknown optimizer 'adm'; did you mean 'Adam'?",
    ),
    (
        "unknown loss",
        {"compile.loss": "binary_crossentropi"},
        "compile.loss.type: unknown loss 'binary_crossentropi'; "
        "did you mean 'binary_crossentropy'?",
    ),
    (
        "unknown metric",
        {"compile.metrics[0]": "acuracy"},
        "compile.metrics[0].type: unknown metric 'acuracy'; did you mean 'accuracy'?",
    ),
    (
        "unknown dataset",
        {"data.name": "spiral"},
        "data.name: unknown dataset 'spiral'; did you mean 'spirals'?",
    ),
    (
        "bad argument value",
        {"model.layers[0].activation": "rleu"},
        "model.layers[0]: layer Dense rejects its arguments: Unknown activation 'rleu'",
    ),
    (
        "unknown optimizer argument",
        {"compile.optimizer.learning_rat": 0.1},
        "compile.optimizer.learning_rat: optimizer Adam has no argument 'learning_rat'; "
        "did you mean 'learning_rate'?",
    ),
    (
        "unknown callback",
        {"fit.callbacks": [{"type": "EarlyStoping"}]},
        "fit.callbacks[0].type: unknown callback 'EarlyStoping'; did you mean 'EarlyStopping'?",
    ),
    (
        "bad literal",
        {"data.padding": "pst"},
        "data.padding: unknown value 'pst'; did you mean 'post'? (allowed: 'pre', 'post')",
    ),
    (
        "unknown dataset option",
        {"data.options.n_trian": 10},
        "data.options.n_trian: dataset 'spirals' has no argument 'n_trian'; "
        "did you mean 'n_train'?",
    ),
    (
        "function loss with arguments",
        {"compile.loss.from_logits": True},
        "compile.loss: loss 'binary_crossentropy' is a function and takes no arguments; "
        "use type = 'BinaryCrossentropy' to pass arguments",
    ),
    (
        "validation twice",
        {"fit.validation_split": 0.2, "data.validation": "test"},
        "fit.validation_split: fit.validation_split holds out training data",
    ),
    ("empty name", {"experiment.name": ""}, "experiment.name: must not be empty"),
]


@pytest.mark.parametrize(("mistake", "overrides", "expected"), INVALID, ids=[i[0] for i in INVALID])
def test_each_mistake_gives_one_message_naming_its_path(
    mistake: str, overrides: dict[str, Any], expected: str
) -> None:
    messages = _messages(mlp_raw(), overrides)
    assert len(messages) == 1, messages
    assert messages[0].startswith(expected), messages[0]


def test_missing_tables_and_keys_are_named() -> None:
    raw = mlp_raw()
    del raw["compile"]
    del raw["experiment"]["name"]
    assert _messages(raw) == [
        "experiment.name: required, but missing",
        "compile: required, but missing",
    ]


def test_every_mistake_of_a_spec_is_reported_at_once() -> None:
    raw = mlp_raw()
    raw["fit"]["epochs"] = -2
    raw["data"]["name"] = "spiral"
    raw["model"]["layers"][1]["type"] = "Dnse"
    messages = _messages(raw)
    assert [m.split(":")[0] for m in messages] == [
        "data.name",
        "model.layers[1].type",
        "fit.epochs",
    ]
    assert "3 problems" in str(SpecError(messages))


def test_model_needs_layers_or_a_builder_but_not_both() -> None:
    raw = mlp_raw()
    raw["model"]["builder"] = "experiments.builders:transformer_classifier"
    assert _messages(raw) == [
        "model: give either [[model.layers]] tables or builder = 'package.module:function', "
        "not both and not neither"
    ]
    raw["model"] = {"builder": "experiments.nowhere:build"}
    assert _messages(raw)[0].startswith("model.builder: cannot import module 'experiments.nowhere'")
    raw["model"] = {"builder": "not a path"}
    assert _messages(raw) == [
        "model.builder: builder must look like 'package.module:function', got 'not a path'"
    ]


def test_nested_layer_tables_are_checked() -> None:
    raw = mlp_raw()
    raw["model"]["layers"].insert(
        0, {"type": "TimeDistributed", "layer": {"type": "Dense", "unitz": 3}}
    )
    messages = _messages(raw)
    assert messages == [
        "model.layers[0].layer.unitz: layer Dense has no argument 'unitz'; did you mean 'units'?"
    ] or messages[0].startswith("model.layers[0].type: unknown layer 'TimeDistributed'")


def test_optimizer_names_are_case_insensitive_and_canonical() -> None:
    a = validate_spec(mlp_raw(), {"compile.optimizer": "ADAM"})
    b = validate_spec(mlp_raw(), {"compile.optimizer": {"type": "Adam", "learning_rate": 0.001}})
    assert resolve(a) == resolve(b)


def test_metric_and_callback_tables_take_arguments() -> None:
    spec = validate_spec(
        mlp_raw(),
        {
            "compile.metrics": ["accuracy", {"type": "AUC", "num_thresholds": 50}],
            "fit.callbacks": [{"type": "EarlyStopping", "monitor": "loss", "patience": 2}],
        },
    )
    assert spec.compile.metrics[1].model_extra == {"num_thresholds": 50}
    assert spec.fit.callbacks[0].type == "EarlyStopping"
    assert _messages(mlp_raw(), {"fit.callbacks": [{"type": "EarlyStopping", "patiense": 2}]})[
        0
    ].startswith("fit.callbacks[0].patiense: callback EarlyStopping has no argument 'patiense'")


# ---- overrides ---------------------------------------------------------------------


def test_parse_path_and_value() -> None:
    assert parse_path("model.layers[0].filters") == ["model", "layers", 0, "filters"]
    assert parse_path("compile.optimizer.learning_rate") == [
        "compile",
        "optimizer",
        "learning_rate",
    ]
    for bad in ("fit..epochs", "[0].x", "fit.epochs!", ""):
        with pytest.raises(SpecError):
            parse_path(bad)
    assert parse_value("3") == 3 and parse_value("3e-4") == 3e-4
    assert parse_value("true") is True and parse_value('"3"') == "3"
    assert parse_value("relu") == "relu" and parse_value("[3, 3]") == [3, 3]


def test_parse_overrides_needs_key_equals_value() -> None:
    assert parse_overrides(["fit.epochs=3", "data.limit = 512"]) == {
        "fit.epochs": "3",
        "data.limit": "512",
    }
    with pytest.raises(SpecError, match=r"override 'fit.epochs': expected KEY=VALUE"):
        parse_overrides(["fit.epochs"])


def test_overrides_coerce_text_to_the_expected_types() -> None:
    spec = validate_spec(
        mlp_raw(),
        parse_overrides(
            [
                "fit.epochs=3",
                "compile.optimizer.learning_rate=3e-4",
                "data.limit=512",
                "model.layers[0].units=8",
                "fit.validation_split=0",
                "experiment.name=2024",
                "data.scale=true",
                "tracking.keep_best=false",
            ]
        ),
    )
    assert spec.fit.epochs == 3
    assert spec.compile.optimizer.model_extra == {"learning_rate": 3e-4}
    assert spec.data.limit == 512
    assert spec.model.layers is not None and spec.model.layers[0].model_extra["units"] == 8
    assert spec.fit.validation_split == 0.0 and isinstance(spec.fit.validation_split, float)
    assert spec.experiment.name == "2024"
    assert spec.data.scale is True and spec.tracking.keep_best is False


def test_an_optimizer_name_becomes_a_table_when_a_path_goes_below_it() -> None:
    raw = mlp_raw()
    assert raw["compile"]["optimizer"] == "adam"
    out = apply_overrides(raw, {"compile.optimizer.learning_rate": "3e-4"})
    assert out["compile"]["optimizer"] == {"type": "adam", "learning_rate": 3e-4}
    assert raw["compile"]["optimizer"] == "adam"  # the input is not modified


def test_layer_arguments_keep_the_type_of_the_value_they_replace() -> None:
    raw = mlp_raw()
    raw["model"]["layers"].insert(1, {"type": "Dropout", "rate": 0.5})
    out = apply_overrides(raw, {"model.layers[1].rate": "0"})
    assert out["model"]["layers"][1]["rate"] == 0.0 and isinstance(
        out["model"]["layers"][1]["rate"], float
    )


def test_bad_override_paths_give_messages() -> None:
    assert _messages(mlp_raw(), {"fit.epoch": "3"}) == [
        "fit.epoch: unknown key 'epoch'; did you mean 'epochs'?"
    ]
    assert _messages(mlp_raw(), {"model.layers[5].units": "3"}) == [
        "model.layers[5]: index out of range; model.layers has 2 items"
    ]
    assert _messages(mlp_raw(), {"fit.epochs.x": "1"}) == [
        "fit.epochs.x: fit.epochs is a value, not a table"
    ]
    assert _messages(mlp_raw(), {"fit.batch_size": "3.5"}) == [
        "fit.batch_size: expected an integer, got 3.5 (a number)"
    ]


# ---- sweeps ------------------------------------------------------------------------


def test_sweep_parameters_are_checked_against_the_spec() -> None:
    raw = mlp_raw()
    raw["sweep"] = {
        "method": "grid",
        "parameters": {
            "compile.optimizer.learning_rate": [0.01, 0.001],
            "fit.batch_size": [16, 0],
            "fit.epoch": [1],
        },
    }
    assert _messages(raw) == [
        'sweep.parameters."fit.batch_size": the value 0 gives fit.batch_size: must be >= 1, got 0',
        "sweep.parameters.\"fit.epoch\": the value 1 gives fit.epoch: unknown key 'epoch'; "
        "did you mean 'epochs'?",
    ]


def test_sweep_distributions() -> None:
    raw = mlp_raw()
    raw["sweep"] = {
        "method": "random",
        "max_runs": 4,
        "parameters": {
            "compile.optimizer.learning_rate": {
                "distribution": "log_uniform",
                "low": 1e-4,
                "high": 1e-2,
            },
            "model.layers[0].units": {"distribution": "int", "low": 4, "high": 32, "step": 4},
            "fit.batch_size": [16, 32],
        },
        "early_stopping": {"metric": "loss", "warmup_epochs": 1},
    }
    spec = validate_spec(raw)
    assert spec.sweep is not None and spec.sweep.parameters["fit.batch_size"].values == [16, 32]
    raw["sweep"]["method"] = "grid"
    assert _messages(raw) == [
        'sweep.parameters."compile.optimizer.learning_rate": a grid cannot enumerate a '
        "log_uniform distribution; give a list of values or use method = 'random'"
    ]
    raw["sweep"] = {"method": "random", "parameters": {"fit.epochs": [1]}}
    assert _messages(raw) == ["sweep.max_runs: a random sweep needs max_runs"]
    raw["sweep"] = {
        "method": "random",
        "max_runs": 2,
        "parameters": {"x.y": {"distribution": "log_uniform", "low": 0.0, "high": 1.0}},
    }
    assert _messages(raw) == [
        'sweep.parameters."x.y".low: a log_uniform distribution needs low > 0, got 0.0'
    ]
    raw["sweep"]["parameters"] = {"fit.epochs": {"distribution": "normal"}}
    assert _messages(raw)[0].startswith(
        "sweep.parameters.\"fit.epochs\".distribution: unknown value 'normal'"
    )


# ---- files and examples ---------------------------------------------------------------


def test_examples_are_shipped_in_the_package() -> None:
    assert sorted(EXAMPLES) == list_examples()


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_validates(name: str) -> None:
    assert missing_engine_pieces(name) == []
    spec = load_spec(name)
    assert spec.experiment.name == name
    assert validate_spec(resolve(spec)) == spec


def test_a_spec_file_with_a_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[experiment]\nname = "x\n')
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.source == str(path)
    assert info.value.messages[0].startswith("TOML syntax error:")


def test_a_spec_file_names_itself_in_its_errors(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(
        '[experiment]\nname = "x"\n[data]\nname = "spirals"\n'
        '[model]\nlayers = [{ type = "Dense", units = 1 }]\n'
        '[compile]\nloss = "mse"\n[fit]\nepochs = -1\n'
    )
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value) == f"invalid experiment spec {path}: fit.epochs: must be >= 0, got -1"
    assert load_spec(path, {"fit.epochs": "1"}).fit.epochs == 1


def test_unknown_sources_list_the_examples() -> None:
    with pytest.raises(SpecError, match="no spec file 'shapes_cn' and no example"):
        read_spec_file("shapes_cn")


def test_schema_example_in_docstring() -> None:
    spec = ExperimentSpec.model_validate(mlp_raw())
    assert spec.compile.optimizer.type == "Adam"


# ---- sweep trials --------------------------------------------------------------------


def test_a_grid_enumerates_every_combination() -> None:
    spec = load_spec("shapes_sweep")
    assert spec.sweep is not None
    trials = sweep_trials(spec.sweep)
    assert len(trials) == 6
    assert trials[:2] == [
        {"compile.optimizer.learning_rate": 0.003, "fit.batch_size": 32},
        {"compile.optimizer.learning_rate": 0.003, "fit.batch_size": 64},
    ]
    # Every trial is a valid spec with its values applied.
    raw = read_spec_file("shapes_sweep")
    trial = validate_spec(raw, trials[-1])
    assert trial.fit.batch_size == 64
    assert trial.compile.optimizer.model_extra == {"learning_rate": 0.0003}


def test_a_grid_enumerates_int_ranges_and_respects_max_runs() -> None:
    raw = mlp_raw()
    raw["sweep"] = {
        "method": "grid",
        "max_runs": 4,
        "parameters": {
            "model.layers[0].units": {"distribution": "int", "low": 4, "high": 12, "step": 4},
            "fit.batch_size": [16, 32],
        },
    }
    sweep = validate_spec(raw).sweep
    assert sweep is not None
    assert [(t["model.layers[0].units"], t["fit.batch_size"]) for t in sweep_trials(sweep)] == [
        (4, 16),
        (4, 32),
        (8, 16),
        (8, 32),
    ]


def test_random_trials_follow_their_distributions_and_seed() -> None:
    raw = mlp_raw()
    raw["sweep"] = {
        "method": "random",
        "max_runs": 50,
        "seed": 3,
        "parameters": {
            "compile.optimizer.learning_rate": {
                "distribution": "log_uniform",
                "low": 1e-4,
                "high": 1e-1,
            },
            "fit.validation_split": {"distribution": "uniform", "low": 0.1, "high": 0.3},
            "model.layers[0].units": {"distribution": "int", "low": 8, "high": 64, "step": 8},
            "compile.optimizer.type": ["adam", "sgd"],
        },
    }
    sweep = validate_spec(raw).sweep
    assert sweep is not None
    trials = sweep_trials(sweep)
    assert trials == sweep_trials(sweep) and len(trials) == 50
    rates = np.array([t["compile.optimizer.learning_rate"] for t in trials])
    assert ((rates >= 1e-4) & (rates <= 1e-1)).all()
    # Log-uniform: about a third of the draws in each decade.
    assert 8 <= int(((rates >= 1e-3) & (rates < 1e-2)).sum()) <= 26
    assert all(0.1 <= t["fit.validation_split"] <= 0.3 for t in trials)
    assert {t["model.layers[0].units"] for t in trials} <= set(range(8, 65, 8))
    assert {t["compile.optimizer.type"] for t in trials} == {"adam", "sgd"}
    spec = validate_spec(mlp_raw(), trials[0])
    assert spec.compile.optimizer.type in ("Adam", "SGD")
    raw["sweep"]["seed"] = 4
    assert sweep_trials(validate_spec(raw).sweep) != trials
