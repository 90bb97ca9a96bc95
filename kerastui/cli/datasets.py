"""`kerastui datasets list | download NAME`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from engine.datasets.download import cache_dir
from experiments.datasets import dataset_info, download_dataset, list_datasets
from kerastui.cli.output import console, print_json

app = typer.Typer(help="List and download datasets.", no_args_is_help=True)


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the datasets specs can use, and whether each is available offline."""
    infos = list_datasets()
    if as_json:
        print_json([vars(d) for d in infos])
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("name", "available", "description"):
        table.add_column(column)
    for d in infos:
        where = "built in" if d.builtin else "downloaded" if d.cached else "[yellow]download[/]"
        table.add_row(d.name, where, d.description)
    console.print(table)
    console.print(f"[dim]data cache: {cache_dir()} (set KERASTUI_DATA_DIR to move it)[/]")


@app.command("download")
def download(name: Annotated[str, typer.Argument(help="The dataset, e.g. mnist.")]) -> None:
    """Download a dataset into the data cache."""
    if dataset_info(name).builtin:
        console.print(f"{name} is built in: nothing to download")
        return
    folder = download_dataset(name)
    console.print(f"{name} is ready in {folder}")
