"""Reading specs from TOML files or shipped examples, and validating them."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from experiments.spec.errors import SpecError
from experiments.spec.messages import validation_messages
from experiments.spec.overrides import apply_overrides
from experiments.spec.schema import ExperimentSpec

SpecSource = str | os.PathLike[str]


def examples_dir() -> Path:
    """The folder of example specs shipped inside the package."""
    return Path(str(resources.files("experiments") / "examples"))


def list_examples() -> list[str]:
    """Names of the shipped example specs (`shapes_cnn`, ...), sorted."""
    return sorted(p.stem for p in examples_dir().glob("*.toml"))


def example_path(name: str) -> Path:
    """The file of the example spec `name` (with or without `.toml`).

    Raises:
        SpecError: there is no such example.
    """
    stem = name[:-5] if name.endswith(".toml") else name
    path = examples_dir() / f"{stem}.toml"
    if not path.is_file():
        raise SpecError([f"no example spec named {name!r}; examples: {', '.join(list_examples())}"])
    return path


def resolve_source(source: SpecSource) -> Path:
    """The file a spec source names: an existing path, else a shipped example's name.

    Raises:
        SpecError: neither a file nor an example of that name exists.
    """
    path = Path(source)
    if path.is_file():
        return path
    text = os.fspath(source)
    if "/" not in text and os.sep not in text:
        try:
            return example_path(text)
        except SpecError:
            pass
    raise SpecError(
        [
            f"no spec file {text!r} and no example of that name; give a path to a .toml file "
            f"or one of {', '.join(list_examples())}"
        ]
    )


def read_spec_file(source: SpecSource) -> dict[str, Any]:
    """The raw (unvalidated) TOML of a spec file or example.

    Raises:
        SpecError: the file is missing, unreadable or not valid TOML.
    """
    path = resolve_source(source)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise SpecError([f"TOML syntax error: {err}"], source=str(path)) from None
    except OSError as err:
        raise SpecError([f"cannot read the file: {err.strerror}"], source=str(path)) from None


def resolve(spec: ExperimentSpec) -> dict[str, Any]:
    """The spec as JSON data with every default filled in: what the store keeps for a run.

    Validating the resolved form again gives the same spec, so a run can be
    rebuilt from the database alone.
    """
    return spec.model_dump(mode="json")


def _check_sweep(raw: Mapping[str, Any], spec: ExperimentSpec) -> list[str]:
    """Messages for sweep parameters whose path or values do not fit the spec."""
    if spec.sweep is None:
        return []
    base = {k: v for k, v in raw.items() if k != "sweep"}
    problems: list[str] = []
    for path, param in spec.sweep.parameters.items():
        for value in param.candidates():
            try:
                ExperimentSpec.model_validate(apply_overrides(base, {path: value}))
            except SpecError as err:
                problems.extend(f'sweep.parameters."{path}": {m}' for m in err.messages)
                break
            except ValidationError as err:
                inner = "; ".join(validation_messages(ExperimentSpec, err))
                problems.append(f'sweep.parameters."{path}": the value {value!r} gives {inner}')
                break
    return problems


def validate_spec(
    raw: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> ExperimentSpec:
    """Validate a raw spec (after applying `overrides`), or raise one message per mistake.

    Args:
        raw: the spec as a dict (TOML as read, or a resolved spec from the database).
        overrides: dotted paths to values (see `apply_overrides`).

    Raises:
        SpecError: with every problem found.

    Example:
        >>> spec = validate_spec(read_spec_file("shapes_cnn"), {"fit.epochs": "2"})
        >>> spec.fit.epochs
        2
    """
    data = apply_overrides(raw, overrides)
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as err:
        raise SpecError(validation_messages(ExperimentSpec, err)) from None
    problems = _check_sweep(data, spec)
    if problems:
        raise SpecError(problems)
    return spec


def load_spec(source: SpecSource, overrides: Mapping[str, Any] | None = None) -> ExperimentSpec:
    """Read, override and validate a spec file or a shipped example (`"shapes_cnn"`).

    Args:
        source: a path to a `.toml` file, or the name of an example spec.
        overrides: dotted paths to values, such as `{"fit.epochs": "3"}`.

    Raises:
        SpecError: naming the file, with every problem found.

    Example:
        >>> load_spec("shapes_cnn", {"data.limit": "512"}).data.limit
        512
    """
    raw = read_spec_file(source)
    try:
        return validate_spec(raw, overrides)
    except SpecError as err:
        raise err.with_source(str(resolve_source(source))) from None
