"""Looking at runs: `runs` (the table), `show`, `watch` (live) and `logs`."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from experiments.store import RunRecord, Store
from kerastui.cli.charts import block_chart, sparkline
from kerastui.cli.errors import CliError
from kerastui.cli.output import (
    console,
    format_duration,
    format_time,
    format_value,
    print_json,
    styled_status,
)
from kerastui.cli.records import main_metric_keys, run_detail, run_summaries
from kerastui.cli.state import get_store

RunArg = Annotated[str, typer.Argument(metavar="RUN", help="The run's id or name.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for programs.")]
STATUSES = ("queued", "running", "completed", "failed", "cancelled", "interrupted")


def progress_text(run: RunRecord) -> str:
    """`3/10 epochs` (and the batch of the running epoch).

    Args:
        run: the run.
    """
    total = run.epochs_total if run.epochs_total is not None else "?"
    text = f"{run.epochs_done}/{total}"
    if run.status == "running" and run.batches_per_epoch:
        text += f" ({run.current_batch}/{run.batches_per_epoch})"
    return text


def runs_table(store: Store, runs: list[RunRecord]) -> Table:
    """The run table: id, name, experiment, status, progress, main final metrics, duration.

    Args:
        store: the tracking store.
        runs: the runs to list.
    """
    summaries = store.summaries_for([r.id for r in runs])
    keys = sorted({k for s in summaries.values() for k in s})
    shown = main_metric_keys(keys)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("id", "name", "experiment", "status", "epochs", *shown, "duration"):
        table.add_column(column, justify="right" if column in ("id", *shown) else "left")
    for run in runs:
        values = summaries.get(run.id, {})
        table.add_row(
            str(run.id),
            run.name,
            run.experiment,
            styled_status(run.status),
            progress_text(run),
            *(format_value(values[k].final_value) if k in values else "-" for k in shown),
            format_duration(run.duration),
        )
    return table


def list_runs(
    ctx: typer.Context,
    experiment: Annotated[str | None, typer.Option(help="Only this experiment's runs.")] = None,
    status: Annotated[
        str | None, typer.Option(help=f"Only runs in this status ({', '.join(STATUSES)}).")
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(
            help="A filter such as 'metrics.val_accuracy > 0.9 and status = \"completed\"'."
        ),
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            help="Sort by a field, param or metric; - first for descending (-metrics.val_loss)."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many runs.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List runs: id, name, experiment, status, progress, main metrics, duration."""
    if status is not None and status not in STATUSES:
        raise CliError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
    store = get_store(ctx, notice_stale=True)
    runs = select_runs(store, experiment, status, where, sort, limit)
    if as_json:
        print_json(run_summaries(store, runs))
        return
    if not runs:
        console.print("no runs yet; start one with `kerastui run shapes_cnn` or `kerastui launch`")
        return
    console.print(runs_table(store, runs))


def select_runs(
    store: Store,
    experiment: str | None,
    status: str | None,
    where: str | None,
    sort: str | None,
    limit: int | None,
) -> list[RunRecord]:
    """The runs matching the `runs` command's options, in its order.

    Args:
        store: the tracking store.
        experiment: only this experiment's runs.
        status: only runs in this status.
        where: a filter expression (`experiments.filters.parse_filter`).
        sort: sort keys (`experiments.filters.parse_sort`), `-` first for descending.
        limit: at most this many runs.
    """
    condition = None
    order: list[Any] = []
    if where or sort:
        from experiments.filters import parse_filter, parse_sort

        if where:
            condition = parse_filter(where)
        if sort:
            order = parse_sort(sort)
    return store.list_runs(
        experiment=experiment, status=status, where=condition, order_by=order, limit=limit
    )


def _history_table(history: list[dict[str, Any]]) -> Table:
    keys = sorted({k for row in history for k in row if k != "epoch"})
    table = Table(title="history", title_justify="left", box=None, header_style="bold")
    table.add_column("epoch", justify="right")
    for key in keys:
        table.add_column(key, justify="right")
    for row in history:
        table.add_row(str(row["epoch"]), *(format_value(row.get(k)) for k in keys))
    return table


def _charts(history: list[dict[str, Any]]) -> list[Text]:
    keys = sorted({k for row in history for k in row if k != "epoch"})
    charts = []
    for base in [k for k in keys if not k.startswith("val_")]:
        if base != "loss" and "acc" not in base:
            continue
        series = {base: [row.get(base) for row in history]}
        if f"val_{base}" in keys:
            series[f"val_{base}"] = [row.get(f"val_{base}") for row in history]
        charts.append(block_chart(base, series, height=5, width=60))
    return charts


