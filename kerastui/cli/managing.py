"""Acting on runs: `cancel`, `resume`, `rerun`, `delete`, `tag` and `note`."""

from __future__ import annotations

from typing import Annotated

import typer

from experiments.submit import submit
from kerastui.cli.errors import CliError
from kerastui.cli.inspection import RunArg
from kerastui.cli.output import console
from kerastui.cli.state import get_store
from kerastui.cli.training import SetOption, overrides_from, start_worker_if_needed


def cancel(ctx: typer.Context, run_ref: RunArg) -> None:
    """Cancel a queued run, or stop a running one at its next batch (with a checkpoint)."""
    store = get_store(ctx, notice_stale=True)
    run_id = store.resolve_run(run_ref)
    status = store.request_cancel(run_id)
    if status == "cancelled":
        console.print(f"run {run_id} cancelled")
    else:
        console.print(
            f"run {run_id} stops at its next batch; resume it with `kerastui resume {run_id}`"
        )


def resume(
    ctx: typer.Context,
    run_ref: RunArg,
    priority: Annotated[int | None, typer.Option(help="A new priority for the run.")] = None,
) -> None:
    """Queue an interrupted, cancelled or failed run to continue from its last checkpoint."""
    store = get_store(ctx, notice_stale=True)
    run = store.requeue_run(store.resolve_run(run_ref), priority=priority)
    start_worker_if_needed(ctx)
    console.print(f"run {run.id} {run.name} queued to resume (attempt {run.attempt})")


def rerun(
    ctx: typer.Context,
    run_ref: RunArg,
    set_: SetOption = None,
    priority: Annotated[int, typer.Option(help="Larger runs first.")] = 0,
) -> None:
    """Queue a new run from a run's spec (with --set overrides), linked to it."""
    store = get_store(ctx)
    parent = store.get_run(run_ref)
    if parent.spec is None:
        raise CliError(f"run {parent.id} has no stored spec to rerun")
    run_id = submit(
        parent.spec, store, overrides_from(set_), priority=priority, parent_run_id=parent.id
    )
    start_worker_if_needed(ctx)
    run = store.get_run(run_id)
    console.print(f"queued run {run.id} {run.name}, a rerun of {parent.id}")


def delete(
    ctx: typer.Context,
    run_ref: RunArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a run and everything recorded about it."""
    store = get_store(ctx, notice_stale=True)
    run = store.get_run(run_ref)
    if not yes and not typer.confirm(
        f"Delete run {run.id} {run.name} and all its metrics and checkpoints?"
    ):
        raise CliError("nothing deleted; pass --yes to delete without a question")
    store.delete_run(run.id)
    console.print(f"deleted run {run.id} {run.name}")


def tag(
    ctx: typer.Context,
    run_ref: RunArg,
    pair: Annotated[str, typer.Argument(metavar="KEY=VALUE", help="The tag, e.g. stage=final.")],
) -> None:
    """Tag a run with KEY=VALUE (a bare KEY tags it with an empty value)."""
    key, _, value = pair.partition("=")
    if not key.strip():
        raise CliError(f"tag {pair!r} has no key; write KEY=VALUE, such as stage=final")
    store = get_store(ctx)
    run_id = store.resolve_run(run_ref)
    store.set_tag(run_id, key.strip(), value.strip())
    console.print(f"run {run_id} tagged {key.strip()}={value.strip()}")


def note(
    ctx: typer.Context,
    run_ref: RunArg,
    text: Annotated[str, typer.Argument(help="The note's text.")],
) -> None:
    """Add a note to a run."""
    if not text.strip():
        raise CliError("the note is empty; give its text, such as 'lr too high'")
    store = get_store(ctx)
    run_id = store.resolve_run(run_ref)
    store.add_note(run_id, text.strip())
    console.print(f"note added to run {run_id}")


def register(app: typer.Typer) -> None:
    """Add `cancel`, `resume`, `rerun`, `delete`, `tag` and `note` to the app."""
    for name, command in (
        ("cancel", cancel),
        ("resume", resume),
        ("rerun", rerun),
        ("delete", delete),
        ("tag", tag),
        ("note", note),
    ):
        app.command(name)(command)
