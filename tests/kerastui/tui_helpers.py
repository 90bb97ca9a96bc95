"""Helpers of the dashboard pilot tests: a temporary store, and waiting for the app."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from engine.callbacks import Callback
from experiments.runner import execute_run
from experiments.store import Store, forget_stores, open_store
from experiments.submit import submit
from kerastui.tui.formatting import COLUMNS
from tests.experiments.spec_helpers import mlp_raw

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


class HoldAtEpoch(Callback):
    """Holds training at the start of one epoch (0-based) until the test releases it.

    A short run can finish between two refresh ticks on a fast machine; holding
    it makes "the screen saw it running with a partial curve" a deterministic
    observation instead of a race.
    """

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch
        self.reached = threading.Event()
        self.release = threading.Event()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if epoch == self.epoch:
            self.reached.set()
            self.release.wait(timeout=60)


class HeldRun:
    """Runs one queued run on a thread, as the worker would, held at the start of an epoch.

    `with HeldRun(run_id, store, epoch) as hold:` starts it and waits inside the
    block as the test likes (`hold.reached` is set once training is held);
    leaving the block releases it, and `join()` waits for the run to end.
    """

    def __init__(self, run_id: int, store: Store, epoch: int) -> None:
        self.hold = HoldAtEpoch(epoch)
        self.reached = self.hold.reached
        self.thread = threading.Thread(
            target=execute_run, args=(run_id, store), kwargs={"callbacks": [self.hold]}
        )

    def __enter__(self) -> HeldRun:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.hold.release.set()

    def join(self) -> None:
        self.thread.join()


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


def trained_database(folder: Path, queued: int = 0) -> Path:
    """A database of two completed 3-epoch MLP runs differing in learning rate (ids 1, 2).

    Args:
        folder: where the database file goes.
        queued: how many queued runs of the same spec follow (ids 3, ...).
    """
    path = folder / "tui.db"
    store = open_store(f"sqlite:///{path}")
    for lr in ("0.01", "0.003"):
        run_id = submit(
            mlp_raw(), store, {"compile.optimizer.learning_rate": lr, "fit.epochs": "3"}
        )
        execute_run(run_id, store)
    for _ in range(queued):
        submit(mlp_raw(), store)
    forget_stores()
    return path


def store_from(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A fresh copy of `template`'s database, opened, with `tmp_path` as the working folder."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tui.db"
    path.write_bytes(template.read_bytes())
    yield open_store(f"sqlite:///{path}")
    forget_stores()
