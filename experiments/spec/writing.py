"""Writing a spec back to TOML: the inverse of `read_spec_file`.

TOML has no null, so keys whose value is None are left out: every optional
spec field defaults to None, so the file validates to the same spec. Short
arrays and tables are written inline (`kernel_size = [3, 3]`, `optimizer =
{ type = "Adam", learning_rate = 0.001 }`), as the example specs are; a table
that does not fit on one line gets its own `[section]`, and a list of tables
that does not fit becomes `[[model.layers]]`-style blocks.

Example:
    >>> print(spec_toml({"fit": {"epochs": 3, "seed": None}}), end="")
    [fit]
    epochs = 3
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.utils.file_utils import atomic_write

# Lines longer than this become sections or blocks instead of inline values.
LINE_WIDTH = 88
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def format_key(key: str) -> str:
    """A TOML key: bare when it can be (`epochs`), quoted otherwise (`"fit.epochs"`)."""
    if not isinstance(key, str):
        raise TypeError(f"a TOML key must be a string, got {key!r}")
    return key if _BARE_KEY.match(key) else format_value(key)


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _without_none(table: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in table.items() if v is not None}


def format_value(value: Any) -> str:
    """One value as inline TOML: `3`, `0.001`, `true`, `"relu"`, `[3, 3]`, `{ type = "Adam" }`.

    Raises:
        ValueError: TOML cannot hold the value (None inside an array, an integer
            beyond 64 bits, a type TOML does not know).

    Example:
        >>> format_value({"type": "Adam", "learning_rate": 0.001})
        '{ type = "Adam", learning_rate = 0.001 }'
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"{value} does not fit in a TOML integer (64 bits)")
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        # repr gives the shortest text that reads back to the same float ("1e-05", "inf").
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        if any(item is None for item in value):
            raise ValueError(f"TOML has no null, so the array {list(value)!r} cannot be written")
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = _without_none(value)
        if not items:
            return "{}"
        inner = ", ".join(f"{format_key(k)} = {format_value(v)}" for k, v in items.items())
        return "{ " + inner + " }"
    raise ValueError(f"TOML cannot hold {type(value).__name__} values such as {value!r}")


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _section(name: str, table: Mapping[str, Any], header: str) -> list[str]:
    """The lines of one `[name]` (or `[[name]]`) section and the sections below it."""
    lines = [header] if header else []
    below: list[str] = []
    for key, value in _without_none(table).items():
        path = f"{name}.{format_key(key)}" if name else format_key(key)
        line = f"{format_key(key)} = {format_value(value)}"
        fits = len(line) <= LINE_WIDTH
        if isinstance(value, Mapping) and value and not fits:
            below += ["", *_section(path, value, f"[{path}]")]
        elif _is_table_list(value) and not fits:
            for item in value:
                # Inside a block, nested tables stay inline: `layer = { type = "LSTM" }`.
                below += ["", f"[[{path}]]"]
                below += [
                    f"{format_key(k)} = {format_value(v)}" for k, v in _without_none(item).items()
                ]
        else:
            lines.append(line)
    return lines + below


def spec_toml(raw: Mapping[str, Any]) -> str:
    """The TOML text of a raw or resolved spec; reading it back gives the same dict, minus Nones.

    Args:
        raw: a spec as a dict (as read from TOML, or `resolve(spec)`).

    Raises:
        ValueError: a value TOML cannot hold (see `format_value`).
    """
    top = _without_none(raw)
    literals = {k: v for k, v in top.items() if not isinstance(v, Mapping)}
    lines = _section("", literals, "")
    for key, value in top.items():
        if isinstance(value, Mapping):
            if lines:
                lines.append("")
            lines += _section(format_key(key), value, f"[{format_key(key)}]")
    return "\n".join(lines) + "\n"


def write_spec_file(
    raw: Mapping[str, Any], path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write a spec as TOML to `path` atomically: a reader sees the old file or the new one.

    Args:
        raw: the spec as a dict.
        path: the `.toml` file to write (its folder is created if missing).
        overwrite: replace an existing file; without it an existing file is an error.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False; nothing was written.
        ValueError: a value TOML cannot hold; nothing was written.

    Example:
        >>> write_spec_file(resolve(spec), "experiments/shapes_small.toml")
        PosixPath('experiments/shapes_small.toml')
    """
    target = Path(path)
    text = spec_toml(raw)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; confirm to overwrite it, or choose another name")
    return atomic_write(target, text)
