"""`kerastui compare RUN RUN ...`: differing params, metrics side by side, overlaid curves."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from experiments.compare import Comparison, compare_runs
from kerastui.cli.charts import block_chart
from kerastui.cli.output import console, format_duration, format_value, print_json
from kerastui.cli.state import get_store


def _metric_table(comparison: Comparison) -> Table:
    table = Table(title="metrics (final / best @ epoch)", title_justify="left", box=None)
    table.add_column("metric", style="bold")
    for run in comparison.runs:
        table.add_column(f"{run.id} {run.name}", justify="right")
    for key, per_run in comparison.metrics.items():
        best = comparison.best_run.get(key)
        cells = []
        for run in comparison.runs:
            values = per_run.get(run.id)
            if values is None:
                cells.append("-")
                continue
            text = (
                f"{format_value(values['final'])} / {format_value(values['best'])}"
                f" @ {format_value(values['best_epoch'])}"
            )
            cells.append(f"[bold green]{text}[/]" if run.id == best else text)
        table.add_row(f"{key} ({comparison.directions.get(key, '?')})", *cells)
    return table


def render(comparison: Comparison) -> None:
    """Print a comparison: runs, differing params, metrics (best in green), curves."""
    runs = Table(title="runs", title_justify="left", box=None, header_style="bold")
    for column in ("id", "name", "experiment", "status", "epochs", "duration"):
        runs.add_column(column)
    for run in comparison.runs:
        runs.add_row(
            str(run.id),
            run.name,
            run.experiment,
            run.status,
            str(run.epochs_done),
            format_duration(comparison.durations.get(run.id)),
        )
    console.print(runs)
    params = Table(
        title=f"params that differ ({comparison.same_params} shared)",
        title_justify="left",
        box=None,
        header_style="bold",
    )
    params.add_column("param")
    for run in comparison.runs:
        params.add_column(str(run.id), justify="right")
    for key, values in comparison.params.items():
        params.add_row(key, *(format_value(values.get(r.id)) for r in comparison.runs))
    console.print(params)
    console.print(_metric_table(comparison))
    for key, aligned in comparison.histories.items():
        if key != "loss" and key != "val_loss" and "acc" not in key:
            continue
        series = {f"{r.id} {r.name}": aligned.get(r.id, []) for r in comparison.runs}
        console.print(block_chart(key, series, height=5, width=72))


def compare(
    ctx: typer.Context,
    runs: Annotated[
        list[str], typer.Argument(metavar="RUN...", help="Two or more run ids or names.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for programs.")] = False,
) -> None:
    """Compare runs: differing params, metrics side by side (best highlighted), curves."""
    comparison = compare_runs(get_store(ctx, notice_stale=True), runs)
    if as_json:
        print_json(comparison.to_dict())
        return
    render(comparison)


def register(app: typer.Typer) -> None:
    """Add `compare` to the app."""
    app.command("compare")(compare)
