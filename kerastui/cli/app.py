"""The `kerastui` Typer app: global options, error handling, and every command registered.

Each command group lives in its own module and registers itself here. User
errors (see `kerastui.cli.errors`) end as one sentence on stderr with exit
code 1; usage errors (a bad option) exit 2, as Click does.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from kerastui import __version__
from kerastui.cli import (
    comparing,
    database,
    datasets,
    exporting,
    inspection,
    managing,
    training,
    workers,
    workspace,
)
from kerastui.cli.errors import describe
from kerastui.cli.output import err_console
from kerastui.cli.state import CliState

DEBUG_VAR = "KERASTUI_DEBUG"


class _ReportingGroup(TyperGroup):
    """Runs a command and turns a user error into a sentence on stderr and exit code 1."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            # Exits, usage errors (exit 2) and aborts keep Typer's own handling.
            raise
        except Exception as exc:
            message = describe(exc)
            if message is None or os.environ.get(DEBUG_VAR):
                raise
            err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
            raise typer.Exit(1) from None


app = typer.Typer(
    name="kerastui",
    cls=_ReportingGroup,
    help="A deep-learning workbench for the terminal: train, track, compare and export runs.",
    no_args_is_help=False,
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kerastui {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="KERASTUI_DB",
            help="Database URL (default sqlite:///data/kerastui.db under the current directory).",
            show_envvar=True,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """A deep-learning workbench for the terminal: train, track, compare and export runs.

    `kerastui` alone opens the dashboard.
    """
    ctx.obj = CliState(db=db)
    if ctx.invoked_subcommand is None:
        workspace.open_dashboard(ctx)


workspace.register(app)
training.register(app)
inspection.register(app)
comparing.register(app)
managing.register(app)
exporting.register(app)
database.register(app)
app.add_typer(workers.app, name="worker", help="Start, stop and list background workers.")
app.add_typer(datasets.app, name="datasets", help="List and download datasets.")
