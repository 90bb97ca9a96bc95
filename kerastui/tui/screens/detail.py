"""A run's detail: every curve, params, layer norms, checkpoints, logs, error; actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from kerastui.tui.formatting import duration_seconds, duration_text, metric_text, status_text
from kerastui.tui.screens.export import ExportScope, ExportScreen
from kerastui.tui.screens.launch import LaunchScreen
from kerastui.tui.screens.prompt import ConfirmScreen, PromptScreen
from kerastui.tui.widgets import LineChart, Series
from kerastui.tui.widgets.model_summary import ModelSummaryView


@dataclass(frozen=True)
class Seen:
    """What the detail screen shows already: a poll reads only what is newer.

    Args:
        metric_id: the newest epoch metric row shown.
        log_id: the newest log line shown.
        attempt: the run's attempt (a resumed run is read again whole).
        progress: epochs done and status when the layer norms and checkpoints
            were read (they change only at an epoch's end or when the run ends).
    """

    metric_id: int
    log_id: int
    attempt: int
    progress: tuple[int, str]


@dataclass
class RunDetails(Message):
    """What a read of one run found: everything (`full`), or only what is newer than `Seen`.

    None for a part means unchanged since the last read.
    """

    run: Any
    full: bool
    points: list[Any]
    logs: list[Any]
    params: dict[str, Any] | None = None
    layer_stats: list[Any] | None = None
    checkpoints: list[Any] | None = None
    tags: dict[str, str] | None = None
    notes: list[Any] | None = None


class ReadFailed(Message):
    """A read of the run failed (the notification says why)."""


class DetailScreen(Screen):
    """One run: curves for every metric, params, layer norms, checkpoints, logs, error.

    While the run is queued or running the screen polls it; a poll reads only
    the metric rows and log lines newer than those shown, and the layer norms
    and checkpoints only after an epoch ended or the run's status changed.

    Args:
        run_id: the run's id.
        interval: seconds between refreshes while the run is active.

    Example:
        >>> app.push_screen(DetailScreen(12))
    """

    BINDINGS = [
        # Footer order is priority order; the detail screen polls by itself, so
        # Refresh is only on the help screen.
        Binding("escape", "app.pop_screen", "Back"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
        Binding("x", "cancel_run", "Cancel"),
        Binding("R", "resume_run", "Resume", key_display="R"),
        Binding("E", "rerun_with_edits", "Edit+rerun", key_display="E"),
        Binding("e", "export", "Export"),
        Binding("g", "tag", "Tag"),
        Binding("n", "note", "Note"),
        Binding("d", "delete", "Delete"),
        Binding("r", "refresh", "Refresh", show=False),
    ]

    def __init__(self, run_id: int, interval: float = 1.0) -> None:
        super().__init__()
        self.run_id = run_id
        self.interval = interval
        self.run: Any = None
        self.deleted = False
        # Epoch metric values shown, {key: {epoch: value}}, and the newest row's id.
        self.history: dict[str, dict[int, float | None]] = {}
        self.last_metric_id = 0
        self.log_lines: list[str] = []
        self.last_log_id = 0
        self.progress: tuple[int, str] = (0, "")
        self._loading = False
        self._want_full = False

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail"):
            yield Static(f"run {self.run_id}", id="detail-title")
            yield Static("", id="detail-error")
            yield Static("[b]Curves[/b]")
            yield VerticalScroll(id="detail-charts")
            yield Static("[b]Hyperparameters[/b]")
            yield DataTable(id="detail-params", show_cursor=False)
            yield Static("[b]Model[/b] (built from the spec, not trained)")
            yield ModelSummaryView(self.run_id, id="detail-model")
            yield Static(
                "[b]Layer norms per epoch[/b] (gradients shrinking toward 0 vanish; "
                "growing by orders of magnitude, they explode)"
            )
            yield LineChart(
                title="gradient norm per layer (log scale)", log=True, id="detail-grad-norms"
            )
            yield LineChart(title="weight norm per layer", id="detail-weight-norms")
            yield DataTable(id="detail-layers", show_cursor=False)
            yield Static("[b]Checkpoints[/b]")
            yield DataTable(id="detail-checkpoints", show_cursor=False)
            yield Static("[b]Tags and notes[/b]")
            yield Static("", id="detail-notes")
            yield Static("[b]Logs[/b]")
            yield Static("", id="detail-logs")
        yield Footer()

    def on_mount(self) -> None:
        self.load(full=True)
        self.set_interval(self.interval, self._tick)

    def _tick(self) -> None:
        if self.deleted:
            return
        if self.run is not None and self.run.status in ("queued", "running"):
            self.load()

    def action_refresh(self) -> None:
        self.load(full=True)

    def load(self, full: bool = False) -> None:
        """Read the run in a thread: everything, or (a poll) only what is newer than shown.

        One read at a time; a full read asked meanwhile runs after it.
        """
        self._want_full = self._want_full or full or self.run is None
        if self._loading:
            return
        self._loading = True
        seen = None
        if not self._want_full:
            seen = Seen(self.last_metric_id, self.last_log_id, self.run.attempt, self.progress)
        self._want_full = False
        self._read(seen)

    @work(thread=True, group="detail-load")
    def _read(self, seen: Seen | None) -> None:
        """Read the run (all of it when `seen` is None or the run was resumed) and post it."""
        store = self.app.store  # type: ignore[attr-defined]
        try:
            run = store.get_run(self.run_id)
            full = seen is None or seen.attempt != run.attempt
            after = seen if seen is not None and not full else Seen(0, 0, 0, (-1, ""))
            details = RunDetails(
                run=run,
                full=full,
                points=store.metrics_since(self.run_id, after.metric_id, kind="epoch"),
                logs=store.logs(self.run_id, after_id=after.log_id),
            )
            if full:
                details.params = store.run_params(self.run_id)
                details.tags = store.tags(self.run_id)
                details.notes = store.notes(self.run_id)
            if (run.epochs_done, run.status) != after.progress:
                details.layer_stats = store.layer_stats(self.run_id)
                details.checkpoints = store.list_checkpoints(self.run_id)
        except Exception as err:  # a deleted run or a database failure: tell, keep running
            self.app.call_from_thread(self.app.notify, f"database error: {err}", severity="error")
            self.post_message(ReadFailed())
            return
        self.post_message(details)

    def on_read_failed(self, message: ReadFailed) -> None:
        self._loading = False

    def on_run_details(self, message: RunDetails) -> None:
        self._loading = False
        self._apply(message)
        if self._want_full:
            self.load()

    def _apply(self, message: RunDetails) -> None:
        run = self.run = message.run
        if message.full:
            self.history, self.last_metric_id = {}, 0
            self.log_lines, self.last_log_id = [], 0
        for point in message.points:
            if point.id > self.last_metric_id:
                self.last_metric_id = point.id
                self.history.setdefault(point.key, {})[point.epoch] = point.value
        for record in message.logs:
            if record.id > self.last_log_id:
                self.last_log_id = record.id
                self.log_lines.append(f"{record.level:7} {record.message}")
        self.log_lines = self.log_lines[-200:]
        title = Text.assemble(
            (f"#{run.id} {run.name}", "bold"),
            f"  {run.experiment}  ",
            status_text(run.status),
            f"  epoch {run.epochs_done}/{run.epochs_total or '?'}",
            f"  {duration_text(duration_seconds(run))}  attempt {run.attempt}",
        )
        self.query_one("#detail-title", Static).update(title)
        error = ""
        if run.error:
            error = f"[b red]error:[/] {Text(run.error).plain}\n{Text(run.traceback or '').plain}"
        self.query_one("#detail-error", Static).update(Text.from_markup(error) if error else "")
        self._show_charts()
        if message.params is not None:
            self._fill(
                "#detail-params",
                ("param", "value"),
                [(k, str(v)) for k, v in sorted(message.params.items())],
            )
        if message.layer_stats is not None:
            self.progress = (run.epochs_done, run.status)
            self._show_layers(message.layer_stats)
        if message.checkpoints is not None:
            self._fill(
                "#detail-checkpoints",
                ("epoch", "step", "size", "best", "last", "monitor"),
                [
                    (
                        str(c.epoch),
                        str(c.step),
                        f"{c.size_bytes / 1024:.0f} KiB",
                        "yes" if c.is_best else "",
                        "yes" if c.is_last else "",
                        f"{c.monitor or ''} {metric_text(c.monitor_value)}",
                    )
                    for c in message.checkpoints
                ],
            )
        if message.tags is not None and message.notes is not None:
            tags = ", ".join(f"{k}={v}" if v else k for k, v in message.tags.items()) or "no tags"
            notes = "\n".join(f"- {n.text}" for n in message.notes)
            self.query_one("#detail-notes", Static).update(Text(f"{tags}\n{notes}".rstrip()))
        self.query_one("#detail-logs", Static).update(Text("\n".join(self.log_lines) or "no logs"))

    def curve(self, key: str) -> list[float | None]:
        """The values shown for `key`, one per epoch."""
        by_epoch = self.history.get(key, {})
        return [by_epoch[e] for e in sorted(by_epoch)]

    def _show_charts(self) -> None:
        history = self.history
        container = self.query_one("#detail-charts", VerticalScroll)
        keys = sorted(k for k in history if not k.startswith("val_"))
        groups = [[k, f"val_{k}"] for k in keys] + [
            [k] for k in sorted(history) if k.startswith("val_") and k[4:] not in history
        ]
        existing = {chart.id: chart for chart in container.query(LineChart)}
        for group in groups:
            chart_id = f"chart-{group[0]}"
            series = [Series(k, self.curve(k)) for k in group if k in history]
            chart = existing.get(chart_id)
            if chart is None:
                chart = LineChart(title=" / ".join(k for k in group if k in history), id=chart_id)
                container.mount(chart)
            chart.set_series(series)

    def _show_layers(self, stats: list[Any]) -> None:
        epochs = sorted({s.epoch for s in stats})
        layers: dict[str, dict[int, Any]] = {}
        for s in stats:
            layers.setdefault(s.layer, {})[s.epoch] = s

        def cell(s: Any) -> str:
            if s is None:
                return "-"
            weight = "-" if s.weight_norm is None else f"{s.weight_norm:.3g}"
            grad = "-" if s.grad_norm is None else f"{s.grad_norm:.2g}"
            return f"{weight}/{grad}"

        # The charts: one curve per layer over every epoch (a gap where a norm is missing).
        for chart, norm in (
            ("#detail-grad-norms", "grad_norm"),
            ("#detail-weight-norms", "weight_norm"),
        ):
            series = [
                Series(name, [getattr(per.get(e), norm, None) for e in epochs])
                for name, per in layers.items()
            ]
            self.query_one(chart, LineChart).set_series(series)
        shown = epochs[-6:]
        self._fill(
            "#detail-layers",
            ("layer", *(f"e{e}" for e in shown)),
            [(name, *(cell(per.get(e)) for e in shown)) for name, per in layers.items()],
        )

    def _fill(self, selector: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        table = self.query_one(selector, DataTable)
        table.clear(columns=True)
        table.add_columns(*columns)
        table.add_rows(rows)
        table.styles.height = len(rows) + 1

    # Actions ----------------------------------------------------------------------------

    def action_cancel_run(self) -> None:
        self.app.cancel_run(self.run_id)  # type: ignore[attr-defined]

    def action_resume_run(self) -> None:
        self.app.resume_run(self.run_id)  # type: ignore[attr-defined]

    def action_rerun_with_edits(self) -> None:
        """Open the launch form on this run's spec; what it launches is a rerun of this run."""
        self.app.push_screen(LaunchScreen(run_id=self.run_id))

    def action_export(self) -> None:
        name = self.run.name if self.run else f"run-{self.run_id}"
        scope = ExportScope(f"run #{self.run_id} {name}", [self.run_id], name)
        kinds = ("model-keras", "model-npz", "runs-csv", "runs-json", "runs-md", "history-csv")
        self.app.push_screen(ExportScreen([scope], kinds))

    def action_tag(self) -> None:
        self.app.push_screen(
            PromptScreen("Tag (key=value):"), lambda text: self._write("tag", text)
        )

    def action_note(self) -> None:
        self.app.push_screen(PromptScreen("Note:"), lambda text: self._write("note", text))

    def action_delete(self) -> None:
        self.app.push_screen(
            ConfirmScreen(f"Delete run {self.run_id} and everything it recorded?"),
            lambda yes: self._write("delete", "") if yes else None,
        )

    @work(thread=True, group="detail-actions")
    def _write(self, what: str, text: str | None) -> None:
        store = self.app.store  # type: ignore[attr-defined]
        if what != "delete" and not (text or "").strip():
            return
        try:
            if what == "tag":
                key, _, value = text.partition("=")  # type: ignore[union-attr]
                store.set_tag(self.run_id, key.strip(), value.strip())
            elif what == "note":
                store.add_note(self.run_id, text.strip())  # type: ignore[union-attr]
            else:
                store.delete_run(self.run_id)
        except Exception as err:  # a bad tag or a database failure: tell, keep running
            self.app.call_from_thread(self.app.notify, str(err), severity="error")
            return
        if what == "delete":
            self.post_message(self.Deleted())
        else:
            self.app.call_from_thread(self.load, True)

    class Deleted(Message):
        """The run was deleted: leave the screen."""

    def on_detail_screen_deleted(self, message: Deleted) -> None:
        self.deleted = True
        self.app.notify(f"run {self.run_id} deleted")
        self.app.refresh_screens()  # type: ignore[attr-defined]
        if self.app.screen is self:
            self.app.pop_screen()
