"""`kerastui sql` (read-only queries) and `kerastui db info` / `db upgrade`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from experiments.store import get_engine, upgrade_schema
from kerastui.cli.output import console, format_value, print_json
from kerastui.cli.state import get_store, state

db_app = typer.Typer(help="Inspect and upgrade the tracking database.", no_args_is_help=True)


def sql(
    ctx: typer.Context,
    query: Annotated[
        str,
        typer.Argument(
            metavar="SQL", help="One read-only statement, e.g. SELECT * FROM run_overview."
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of row objects.")
    ] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Print at most this many rows.")] = None,
) -> None:
    """Run a read-only SQL query (views run_overview, metric_history, run_params)."""
    columns, rows = get_store(ctx).query_readonly(query, max_rows=limit)
    if as_json:
        print_json([dict(zip(columns, row)) for row in rows])
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(format_value(v) for v in row))
    console.print(table)
    console.print(f"[dim]{len(rows)} row(s)[/]")


@db_app.command("info")
def info(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the database URL, backend, schema revision and row counts."""
    details = get_store(ctx).info()
    if as_json:
        print_json(details)
        return
    console.print(f"url       {details['url']}", highlight=False)
    console.print(f"backend   {details['backend']}")
    console.print(f"revision  {details['revision']} (newest {details['head']})")
    for table, count in details["counts"].items():
        console.print(f"{table:<10}{count}")


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Apply pending schema migrations."""
    migrated = upgrade_schema(get_engine(state(ctx).url))
    revision = get_store(ctx).info()["revision"]
    console.print(
        f"migrated to revision {revision}" if migrated else f"already at revision {revision}"
    )


def register(app: typer.Typer) -> None:
    """Add `sql` and the `db` group to the app."""
    app.command("sql")(sql)
    app.add_typer(db_app, name="db", help="Inspect and upgrade the tracking database.")
