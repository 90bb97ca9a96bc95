"""Turning pydantic's validation errors into one readable message per mistake.

A message is `<dotted path>: <what is wrong and what is allowed>`, for example
`fit.epoch: unknown key 'epoch'; did you mean 'epochs'?`.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from experiments.spec.names import suggest

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}

_BOUNDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}


def format_path(loc: Sequence[str | int]) -> str:
    """`("model", "layers", 3, "type")` -> `model.layers[3].type`.

    Keys that are not plain identifiers (a sweep's dotted parameter paths) are quoted.
    """
    out = ""
    for item in loc:
        if isinstance(item, int):
            out += f"[{item}]"
            continue
        text = item if _IDENTIFIER.match(item) else f'"{item}"'
        out += f".{text}" if out else text
    return out


def _describe(value: Any) -> str:
    kinds = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}
    kind = kinds.get(type(value))
    if kind is None:
        kind = "an array" if isinstance(value, list) else "a table"
        if not isinstance(value, (list, dict)):
            kind = type(value).__name__
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return f"{shown} ({kind})"


def admitted_types(annotation: Any) -> list[Any]:
    """The types an annotation admits, with Optional, Annotated and unions opened up.

    Example:
        >>> admitted_types(int | None)
        [<class 'int'>, <class 'NoneType'>]
    """
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return admitted_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in admitted_types(arg)]
    return [annotation]


def _step(annotation: Any, item: str | int) -> Any:
    """The annotation one `loc` item below `annotation` (None when it cannot be told)."""
    for candidate in admitted_types(annotation):
        origin = typing.get_origin(candidate)
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            if isinstance(item, str) and item in candidate.model_fields:
                return candidate.model_fields[item].annotation
        elif origin is list and isinstance(item, int):
            return typing.get_args(candidate)[0]
        elif origin is dict and isinstance(item, str):
            return typing.get_args(candidate)[1]
    return None


def annotation_at(root: type[BaseModel], loc: Sequence[str | int]) -> Any:
    """The type annotation of the value at `loc` under the model `root` (None when unknown).

    Args:
        root: the model class at the top (`ExperimentSpec`).
        loc: keys and list indices, as in pydantic error locations.

    Example:
        >>> annotation_at(ExperimentSpec, ["fit", "epochs"])
        <class 'int'>
    """
    annotation: Any = root
    for item in loc:
        annotation = _step(annotation, item)
        if annotation is None:
            return None
    return annotation


def _model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    for candidate in admitted_types(annotation_at(root, loc)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _literal_choices(root: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    choices: list[str] = []
    for candidate in admitted_types(annotation_at(root, loc)):
        if typing.get_origin(candidate) is typing.Literal:
            choices.extend(str(c) for c in typing.get_args(candidate))
    return choices


def _message(root: type[BaseModel], error: dict[str, Any]) -> str:
    loc = list(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "spec":
        path = format_path(loc)
        field = ctx.get("field")
        if field:
            path = f"{path}.{field}" if path else field
        return f"{path}: {ctx['message']}" if path else ctx["message"]
    path = format_path(loc)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = _model_at(root, loc[:-1])
        allowed = sorted(model.model_fields) if model is not None else []
        guess = suggest(key, allowed)
        if guess is not None:
            return f"{path}: unknown key {key!r}; did you mean {guess!r}?"
        return f"{path}: unknown key {key!r}; allowed keys: {', '.join(allowed)}"
    if kind == "missing":
        return f"{path}: required, but missing"
    if kind in _EXPECTED:
        return f"{path}: expected {_EXPECTED[kind]}, got {_describe(value)}"
    if kind in _BOUNDS:
        sign, key = _BOUNDS[kind]
        return f"{path}: must be {sign} {ctx[key]}, got {value!r}"
    if kind == "literal_error":
        choices = _literal_choices(root, loc)
        guess = suggest(str(value), choices) if isinstance(value, str) else None
        allowed = ", ".join(repr(c) for c in choices)
        if guess is not None:
            return f"{path}: unknown value {value!r}; did you mean {guess!r}? (allowed: {allowed})"
        return f"{path}: unknown value {value!r}; allowed: {allowed}"
    if kind == "string_too_short":
        return f"{path}: must not be empty"
    if kind == "string_too_long":
        return f"{path}: must be at most {ctx.get('max_length')} characters long"
    text = str(error.get("msg", kind))
    return f"{path}: {text[:1].lower()}{text[1:]}"


def validation_messages(root: type[BaseModel], error: ValidationError) -> list[str]:
    """One message per error of `error`, raised while validating a `root` model.

    Args:
        root: the model class that was validated (to name allowed keys and values).
        error: pydantic's error.
    """
    return [_message(root, e) for e in error.errors(include_url=False)]
