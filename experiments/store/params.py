"""Flattening a resolved spec into dotted parameters, and typed values to and from text.

Keys use the same paths as spec overrides (`fit.epochs`,
`compile.optimizer.learning_rate`, `model.layers[0].filters`): tables become
dotted keys, lists of tables become indexed keys, and lists of plain values
(`compile.metrics`, `input_shape`) stay one parameter holding JSON.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

ParamValue = str | int | float | bool | None | list[Any]


def flatten_params(spec: Mapping[str, Any]) -> dict[str, ParamValue]:
    """The leaf values of a nested spec, keyed by dotted path.

    Args:
        spec: the resolved spec as plain dicts, lists and scalars.

    Example:
        >>> flatten_params({"fit": {"epochs": 3}, "model": {"layers": [{"units": 8}]}})
        {'fit.epochs': 3, 'model.layers[0].units': 8}
    """
    flat: dict[str, ParamValue] = {}
    _flatten(spec, "", flat)
    return flat


def _flatten(value: Any, path: str, flat: dict[str, ParamValue]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else str(key), flat)
    elif isinstance(value, list | tuple) and any(isinstance(v, Mapping) for v in value):
        for index, item in enumerate(value):
            _flatten(item, f"{path}[{index}]", flat)
    elif isinstance(value, list | tuple):
        flat[path] = list(value)
    else:
        flat[path] = value


def encode_param(value: ParamValue) -> tuple[str, float | None, str]:
    """The `(value_text, value_num, value_type)` columns storing one parameter value.

    Args:
        value: a string, number, boolean, None or a list of plain values.

    Example:
        >>> encode_param(3e-4), encode_param("adam"), encode_param(True)
        (('0.0003', 0.0003, 'float'), ('adam', None, 'str'), ('true', 1.0, 'bool'))
    """
    if isinstance(value, bool):
        return ("true" if value else "false", float(value), "bool")
    if isinstance(value, int):
        return (str(value), float(value), "int")
    if isinstance(value, float):
        number = value if math.isfinite(value) else None
        return (json.dumps(value), number, "float")
    if isinstance(value, str):
        return (value, None, "str")
    if value is None:
        return ("null", None, "null")
    if isinstance(value, list | tuple):
        return (json.dumps(list(value)), None, "json")
    raise TypeError(
        f"parameter value {value!r} has type {type(value).__name__}; specs hold only "
        "strings, numbers, booleans and lists"
    )


def decode_param(text: str, value_type: str) -> ParamValue:
    """The value stored by `encode_param`.

    Args:
        text: the `value_text` column.
        value_type: the `value_type` column.

    Example:
        >>> decode_param("64", "int"), decode_param("[32, 32, 3]", "json")
        (64, [32, 32, 3])
    """
    if value_type == "str":
        return text
    if value_type == "int":
        return int(text)
    if value_type in ("float", "bool", "null", "json"):
        return json.loads(text)
    raise ValueError(f"unknown parameter value type {value_type!r}; the database may be newer")


def spec_hash(spec: Mapping[str, Any]) -> str:
    """The sha256 of a spec's canonical JSON: equal specs hash equal whatever their key order.

    Args:
        spec: the resolved spec.

    Example:
        >>> spec_hash({"a": 1, "b": 2}) == spec_hash({"b": 2, "a": 1})
        True
    """
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(canonical.encode()).hexdigest()
