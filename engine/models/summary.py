"""`Model.summary()`: the Keras-style table of layers, shapes and parameter counts."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text


def _shape_str(layer: Any) -> str:
    try:
        shape = layer.output_shape
    except (AttributeError, ValueError):
        return "?"
    return (
        str(tuple(shape))
        if not isinstance(shape, list)
        else ", ".join(str(tuple(s)) for s in shape)
    )


def _param_str(layer: Any) -> str:
    return f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"


def _count(weights: list[Any]) -> int:
    return int(sum(w.size for w in weights))


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.2f} GB"


def summary_table(model: Any, show_trainable: bool = False) -> Table:
    """Build the summary as a Rich table (rows: layer, output shape, params)."""
    from engine.layers.core.input_layer import InputLayer
    from engine.models.functional import Functional

    table = Table(title=f'Model: "{model.name}"', title_justify="left", show_lines=False)
    table.add_column("Layer (type)", no_wrap=True)
    table.add_column("Output Shape")
    table.add_column("Param #", justify="right")
    connected = isinstance(model, Functional) and any(
        len(node.input_tensors) > 1 for layer in model.layers for node in layer._inbound_nodes
    )
    if connected:
        table.add_column("Connected to")
    if show_trainable:
        table.add_column("Trainable")
    for layer in model.layers:
        row = [f"{layer.name} ({type(layer).__name__})", _shape_str(layer), _param_str(layer)]
        if connected:
            sources = []
            for node in layer._inbound_nodes:
                for t in node.input_tensors:
                    src, idx, ti = t._keras_history
                    sources.append(f"{src.name}[{idx}][{ti}]")
            row.append("\n".join(sources) if not isinstance(layer, InputLayer) else "-")
        if show_trainable:
            row.append("Y" if layer.trainable else "N")
        table.add_row(*row)
    return table


def summary_totals(model: Any) -> list[str]:
    """The lines under the table: total, trainable and non-trainable parameters."""
    if not model.built:
        return ["Total params: 0 (unbuilt)"]
    weights = model.weights
    trainable = _count(model.trainable_weights)
    total = _count(weights)
    nbytes = int(sum(w.value.nbytes for w in weights))
    lines = [
        f"Total params: {total:,} ({_human_bytes(nbytes)})",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
    ]
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        lines.append(f"Optimizer params: {_count(optimizer.variables):,}")
    return lines


def print_summary(
    model: Any,
    line_length: int | None = None,
    print_fn: Callable[[str], Any] | None = None,
    show_trainable: bool = False,
) -> None:
    """Print the summary to the terminal, or pass it line by line to `print_fn`."""
    table = summary_table(model, show_trainable=show_trainable)
    totals = summary_totals(model)
    if print_fn is None:
        console = Console(width=line_length) if line_length else Console()
        console.print(table)
        for line in totals:
            console.print(Text(line))
        return
    buffer = io.StringIO()
    console = Console(file=buffer, width=line_length or 100, color_system=None)
    console.print(table)
    for line in totals:
        console.print(line)
    for line in buffer.getvalue().rstrip("\n").split("\n"):
        print_fn(line)
