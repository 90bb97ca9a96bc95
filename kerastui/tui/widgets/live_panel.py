"""The dashboard's live panel: curves of the selected run, polled incrementally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from kerastui.tui.widgets.chart import LineChart, Series

LIVE_KEYS = ("loss", "val_loss", "accuracy", "val_accuracy")


class LivePanel(Vertical):
    """Loss and accuracy per epoch, and the current epoch's batch loss, of one run.

    Each poll asks the store only for metric rows newer than the last one shown
    (`Store.metrics_since`), so a tick costs what the run logged since.

    Args:
        interval: seconds between polls.

    Example:
        >>> panel = LivePanel(interval=1.0)
        >>> panel.follow(12)
    """

    @dataclass
    class Points(Message):
        """New metric rows read for the followed run."""

        run_id: int
        points: list[Any]

    def __init__(self, interval: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.interval = interval
        self.run_id: int | None = None
        self.last_id = 0
        self.epochs: dict[str, dict[int, float | None]] = {}
        self.batch_epoch = 0
        self.batch_loss: list[float | None] = []

    def compose(self) -> ComposeResult:
        yield Static("select a run", id="live-title")
        yield LineChart(title="loss per epoch", id="live-loss")
        yield LineChart(title="accuracy per epoch", id="live-acc")
        yield LineChart(title="batch loss (current epoch)", id="live-batch")

    def on_mount(self) -> None:
        self.set_interval(self.interval, self.poll)

    def follow(self, run_id: int | None, title: str = "") -> None:
        """Show `run_id` from its first point on (nothing when None)."""
        if run_id == self.run_id:
            return
        self.run_id = run_id
        self.last_id = 0
        self.epochs = {}
        self.batch_epoch = 0
        self.batch_loss = []
        if self.is_mounted:
            self.query_one("#live-title", Static).update(title or "select a run")
            self._redraw()
        self.poll()

    def poll(self) -> None:
        """Ask for the rows logged since the last poll (in a thread)."""
        if self.run_id is not None and self.is_mounted:
            self._fetch(self.run_id, self.last_id)

    @work(thread=True, exclusive=True, group="live-panel")
    def _fetch(self, run_id: int, after_id: int) -> None:
        try:
            points = self.app.store.metrics_since(run_id, after_id)  # type: ignore[attr-defined]
        except Exception as err:  # any database failure: tell, keep running
            self.app.call_from_thread(self.app.notify, f"database error: {err}", severity="error")
            return
        if points:
            self.post_message(self.Points(run_id, points))

    def on_live_panel_points(self, message: Points) -> None:
        message.stop()
        if message.run_id != self.run_id:
            return
        for point in message.points:
            if point.id <= self.last_id:
                continue
            self.last_id = point.id
            if point.kind == "epoch":
                self.epochs.setdefault(point.key, {})[point.epoch] = point.value
            elif point.key == "loss":
                if point.epoch != self.batch_epoch:
                    self.batch_epoch, self.batch_loss = point.epoch, []
                self.batch_loss.append(point.value)
        self._redraw()

    def curve(self, key: str) -> list[float | None]:
        """The values shown for `key`, one per epoch."""
        by_epoch = self.epochs.get(key, {})
        return [by_epoch[e] for e in sorted(by_epoch)]

    def _redraw(self) -> None:
        charts = {
            "#live-loss": ("loss", "val_loss"),
            "#live-acc": ("accuracy", "val_accuracy"),
        }
        for selector, keys in charts.items():
            self.query_one(selector, LineChart).set_series(
                [Series(k, self.curve(k)) for k in keys if k in self.epochs]
            )
        batch = [Series(f"loss e{self.batch_epoch}", self.batch_loss)] if self.batch_loss else []
        self.query_one("#live-batch", LineChart).set_series(batch)
