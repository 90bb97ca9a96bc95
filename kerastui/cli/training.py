"""`kerastui run` (train in the foreground) and `kerastui launch` (queue for a worker)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from experiments.liveness import keep_alive
from experiments.runner import default_worker_id, execute_run
from experiments.spec import load_spec, parse_overrides
from experiments.store import Store
from experiments.submit import submit
from experiments.worker import ensure_worker
from kerastui.cli.errors import CliError
from kerastui.cli.inspection import follow_run
from kerastui.cli.output import console, err_console, format_duration, format_value, print_json
from kerastui.cli.progress import RunProgress
from kerastui.cli.state import get_store, state

SpecArg = Annotated[
    str, typer.Argument(help="A spec file (.toml) or an example's name, such as shapes_cnn.")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help="Override a spec value by dotted path, e.g. --set fit.epochs=3 (repeatable).",
    ),
]


def overrides_from(items: list[str] | None) -> dict[str, str]:
    """The `--set KEY=VALUE` options as a dict (SpecError on a malformed one).

    Args:
        items: the option's values.
    """
    return parse_overrides(items or [])


def run_foreground(store: Store, run_id: int) -> int:
    """Train a queued run here with a progress display; return the exit code.

    Ctrl-C stops it cleanly: the runner saves a checkpoint and records the run
    as cancelled, and `kerastui resume` continues it.

    Args:
        store: the tracking store.
        run_id: the queued run.
    """
    worker_id = default_worker_id()
    # Claim it at once: a background worker of this database polls the queue too.
    run = store.claim_run(run_id, worker_id)
    if run is None:
        console.print(f"run {run_id} was taken by a background worker; following it there")
        return follow_run(store, run_id)
    console.print(
        f"[bold]run {run.id}[/] {run.name} ({run.experiment}): "
        f"{run.epochs_total} epoch(s), recorded in {store.url}"
    )
    progress = RunProgress(console)
    try:
        with keep_alive(store, run_id):
            record = execute_run(
                run_id, store, worker_id=worker_id, callbacks=[progress], verbose=0
            )
    except KeyboardInterrupt:
        progress.close()
        err_console.print(
            f"run {run.id} cancelled with a checkpoint; continue it with "
            f"`kerastui resume {run.id}`."
        )
        return 130
    finally:
        progress.close()
    summaries = store.metric_summaries(run_id)
    finals = "  ".join(f"{k} {format_value(s.final_value)}" for k, s in summaries.items())
    took = format_duration(record.duration)
    if record.status == "completed":
        console.print(f"[green]completed[/] in {took}: {finals}")
        console.print(f"details: kerastui show {record.id}")
        return 0
    err_console.print(f"[red]run {record.id} {record.status}:[/] {record.error or 'no error'}")
    return 1


def run(
    ctx: typer.Context,
    spec: SpecArg,
    set_: SetOption = None,
) -> None:
    """Train a spec in the foreground with progress bars, recorded like any run."""
    overrides = overrides_from(set_)
    validated = load_spec(spec, overrides)
    if validated.sweep is not None:
        raise CliError(f"{spec} defines a [sweep]; queue its trials with `kerastui launch {spec}`")
    store = get_store(ctx)
    run_id = submit(validated, store)
    raise typer.Exit(run_foreground(store, run_id))


def queue_spec(store: Store, spec: str, overrides: dict[str, Any], priority: int) -> list[int]:
    """Queue a spec's run, or every trial of its `[sweep]`; return the run ids.

    Args:
        store: the tracking store.
        spec: a spec file or an example's name.
        overrides: dotted paths to values.
        priority: larger runs first.
    """
    validated = load_spec(spec, overrides)
    if validated.sweep is not None:
        from experiments.sweeps import launch as launch_sweep

        return list(launch_sweep(spec, store, overrides, priority=priority))
    return [submit(validated, store, priority=priority)]


def start_worker_if_needed(ctx: typer.Context, quiet: bool = False) -> None:
    """Start a background worker for this database unless one is alive.

    Args:
        ctx: the command's context.
        quiet: say nothing (JSON output).
    """
    pid = ensure_worker(state(ctx).url)
    if pid is not None and not quiet:
        err_console.print(f"started a background worker (pid {pid})")


def launch(
    ctx: typer.Context,
    spec: SpecArg,
    set_: SetOption = None,
    priority: Annotated[int, typer.Option(help="Larger runs first; equal ones in order.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of run ids.")] = False,
) -> None:
    """Queue a spec (every trial of a sweep) for a background worker; print the run ids."""
    store = get_store(ctx)
    ids = queue_spec(store, spec, overrides_from(set_), priority)
    start_worker_if_needed(ctx, quiet=as_json)
    if as_json:
        print_json(ids)
        return
    for run_id in ids:
        run = store.get_run(run_id)
        console.print(f"queued run {run.id} {run.name} ({run.experiment})")
    console.print(f"follow with: kerastui watch {ids[-1]}" if ids else "nothing queued")


def register(app: typer.Typer) -> None:
    """Add `run` and `launch` to the app."""
    app.command("run")(run)
    app.command("launch")(launch)
