"""The workspace commands: `init`, `demo`, and the dashboard (`tui`, or `kerastui` alone)."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from pathlib import Path
from typing import Annotated

import typer

from experiments.datasets import is_offline
from experiments.spec import examples_dir, list_examples, load_spec
from experiments.store import default_url, open_store
from experiments.submit import submit
from kerastui.cli.errors import CliError
from kerastui.cli.inspection import follow_run
from kerastui.cli.output import console
from kerastui.cli.state import get_store, state
from kerastui.cli.training import run_foreground, start_worker_if_needed

# Small enough for the demo to finish in well under two minutes on a laptop.
DEMO_OVERRIDES = {"fit.epochs": "3", "data.limit": "2048", "data.validation_limit": "512"}
DEMO_SPEC = "shapes_cnn"


def init(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Argument(help="The workspace folder (created if missing).")
    ] = Path("."),
) -> None:
    """Make a workspace: experiments/ with the example specs, data/ with the database."""
    specs = directory / "experiments"
    specs.mkdir(parents=True, exist_ok=True)
    (directory / "data").mkdir(parents=True, exist_ok=True)
    copied = []
    for name in list_examples():
        target = specs / f"{name}.toml"
        if not target.exists():
            shutil.copyfile(examples_dir() / f"{name}.toml", target)
            copied.append(name)
    url = state(ctx).db or default_url(directory.resolve())
    store = open_store(url)
    console.print(f"workspace {directory.resolve()}")
    console.print(f"  specs     {specs} ({len(copied)} example(s) copied)")
    console.print(f"  database  {store.url}", highlight=False)
    console.print(f"next: kerastui run {specs / DEMO_SPEC}.toml --set fit.epochs=2")


def dashboard_entry() -> object | None:
    """The dashboard's `run_app(url)`, or None when this installation has no dashboard."""
    if importlib.util.find_spec("kerastui.tui") is None:
        return None
    try:
        module = importlib.import_module("kerastui.tui")
    except ImportError as exc:
        raise CliError(
            f"the dashboard cannot start ({exc}); reinstall kerastui with `pip install -e .`"
        ) from exc
    return getattr(module, "run_app", None)


def open_dashboard(ctx: typer.Context) -> None:
    """Open the dashboard on this invocation's database, or fail with one sentence."""
    run_app = dashboard_entry()
    if run_app is None:
        raise CliError(
            "the dashboard is not available in this version; use `kerastui runs`, "
            "`kerastui watch RUN` and `kerastui --help` for the command line"
        )
    run_app(state(ctx).url)  # type: ignore[operator]


def tui(ctx: typer.Context) -> None:
    """Open the dashboard (the same as `kerastui` alone)."""
    open_dashboard(ctx)


def demo(ctx: typer.Context) -> None:
    """Queue the offline examples and follow them (on a non-terminal: train shapes_cnn here)."""
    store = get_store(ctx)
    if not console.is_terminal:
        run_id = submit(DEMO_SPEC, store, DEMO_OVERRIDES)
        code = run_foreground(store, run_id)
        console.print(
            f"results: run {run_id} in {store.url}; see `kerastui show {run_id}` and "
            "`kerastui runs`"
        )
        raise typer.Exit(code)
    ids = []
    for name in list_examples():
        spec = load_spec(name, DEMO_OVERRIDES)
        if spec.sweep is None and is_offline(spec.data.name):
            ids.append(submit(spec, store))
            console.print(f"queued {name} as run {ids[-1]}")
    start_worker_if_needed(ctx)
    if dashboard_entry() is not None:
        open_dashboard(ctx)
        return
    failures = 0
    for run_id in ids:
        failures += follow_run(store, run_id) != 0
    console.print("all runs done; compare them with `kerastui runs` and `kerastui compare`")
    raise typer.Exit(1 if failures else 0)


def register(app: typer.Typer) -> None:
    """Add `init`, `demo` and `tui` to the app."""
    app.command("init")(init)
    app.command("demo")(demo)
    app.command("tui")(tui)
