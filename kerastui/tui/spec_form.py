"""The launch form's model: a spec as editable text fields, and the fields back as a spec.

Every field is text, as typed. Turning the fields back into a spec goes
through the same dotted-path overrides as `--set` on the command line, so a
value is read and coerced exactly as `kerastui launch --set` would read it
(`3` an integer, `3e-4` a float, `relu` a string, `[3, 3]` an array) and a
mistake gets the command line's message. Keys the form does not show (the
`[tracking]` table, callbacks, a builder model) are kept from the spec the
form started from.

Example:
    >>> form = form_from_raw(read_spec_file("shapes_cnn"))
    >>> form.layers[0].arguments
    'filters=32, kernel_size=[3, 3], activation=relu, input_shape=[32, 32, 3]'
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from experiments.spec.overrides import parse_value
from experiments.spec.writing import format_value

# A key at the start of an item: `units`, `options.seed`, `model.layers[0].filters`, `"a.b"`.
_KEY = r'(?:"[^"]*"|[A-Za-z_][\w.\-]*(?:\[\d+\][\w.\-]*)*)'
_NEXT_KEY = re.compile(rf"\s*{_KEY}\s*=")
_BARE_TEXT = re.compile(r"[A-Za-z_][\w.\-/:]*")
_OPENING, _CLOSING = "[{", "]}"

# Keys of [data] and [fit] the form leaves out when they hold the schema's default.
_DATA_DEFAULTS: dict[str, Any] = {
    "options": {},
    "scale": False,
    "one_hot": False,
    "flatten": False,
    "padding": "pre",
    "truncating": "pre",
}


@dataclass
class LayerRow:
    """One layer of the form: its type and its arguments as `key=value` text.

    Args:
        type: the layer class (`"Dense"`).
        arguments: `key=value` pairs (`"units=64, activation=relu"`).
        original: the table the row was read from; its values tell how to read
            the text (`64.0` stays an integer where the spec had an integer).
    """

    type: str
    arguments: str = ""
    original: dict[str, Any] = field(default_factory=dict)


@dataclass
class SpecForm:
    """A spec as the launch form shows it: one text per field.

    `base` is the spec the form started from; `layers` is None for a model
    built by a `builder` function, which the form keeps as it is.
    """

    base: dict[str, Any]
    name: str = ""
    dataset: str = ""
    data: str = ""
    layers: list[LayerRow] | None = None
    optimizer: str = ""
    learning_rate: str = ""
    optimizer_arguments: str = ""
    loss: str = ""
    loss_arguments: str = ""
    metrics: str = ""
    epochs: str = ""
    batch_size: str = ""
    seed: str = ""
    sweep_method: str = ""
    sweep_max_runs: str = ""
    sweep_values: str = ""


def format_text(value: Any) -> str:
    """A value as the form shows it: TOML, with a plain word left unquoted (`relu`)."""
    if isinstance(value, str) and _BARE_TEXT.fullmatch(value) and parse_value(value) == value:
        return value
    return format_value(value)


def format_pairs(table: dict[str, Any]) -> str:
    """`{"units": 64, "activation": "relu"}` -> `"units=64, activation=relu"` (Nones left out)."""
    return ", ".join(f"{k}={format_text(v)}" for k, v in table.items() if v is not None)


def split_items(text: str) -> list[str]:
    """Split at the commas (and the spaces before a `key=`) that are outside brackets and quotes.

    Example:
        >>> split_items("kernel_size=[3, 3], activation=relu units=4")
        ['kernel_size=[3, 3]', 'activation=relu', 'units=4']
    """
    items: list[str] = []
    current: list[str] = []
    depth = 0
    quote: str | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\" and quote == '"' and i + 1 < len(text):
                current.append(text[i : i + 2])
                i += 2
                continue
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth = max(depth - 1, 0)
        elif depth == 0 and char == ",":
            items.append("".join(current))
            current = []
            i += 1
            continue
        elif depth == 0 and char.isspace() and "=" in "".join(current) and _NEXT_KEY.match(text, i):
            items.append("".join(current))
            current = []
        current.append(char)
        i += 1
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def parse_pairs(text: str, where: str) -> list[tuple[str, str]]:
    """`"units=64, activation=relu"` -> `[("units", "64"), ("activation", "relu")]`.

    Args:
        text: the field's text.
        where: the dotted path the pairs belong to, for messages (`model.layers[2]`).

    Raises:
        ValueError: an item is not `key=value`, with one message saying which.
    """
    pairs = []
    for item in split_items(text):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(
                f"{where}: {item!r} is not key=value; write arguments as key=value, "
                "separated by commas, such as units=64, activation=relu"
            )
        if key.startswith('"') and key.endswith('"') and len(key) > 1:
            key = key[1:-1]
        pairs.append((key, value.strip()))
    return pairs


def _table(value: Any) -> dict[str, Any]:
    """A spec object as a table: `"adam"` -> `{"type": "adam"}`."""
    if isinstance(value, str):
        return {"type": value}
    return dict(value) if isinstance(value, dict) else {}


def _section(raw: dict[str, Any], key: str) -> dict[str, Any]:
    """A copy of the table `raw[key]`; empty when missing or not a table (validation says so)."""
    value = raw.get(key)
    return dict(value) if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    return "" if value is None else format_text(value)


def _sweep_value(param: Any) -> Any:
    """A sweep parameter as the form shows it: a choice as its list of values."""
    if isinstance(param, dict):
        if param.get("distribution") == "choice" and param.get("values") is not None:
            return param["values"]
        return {k: v for k, v in param.items() if v is not None and (k, v) != ("step", 1)}
    return param


def form_from_raw(raw: dict[str, Any]) -> SpecForm:
    """The form's fields for a spec (a TOML file as read, or a run's resolved spec).

    Args:
        raw: the spec as a dict.
    """
    experiment = _section(raw, "experiment")
    data = _section(raw, "data")
    model = _section(raw, "model")
    compile_table = _section(raw, "compile")
    fit = _section(raw, "fit")
    sweep = _section(raw, "sweep")
    optimizer = _table(compile_table.get("optimizer"))
    loss = _table(compile_table.get("loss"))
    settings = {
        k: v
        for k, v in data.items()
        if k != "name" and v is not None and _DATA_DEFAULTS.get(k, object()) != v
    }
    layers = None
    if isinstance(model.get("layers"), list):
        layers = []
        for table in model["layers"]:
            table = _table(table)
            args = {k: v for k, v in table.items() if k != "type"}
            layers.append(LayerRow(str(table.get("type", "")), format_pairs(args), table))
    metrics = [
        m["type"] if isinstance(m, dict) and set(m) == {"type"} else m
        for m in _as_list(compile_table.get("metrics"))
    ]
    return SpecForm(
        base=copy.deepcopy(raw),
        # Shown as it is: the name field is read back as plain text, not as a TOML value.
        name=str(experiment.get("name") or ""),
        dataset=_text(data.get("name")),
        data=format_pairs(settings),
        layers=layers,
        optimizer=_text(optimizer.get("type")),
        learning_rate=_text(optimizer.get("learning_rate")),
        optimizer_arguments=format_pairs(
            {k: v for k, v in optimizer.items() if k not in ("type", "learning_rate")}
        ),
        loss=_text(loss.get("type")),
        loss_arguments=format_pairs({k: v for k, v in loss.items() if k != "type"}),
        metrics=", ".join(format_text(m) for m in metrics),
        epochs=_text(fit.get("epochs")),
        batch_size=_text(fit.get("batch_size")),
        seed=_text(fit.get("seed")),
        sweep_method=str(sweep.get("method") or ""),
        sweep_max_runs=_text(sweep.get("max_runs")),
        sweep_values=format_pairs(
            {k: _sweep_value(v) for k, v in _section(sweep, "parameters").items()}
        ),
    )


def _rebuild(
    old: dict[str, Any],
    text: str,
    prefix: str,
    where: str,
    fixed: dict[str, Any],
    overrides: dict[str, str],
    problems: list[str],
) -> dict[str, Any]:
    """A table made of `fixed` and the `key=value` pairs of `text` (set through `overrides`).

    The old value of each key written whole is kept until the override replaces
    it, so the text is read as the type the key had (`64.0` stays an integer).
    """
    table = dict(fixed)
    try:
        pairs = parse_pairs(text, where)
    except ValueError as err:
        problems.append(str(err))
        return table
    for key, value in pairs:
        if key in fixed:
            problems.append(f"{where}.{key}: set by its own field of the form, not here")
            continue
        if key in old:
            table[key] = copy.deepcopy(old[key])
        overrides[f"{prefix}{key}"] = value
    return table


def raw_from_form(form: SpecForm) -> dict[str, Any]:
    """The spec the form's fields stand for (not yet validated; see `validate_spec`).

    Args:
        form: the form's fields.

    Raises:
        SpecError: a field cannot be read, with one message per mistake (the
            command line's messages for a bad `--set`).

    Example:
        >>> raw_from_form(form_from_raw(read_spec_file("shapes_cnn")))["fit"]["epochs"]
        10
    """
    from experiments.spec import SpecError, apply_overrides

    raw = copy.deepcopy(form.base)
    overrides: dict[str, str] = {}
    problems: list[str] = []

    experiment = _section(raw, "experiment")
    experiment["name"] = form.name.strip()
    raw["experiment"] = experiment

    raw["data"] = _rebuild(
        _section(raw, "data"), form.data, "data.", "data", {}, overrides, problems
    )
    overrides["data.name"] = form.dataset.strip()

    if form.layers is not None:
        model = _section(raw, "model")
        layers = []
        for i, row in enumerate(form.layers):
            where = f"model.layers[{i}]"
            fixed = {"type": row.type}
            prefix = f"{where}."
            layers.append(
                _rebuild(row.original, row.arguments, prefix, where, fixed, overrides, problems)
            )
        model["layers"] = layers
        raw["model"] = model

    compile_table = _section(raw, "compile")
    old_optimizer = _table(compile_table.get("optimizer"))
    if form.optimizer.strip() or form.learning_rate.strip() or form.optimizer_arguments.strip():
        fixed = {"type": form.optimizer.strip()}
        optimizer = _rebuild(
            old_optimizer,
            form.optimizer_arguments,
            "compile.optimizer.",
            "compile.optimizer",
            {**fixed, "learning_rate": None},
            overrides,
            problems,
        )
        optimizer.pop("learning_rate")
        if form.learning_rate.strip():
            optimizer["learning_rate"] = old_optimizer.get("learning_rate")
            overrides["compile.optimizer.learning_rate"] = form.learning_rate.strip()
        compile_table["optimizer"] = optimizer
    else:
        compile_table.pop("optimizer", None)
    if form.loss_arguments.strip():
        compile_table["loss"] = _rebuild(
            _table(compile_table.get("loss")),
            form.loss_arguments,
            "compile.loss.",
            "compile.loss",
            {"type": form.loss.strip()},
            overrides,
            problems,
        )
    elif form.loss.strip():
        compile_table["loss"] = form.loss.strip()
    else:
        compile_table.pop("loss", None)
    compile_table["metrics"] = [parse_value(item) for item in split_items(form.metrics)]
    raw["compile"] = compile_table

    fit = _section(raw, "fit")
    for key in ("epochs", "batch_size", "seed"):
        text = getattr(form, key).strip()
        if text:
            overrides[f"fit.{key}"] = text
        else:
            fit.pop(key, None)
    raw["fit"] = fit

    method = form.sweep_method.strip()
    if not method:
        raw.pop("sweep", None)
    else:
        sweep = _section(raw, "sweep")
        sweep["method"] = method
        sweep.pop("max_runs", None)
        if form.sweep_max_runs.strip():
            overrides["sweep.max_runs"] = form.sweep_max_runs.strip()
        try:
            pairs = parse_pairs(form.sweep_values, "sweep.parameters")
        except ValueError as err:
            problems.append(str(err))
            pairs = []
        sweep["parameters"] = {key: parse_value(value) for key, value in pairs}
        raw["sweep"] = sweep

    if problems:
        raise SpecError(problems)
    return apply_overrides(raw, overrides)