def show(ctx: typer.Context, run_ref: RunArg, as_json: JsonOption = False) -> None:
    """Show a run: spec, params, metrics, per-epoch history, charts, checkpoints, errors."""
    store = get_store(ctx, notice_stale=True)
    detail = run_detail(store, store.resolve_run(run_ref))
    if as_json:
        print_json(detail)
        return
    run = store.get_run(detail["id"])
    console.print(
        f"[bold]run {run.id}[/] {run.name}  experiment [bold]{run.experiment}[/]  "
        f"{styled_status(run.status)}  epochs {progress_text(run)}  "
        f"attempt {run.attempt}  duration {format_duration(run.duration)}"
    )
    console.print(
        f"created {format_time(run.created_at)}  started {format_time(run.started_at)}  "
        f"finished {format_time(run.finished_at)}  worker {run.worker_id or '-'}"
        + (f"  rerun of {run.parent_run_id}" if run.parent_run_id else "")
        + (f"  sweep {run.sweep_id}" if run.sweep_id else "")
    )
    if detail["tags"]:
        console.print("tags: " + ", ".join(f"{k}={v}" for k, v in detail["tags"].items()))
    if run.error:
        console.print(f"[red]error:[/] {run.error}", markup=True, highlight=False)
    params = Table(title="params", title_justify="left", box=None, header_style="bold")
    params.add_column("param")
    params.add_column("value")
    for key, value in detail["params"].items():
        params.add_row(key, format_value(value))
    console.print(params)
    metrics = detail["metrics"]
    if metrics["final"]:
        table = Table(title="metrics", title_justify="left", box=None, header_style="bold")
        for column in ("metric", "final", "best", "best epoch"):
            table.add_column(column, justify="left" if column == "metric" else "right")
        for key, final in metrics["final"].items():
            table.add_row(
                key,
                format_value(final),
                format_value(metrics["best"][key]),
                format_value(metrics["best_epoch"][key]),
            )
        console.print(table)
    if detail["history"]:
        console.print(_history_table(detail["history"]))
        for chart in _charts(detail["history"]):
            console.print(chart)
    if detail["checkpoints"]:
        table = Table(title="checkpoints", title_justify="left", box=None, header_style="bold")
        for column in ("id", "epoch", "step", "size", "best", "last", "monitor"):
            table.add_column(column)
        for c in detail["checkpoints"]:
            monitor = f"{c['monitor']}={format_value(c['monitor_value'])}" if c["monitor"] else "-"
            table.add_row(
                str(c["id"]),
                str(c["epoch"]),
                str(c["step"]),
                f"{c['size_bytes'] / 1024:.0f} KiB",
                "yes" if c["is_best"] else "",
                "yes" if c["is_last"] else "",
                monitor,
            )
        console.print(table)
    env = detail["environment"] or {}
    if env:
        shown = ", ".join(f"{k}={v}" for k, v in env.items() if not isinstance(v, dict | list))
        console.print(f"[bold]environment[/] {shown}", highlight=False)
    for note in detail["notes"]:
        console.print(f"[bold]note[/] ({format_time(note['created_at'])}): {note['text']}")


def _watch_view(store: Store, run: RunRecord, history: list[dict[str, Any]]) -> Group:
    title = Text.from_markup(
        f"[bold]run {run.id}[/] {run.name} ({run.experiment})  {styled_status(run.status)}  "
        f"epochs {progress_text(run)}  {format_duration(run.duration)}"
    )
    parts: list[Any] = [title]
    fraction = run.progress
    if fraction is not None:
        filled = round(fraction * 40)
        parts.append(Text(f"[{'█' * filled}{'·' * (40 - filled)}] {fraction:6.1%}"))
    if history:
        last = history[-1]
        parts.append(
            Text(
                f"epoch {last['epoch']}: "
                + "  ".join(f"{k} {format_value(v)}" for k, v in last.items() if k != "epoch")
            )
        )
        keys = sorted({k for row in history for k in row if k != "epoch"})
        for key in keys:
            parts.append(Text(f"{key:>14} {sparkline([row.get(key) for row in history])}"))
        parts.extend(_charts(history)[:1])
    return Group(*parts)


def watch(
    ctx: typer.Context,
    run_ref: RunArg,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between refreshes.")] = 1.0,
) -> None:
    """Follow a run live (progress, metrics, curves) until it ends."""
    store = get_store(ctx, notice_stale=True)
    run_id = store.resolve_run(run_ref)
    raise typer.Exit(follow_run(store, run_id, interval))


def follow_run(store: Store, run_id: int, interval: float = 1.0) -> int:
    """Redraw a run's progress until it ends; return 0 when it completed, else 1.

    Args:
        store: the tracking store.
        run_id: the run.
        interval: seconds between refreshes.
    """
    history: list[dict[str, Any]] = []
    by_epoch: dict[int, dict[str, Any]] = {}
    last_id = 0
    last_stale_check = time.monotonic()
    run = store.get_run(run_id)
    with Live(_watch_view(store, run, history), console=console, auto_refresh=False) as live:
        while True:
            for point in store.metrics_since(run_id, last_id, kind="epoch"):
                last_id = point.id
                by_epoch.setdefault(point.epoch, {"epoch": point.epoch})[point.key] = point.value
            history = [by_epoch[e] for e in sorted(by_epoch)]
            run = store.get_run(run_id)
            live.update(_watch_view(store, run, history), refresh=True)
            if run.is_finished:
                break
            if time.monotonic() - last_stale_check > 10:
                store.interrupt_stale_runs()
                last_stale_check = time.monotonic()
            time.sleep(interval)
    if run.error:
        console.print(f"[red]error:[/] {run.error}", highlight=False)
    return 0 if run.status == "completed" else 1


def logs(
    ctx: typer.Context,
    run_ref: RunArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until the run ends.")
    ] = False,
) -> None:
    """Print a run's log lines (with --follow, until the run ends)."""
    store = get_store(ctx, notice_stale=follow)
    run_id = store.resolve_run(run_ref)
    last = 0
    while True:
        # Read the status first: lines written before the run ended are all read below.
        finished = not follow or store.get_run(run_id).is_finished
        for line in store.logs(run_id, after_id=last):
            last = line.id
            console.print(
                f"{format_time(line.created_at)} {line.level:<7} {line.message}",
                markup=False,
                highlight=False,
            )
        if finished:
            break
        time.sleep(1.0)


def register(app: typer.Typer) -> None:
    """Add `runs`, `show`, `watch` and `logs` to the app."""
    app.command("runs")(list_runs)
    app.command("show")(show)
    app.command("watch")(watch)
    app.command("logs")(logs)
