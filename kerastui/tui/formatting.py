"""Plain functions turning store records into table cells (no Textual, no database)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.text import Text

from experiments import clock

STATUS_STYLES = {
    "queued": "yellow",
    "running": "bold cyan",
    "completed": "green",
    "failed": "bold red",
    "cancelled": "magenta",
    "interrupted": "dark_orange",
}

METRIC_COLUMNS = ("loss", "val_loss", "accuracy", "val_accuracy")

COLUMNS = (
    ("id", "id"),
    ("name", "name"),
    ("experiment", "experiment"),
    ("status", "status"),
    ("progress", "progress"),
    ("loss", "loss"),
    ("val_loss", "val_loss"),
    ("accuracy", "acc"),
    ("val_accuracy", "val_acc"),
    ("duration", "duration"),
    ("started", "started"),
)


def status_text(status: str) -> Text:
    """The status word in its colour."""
    return Text(status, style=STATUS_STYLES.get(status, ""))


def progress_text(run: Any) -> str:
    """`epochs done/total`, with a small bar while the run trains."""
    total = run.epochs_total
    if not total:
        return f"{run.epochs_done}/?"
    label = f"{run.epochs_done}/{total}"
    if run.status != "running":
        return label
    fraction = run.epochs_done / total
    if run.batches_per_epoch:
        fraction += min(run.current_batch / run.batches_per_epoch, 1.0) / total
    filled = round(min(fraction, 1.0) * 5)
    return "█" * filled + "░" * (5 - filled) + " " + label


def metric_text(value: float | None) -> str:
    """A metric value with four significant digits, or a dash."""
    return "-" if value is None else f"{value:.4g}"


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def duration_seconds(run: Any, now: dt.datetime | None = None) -> float | None:
    """Seconds from start to finish (to now while it runs), or None before it starts."""
    if run.started_at is None:
        return None
    end = run.finished_at or now or clock.now()
    return max((_aware(end) - _aware(run.started_at)).total_seconds(), 0.0)


def duration_text(seconds: float | None) -> str:
    """`1h02m`, `3m05s` or `12.3s`; a dash when unknown."""
    if seconds is None:
        return "-"
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
    if seconds >= 60:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{seconds:.1f}s"


def started_text(run: Any) -> str:
    """When the run started (or was created, when still queued), in local time (`clock.local`)."""
    moment = run.started_at or run.created_at
    if moment is None:
        return "-"
    return clock.local(moment).strftime("%m-%d %H:%M")


def final_values(summaries: dict[str, Any]) -> dict[str, float | None]:
    """The final value of each dashboard metric from a run's summaries."""
    return {
        key: (summaries[key].final_value if key in summaries else None) for key in METRIC_COLUMNS
    }


def run_cells(run: Any, summaries: dict[str, Any]) -> tuple[Any, ...]:
    """One dashboard row, in the order of `COLUMNS`."""
    finals = final_values(summaries)
    return (
        str(run.id),
        run.name,
        run.experiment,
        status_text(run.status),
        progress_text(run),
        *(metric_text(finals[key]) for key in METRIC_COLUMNS),
        duration_text(duration_seconds(run)),
        started_text(run),
    )


def sort_values(run: Any, summaries: dict[str, Any]) -> dict[str, Any]:
    """The raw value of every column, to sort rows by (None where missing)."""
    finals = final_values(summaries)
    started = run.started_at or run.created_at
    return {
        "id": run.id,
        "name": run.name,
        "experiment": run.experiment,
        "status": run.status,
        "progress": run.epochs_done,
        **finals,
        "duration": duration_seconds(run),
        "started": _aware(started).timestamp() if started else None,
    }
