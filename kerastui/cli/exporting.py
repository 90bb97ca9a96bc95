"""Getting results out: `export`, `export-history`, `export-model`, `bundle` and `import`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from experiments.export import bundle_run, export_history, export_model, export_runs, import_run
from kerastui.cli.errors import CliError
from kerastui.cli.inspection import RunArg
from kerastui.cli.output import console
from kerastui.cli.state import get_store

RunsArg = Annotated[list[str], typer.Argument(metavar="RUN...", help="Run ids or names.")]


class Format(StrEnum):
    """The table formats of `kerastui export`."""

    csv = "csv"
    json = "json"
    md = "md"


def _output(help_text: str) -> object:
    return typer.Option("--output", "-o", help=help_text, dir_okay=False)


def export(
    ctx: typer.Context,
    runs: RunsArg,
    output: Annotated[Path, _output("The file to write.")],
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="csv, json or md (a Markdown table).")
    ] = Format.csv,
) -> None:
    """Export runs (params, final and best metrics) to a CSV, JSON or Markdown table."""
    path = export_runs(get_store(ctx), runs, fmt.value, output)
    console.print(f"wrote {len(runs)} run(s) to {path}")


def export_history_command(
    ctx: typer.Context,
    runs: RunsArg,
    output: Annotated[Path, _output("The CSV file to write.")],
) -> None:
    """Export runs' per-epoch metric histories as long-form CSV."""
    path = export_history(get_store(ctx), runs, output)
    console.print(f"wrote the histories of {len(runs)} run(s) to {path}")


def export_model_command(
    ctx: typer.Context,
    run_ref: RunArg,
    output: Annotated[Path, _output("A .keras file (or .npz for the weights alone).")],
    best: Annotated[bool, typer.Option("--best", help="The best checkpoint's weights.")] = False,
    epoch: Annotated[int | None, typer.Option(min=1, help="The weights after this epoch.")] = None,
) -> None:
    """Export a run's model (last checkpoint unless --best or --epoch) to .keras or .npz."""
    if best and epoch is not None:
        raise CliError("give --best or --epoch N, not both")
    path = export_model(get_store(ctx), run_ref, output, best=best, epoch=epoch)
    which = "best" if best else f"epoch {epoch}" if epoch is not None else "last"
    console.print(f"wrote the {which} model of run {run_ref} to {path}")


def bundle(
    ctx: typer.Context,
    run_ref: RunArg,
    output: Annotated[Path, _output("The bundle file to write.")],
) -> None:
    """Write a run with everything recorded about it to one file, for `kerastui import`."""
    path = bundle_run(get_store(ctx), run_ref, output)
    console.print(f"wrote run {run_ref} to {path}")


def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A bundle written by `kerastui bundle`.")],
) -> None:
    """Import a run bundle into this database (under a new id)."""
    store = get_store(ctx)
    run = store.get_run(import_run(store, file))
    console.print(f"imported run {run.id} {run.name} ({run.experiment})")


def register(app: typer.Typer) -> None:
    """Add the export commands to the app."""
    app.command("export")(export)
    app.command("export-history")(export_history_command)
    app.command("export-model")(export_model_command)
    app.command("bundle")(bundle)
    app.command("import")(import_command)
