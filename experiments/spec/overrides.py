"""Overrides by dotted path: `fit.epochs=3`, `model.layers[0].filters=16`.

An override sets one value of a raw spec (the dict read from TOML, or a
resolved spec from the database) before validation, so an override that makes
the spec invalid is reported like any other mistake. Values written as text
(from a command line) are read as TOML values (`3`, `3e-4`, `true`,
`"text"`, `[3, 3]`), falling back to the bare text, and then coerced to the
type the schema expects at that path (an integer where a float is expected
becomes a float; a number where a string is expected stays the text given).
"""

from __future__ import annotations

import copy
import re
import tomllib
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from experiments.spec.errors import SpecError
from experiments.spec.messages import admitted_types, annotation_at, format_path

_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")


def parse_path(path: str) -> list[str | int]:
    """`"model.layers[0].filters"` -> `["model", "layers", 0, "filters"]`.

    Raises:
        SpecError: the path is not keys joined by dots, with `[i]` list indices.

    Example:
        >>> parse_path("compile.optimizer.learning_rate")
        ['compile', 'optimizer', 'learning_rate']
    """
    items: list[str | int] = []
    pos = 0
    text = path.strip()
    while pos < len(text):
        if items and text[pos] == ".":
            pos += 1
        match = _TOKEN.match(text, pos)
        if match is None:
            raise SpecError(
                [
                    f"{path}: not a dotted path; write keys joined by dots and [i] for list items, "
                    "such as model.layers[0].filters"
                ]
            )
        items.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if not items or not isinstance(items[0], str):
        raise SpecError(
            [f"{path!r}: an override path starts with a table name, such as fit.epochs"]
        )
    return items


def parse_value(text: str) -> Any:
    """A TOML value (`3`, `3e-4`, `true`, `"x"`, `[3, 3]`), or the text itself when it is not one.

    Example:
        >>> parse_value("3e-4"), parse_value("relu"), parse_value("[3, 3]")
        (0.0003, 'relu', [3, 3])
    """
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """`["fit.epochs=3", ...]` -> `{"fit.epochs": "3", ...}` (values stay text until applied).

    Raises:
        SpecError: an item has no `=` or an empty key.
    """
    out: dict[str, str] = {}
    problems: list[str] = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"override {item!r}: expected KEY=VALUE, such as fit.epochs=3")
            continue
        out[key.strip()] = value.strip()
    if problems:
        raise SpecError(problems)
    return out


def _coerce(value: Any, text: str | None, annotation: Any, current: Any) -> Any:
    """Fit `value` (read from `text`, when given as text) to the type expected at its path.

    The expected types come from the schema, or from the value being replaced
    where the schema does not say (a layer's arguments).
    """
    kinds = set(admitted_types(annotation)) if annotation is not None else set()
    if not kinds and current is not None:
        kinds = {type(current)}
    if text is not None and str in kinds and type(value) not in kinds:
        return text
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if is_int and float in kinds and int not in kinds:
        return float(value)
    if isinstance(value, float) and value.is_integer() and int in kinds and float not in kinds:
        return int(value)
    return value


def _holds_table(annotation: Any) -> bool:
    """Whether the schema allows a table where `annotation` is (True when it does not say)."""
    if annotation is None:
        return True
    for kind in admitted_types(annotation):
        if kind is Any or typing.get_origin(kind) is dict:
            return True
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            return True
    return False


def _descend(node: Any, key: str | int, path: list[str | int]) -> Any:
    where = format_path(path) or "the spec"
    if isinstance(key, int):
        if not isinstance(node, list):
            raise SpecError([f"{format_path([*path, key])}: {where} is not an array"])
        if key >= len(node):
            raise SpecError(
                [f"{format_path([*path, key])}: index out of range; {where} has {len(node)} items"]
            )
        return node
    if not isinstance(node, dict):
        raise SpecError([f"{format_path([*path, key])}: {where} is a value, not a table"])
    return node


def apply_overrides(raw: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of `raw` with each `path -> value` of `overrides` set.

    A string value is read as text (see `parse_value`); other values are used as
    they are, an integer becoming a float where a float is expected. A name
    standing for a table (`optimizer = "adam"`) becomes `{type = "adam"}` when a
    path goes below it. Missing tables on the way are created; unknown keys are
    then reported by validation.

    Args:
        raw: a spec as a dict (from TOML or `ExperimentSpec.model_dump`).
        overrides: dotted paths to values.

    Raises:
        SpecError: a path is malformed, indexes past a list's end, or goes below a value.

    Example:
        >>> apply_overrides({"fit": {"epochs": 10}}, {"fit.epochs": "3"})["fit"]["epochs"]
        3
    """
    from experiments.spec.schema import ExperimentSpec

    spec = copy.deepcopy(dict(raw))
    problems: list[str] = []
    for path_text, given in (overrides or {}).items():
        try:
            path = parse_path(path_text)
            node: Any = spec
            for depth, key in enumerate(path[:-1]):
                node = _descend(node, key, path[:depth])
                child = node[key] if isinstance(key, int) else node.get(key)
                if isinstance(child, str):
                    child = {"type": child}
                elif child is None:
                    if not _holds_table(annotation_at(ExperimentSpec, path[: depth + 1])):
                        where = format_path(path[: depth + 1])
                        raise SpecError([f"{path_text}: {where} is a value, not a table"])
                    child = {}
                node[key] = child
                node = child
            last = path[-1]
            node = _descend(node, last, path[:-1])
            current = node[last] if isinstance(last, int) else node.get(last)
            text = given if isinstance(given, str) else None
            value = parse_value(given) if text is not None else copy.deepcopy(given)
            node[last] = _coerce(value, text, annotation_at(ExperimentSpec, path), current)
        except SpecError as err:
            problems.extend(err.messages)
    if problems:
        raise SpecError(problems)
    return spec
