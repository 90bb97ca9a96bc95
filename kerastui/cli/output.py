"""Consoles and the small formatting rules every command shares."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from typing import Any

from rich.console import Console

# Output that is not a terminal (a pipe, a log file, a test) is not cut to 80 columns.
_PIPE_WIDTH = None if sys.stdout.isatty() else 160
console = Console(highlight=False, soft_wrap=True, width=_PIPE_WIDTH)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """Print data as JSON on stdout (dates as ISO 8601, NaN as null), for programs."""
    console.out(json.dumps(jsonable(data), indent=2, sort_keys=False), highlight=False)


def jsonable(value: Any) -> Any:
    """Plain JSON data: datetimes to ISO strings, non-finite floats to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def format_value(value: Any) -> str:
    """A metric or param for a table cell: floats to 4 significant decimals, None to a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3e}"
        return f"{value:.4f}"
    return str(value)


def format_duration(delta: dt.timedelta | float | None) -> str:
    """`1h02m`, `3m05s`, `12.3s`, or a dash when unknown."""
    if delta is None:
        return "-"
    seconds = delta.total_seconds() if isinstance(delta, dt.timedelta) else float(delta)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_time(moment: dt.datetime | None) -> str:
    """A stored (UTC) time in the local time zone, to the second."""
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


STATUS_STYLES = {
    "queued": "cyan",
    "running": "bold yellow",
    "completed": "green",
    "failed": "bold red",
    "cancelled": "magenta",
    "interrupted": "red",
}


def styled_status(status: str) -> str:
    """The status with its colour markup."""
    return f"[{STATUS_STYLES.get(status, 'white')}]{status}[/]"
