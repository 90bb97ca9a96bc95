"""Experiment specs: TOML files validated into `ExperimentSpec`, with overrides.

The resolved form of a spec (`resolve(spec)`: JSON data with every default
filled in) is what the store keeps; the store flattens it into dotted params
and hashes it.

Example:
    >>> from experiments.spec import load_spec, resolve
    >>> spec = load_spec("shapes_cnn", {"fit.epochs": "2", "data.limit": "512"})
    >>> resolve(spec)["fit"]["epochs"]
    2
"""

from experiments.spec.errors import SpecError
from experiments.spec.loading import (
    example_path,
    examples_dir,
    list_examples,
    load_spec,
    read_spec_file,
    resolve,
    resolve_source,
    validate_spec,
)
from experiments.spec.overrides import apply_overrides, parse_overrides, parse_path, parse_value
from experiments.spec.schema import ExperimentSpec
from experiments.spec.sweeps import sweep_trials

__all__ = [
    "ExperimentSpec",
    "SpecError",
    "apply_overrides",
    "example_path",
    "examples_dir",
    "list_examples",
    "load_spec",
    "parse_overrides",
    "parse_path",
    "parse_value",
    "read_spec_file",
    "resolve",
    "resolve_source",
    "sweep_trials",
    "validate_spec",
]
