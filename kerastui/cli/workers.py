"""`kerastui worker start | stop | status`: the background workers of this database."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.table import Table

from experiments.worker import Worker, start_detached, stop_workers, worker_log_path
from kerastui.cli.output import console, format_time, print_json
from kerastui.cli.state import get_store, state

app = typer.Typer(help="Start, stop and list background workers.", no_args_is_help=True)


@app.command("start")
def start(
    ctx: typer.Context,
    slots: Annotated[int, typer.Option(min=1, help="How many runs to execute at once.")] = 1,
    detach: Annotated[
        bool, typer.Option("--detach", help="Run in the background (log in data/logs/).")
    ] = False,
) -> None:
    """Start a worker that executes queued runs (in the foreground unless --detach)."""
    url = state(ctx).url
    if detach:
        pid = start_detached(url, slots=slots, idle_timeout=None)
        console.print(f"worker started in the background (pid {pid}); log: {worker_log_path(url)}")
        return
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(message)s"
    )
    console.print(f"worker with {slots} slot(s) on {get_store(ctx).url}; Ctrl-C stops it")
    executed = Worker(url, slots=slots).run()
    console.print(f"worker stopped after {executed} run(s)")


@app.command("stop")
def stop(ctx: typer.Context) -> None:
    """Stop this database's workers on this machine (running epochs are checkpointed)."""
    pids = stop_workers(state(ctx).url)
    console.print(
        f"stopped {len(pids)} worker(s): {', '.join(map(str, pids))}"
        if pids
        else "no worker running"
    )


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the workers that are alive, and the queue."""
    store = get_store(ctx, notice_stale=True)
    workers = store.list_workers(alive_only=True)
    queued = store.queue_length()
    running = store.list_runs(status="running")
    if as_json:
        print_json(
            {
                "workers": [
                    {
                        "id": w.id,
                        "host": w.host,
                        "pid": w.pid,
                        "slots": w.slots,
                        "started_at": w.started_at,
                        "heartbeat_at": w.heartbeat_at,
                    }
                    for w in workers
                ],
                "queued": queued,
                "running": [r.id for r in running],
            }
        )
        return
    if not workers:
        console.print("no worker alive; `kerastui worker start` or `kerastui launch` starts one")
    else:
        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("worker", "pid", "slots", "started", "running"):
            table.add_column(column)
        for w in workers:
            mine = [str(r.id) for r in running if r.worker_id == w.id]
            table.add_row(w.id, str(w.pid), str(w.slots), format_time(w.started_at), " ".join(mine))
        console.print(table)
    console.print(f"{queued} run(s) queued, {len(running)} running")
