"""Helpers of the dashboard pilot tests: a temporary store, and waiting for the app."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable

from kerastui.tui.formatting import COLUMNS

STATUS_COLUMN = [key for key, _ in COLUMNS].index("status")


async def wait_for(pilot: Pilot, condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Let the app run until `condition()` is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        await pilot.pause(0.05)
    raise AssertionError(f"condition not met within {timeout} s")


def table_statuses(table: DataTable) -> dict[int, str]:
    """`{run id: status}` as the dashboard table shows it."""
    statuses = {}
    for row_key in table.rows:
        cell = table.get_cell_at((table.get_row_index(row_key), STATUS_COLUMN))
        statuses[int(str(row_key.value))] = str(cell)
    return statuses


def notifications(app: Any) -> list[str]:
    """The text of every notification shown so far."""
    return [n.message for n in app._notifications]


def synchronous(test: Callable[..., Any]) -> Callable[..., Any]:
    """Run an async pilot test in its own event loop (no pytest plugin needed)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(test(*args, **kwargs))

    return run
