"""The dashboard: every run in a table, a filter box, and the selected run's live curves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from experiments.filters import FilterError, parse_filter, parse_sort
from kerastui.tui.formatting import COLUMNS, METRIC_COLUMNS, run_cells, sort_values
from kerastui.tui.widgets import LivePanel

# A poll asks for runs changed since the last one minus this overlap, so a
# write committed with a slightly older timestamp during the poll is not missed.
_OVERLAP = dt.timedelta(seconds=5)

# Columns the database can sort by (the filter language's sort keys); others
# (duration) sort the rows on screen.
SORT_KEYS = {
    "id": "id",
    "name": "name",
    "experiment": "experiment",
    "status": "status",
    "progress": "epochs_done",
    "loss": "metrics.loss",
    "val_loss": "metrics.val_loss",
    "accuracy": "metrics.accuracy",
    "val_accuracy": "metrics.val_accuracy",
    "started": "started_at",
}


@dataclass
class RunsLoaded(Message):
    """Runs (and their summaries) read by a refresh, plus the worker status (runs None: failed)."""

    runs: list[Any] | None
    summaries: dict[int, dict[str, Any]]
    full: bool
    polled_at: dt.datetime
    total: int = 0
    workers: int = 0
    slots: int = 0
    queued: int = 0


class DashboardScreen(Screen):
    """All runs, newest first, refreshed live; keys act on the highlighted or marked runs.

    The table holds the first `page_size` runs of the current filter and sort
    (the database sorts and filters), plus runs that appear while it is open.

    Args:
        interval: seconds between refresh ticks.
        page_size: at most this many runs read at once.

    Example:
        >>> app.push_screen(DashboardScreen())
    """

    BINDINGS = [
        Binding("q", "app.quit", "Quit"),
        Binding("r", "refresh", "Refresh"),
        Binding("slash", "focus_filter", "Filter", key_display="/"),
        Binding("enter", "open_detail", "Detail", show=True),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("x", "cancel_run", "Cancel"),
        Binding("R", "resume_run", "Resume", key_display="R"),
        Binding("l", "launch", "Launch"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
        Binding("t", "app.toggle_theme", "Theme"),
        Binding("escape", "focus_table", "Table", show=False),
    ]

    def __init__(self, interval: float = 1.0, page_size: int = 500) -> None:
        super().__init__()
        self.interval = interval
        self.page_size = page_size
        self.total = 0
        self.where: Any = None
        self.marked: set[int] = set()
        self.values: dict[int, dict[str, Any]] = {}
        self.records: dict[int, Any] = {}
        self.last_poll: dt.datetime | None = None
        self.sort_column: str = "id"
        self.sort_reverse = True
        self._loading = False
        self._want_full = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            placeholder='/ filter: status = "running" and metrics.val_accuracy > 0.9', id="filter"
        )
        with Horizontal(id="dash-body"):
            yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
            with Vertical(id="live"):
                yield LivePanel(interval=self.interval, id="live-panel")
        yield Static("", id="dash-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        table.focus()
        self.request_load(full=True)
        self.set_interval(self.interval, self.tick)

    # Reading (thread workers) -----------------------------------------------------------

    def tick(self) -> None:
        """A timer tick: read only the runs changed since the last poll."""
        self.request_load(full=False)

    def request_load(self, full: bool) -> None:
        """Start a read unless one is under way; a full read asked meanwhile runs next."""
        self._want_full = self._want_full or full or self.last_poll is None
        if self._loading:
            return
        self._loading = True
        full, self._want_full = self._want_full, False
        since = None if full or self.last_poll is None else self.last_poll - _OVERLAP
        self.load(full, since, self.where, self.order_by())

    def order_by(self) -> list[Any] | None:
        """The database order of the current sort column (None: newest first)."""
        key = SORT_KEYS.get(self.sort_column)
        if key is None or (key == "id" and self.sort_reverse):
            return None
        return parse_sort(f"-{key}" if self.sort_reverse else key)

    @work(thread=True, group="dashboard-load")
    def load(self, full: bool, since: dt.datetime | None, where: Any, order_by: Any) -> None:
        """Read the first page of runs, or those changed since `since`, and post them."""
        store = self.app.store  # type: ignore[attr-defined]
        polled_at = dt.datetime.now(dt.UTC)
        total = 0
        try:
            if full:
                runs = store.list_runs(where=where, order_by=order_by, limit=self.page_size)
                total = store.count_runs(where=where)
            else:
                runs = store.list_runs(where=where, updated_since=since)
            ids = [r.id for r in runs]
            summaries = store.summaries_for(ids, keys=list(METRIC_COLUMNS)) if ids else {}
            workers = store.list_workers(alive_only=True)
            queued = store.queue_length()
        except Exception as err:  # any database failure: tell, keep the table as it is
            self.app.call_from_thread(self.app.notify, f"database error: {err}", severity="error")
            self.post_message(RunsLoaded(None, {}, full, polled_at))
            return
        self.post_message(
            RunsLoaded(
                runs=runs,
                summaries=summaries,
                full=full,
                polled_at=polled_at,
                total=total,
                workers=len(workers),
                slots=sum(w.slots for w in workers),
                queued=queued,
            )
        )

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        self._loading = False
        if message.runs is None:
            return
        self._show(message)
        if self._want_full:
            self.request_load(full=True)

    def _show(self, message: RunsLoaded) -> None:
        table = self.query_one("#runs", DataTable)
        self.last_poll = message.polled_at
        if message.full:
            table.clear()
            self.values, self.records = {}, {}
            rows = []
            for run in message.runs:
                summaries = message.summaries.get(run.id, {})
                self.records[run.id] = run
                self.values[run.id] = sort_values(run, summaries)
                rows.append(self._cells(run, summaries))
            for run, cells in zip(message.runs, rows):
                table.add_row(*cells, key=str(run.id))
            self.total = message.total
            if self.sort_column not in SORT_KEYS:
                self._sort()
        else:
            for run in message.runs:
                if str(run.id) not in table.rows:
                    # A run the page does not show: only the database knows whether it
                    # belongs on this page of the current filter and sort, and the total.
                    self._want_full = True
                    continue
                summaries = message.summaries.get(run.id, {})
                self.records[run.id] = run
                self.values[run.id] = sort_values(run, summaries)
                for (key, _), cell in zip(COLUMNS, self._cells(run, summaries)):
                    table.update_cell(str(run.id), key, cell)
        self.app.sub_title = (
            f"workers {message.workers} alive ({message.slots} slots) · "
            f"queue {message.queued} · runs {self.total}"
        )
        if self.total > table.row_count:
            self.query_one("#dash-status", Static).update(
                f"showing {table.row_count} of {self.total} runs; filter or sort to see others"
            )
        self._follow_cursor()

    def _cells(self, run: Any, summaries: dict[str, Any]) -> tuple[Any, ...]:
        cells = run_cells(run, summaries)
        if run.id in self.marked:
            return ("*" + cells[0], *cells[1:])
        return cells

    # Sorting and filtering --------------------------------------------------------------

    def _sort(self) -> None:
        column, reverse = self.sort_column, self.sort_reverse

        def key(id_cell: str) -> tuple[bool, Any]:
            value = self.values.get(int(id_cell.lstrip("*")), {}).get(column)
            # Missing values last in both directions.
            return (value is not None) if reverse else (value is None), value or 0

        self.query_one("#runs", DataTable).sort("id", key=key, reverse=reverse)

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort the table by a column key (a second call on the same column flips it)."""
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else column != "name"
        self.sort_column, self.sort_reverse = column, reverse
        if column in SORT_KEYS and self.total > self.query_one("#runs", DataTable).row_count:
            self.request_load(full=True)
        self._sort()
        arrow = "↓" if reverse else "↑"
        self.query_one("#dash-status", Static).update(f"sorted by {column} {arrow}")

    def action_cycle_sort(self) -> None:
        keys = [key for key, _ in COLUMNS]
        self.sort_by(keys[(keys.index(self.sort_column) + 1) % len(keys)])

    @on(DataTable.HeaderSelected)
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        self.sort_by(str(event.column_key.value))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)

    def apply_filter(self, expression: str) -> bool:
        """Show only runs matching `expression`; an invalid one is reported and changes nothing."""
        text = expression.strip()
        try:
            where = parse_filter(text) if text else None
        except FilterError as err:
            self.app.notify(str(err), title="invalid filter", severity="error")
            return False
        self.where = where
        self.query_one("#dash-status", Static).update(f"filter: {text}" if text else "")
        self.request_load(full=True)
        self.query_one("#runs", DataTable).focus()
        return True

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one("#runs", DataTable).focus()

    def action_refresh(self) -> None:
        self.request_load(full=True)

    # Selection and actions --------------------------------------------------------------

    def selected_run_id(self) -> int | None:
        """The id of the highlighted run, or None when the table is empty."""
        table = self.query_one("#runs", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return int(str(key.value))

    def _follow_cursor(self) -> None:
        run_id = self.selected_run_id()
        run = self.records.get(run_id) if run_id is not None else None
        title = f"#{run.id} {run.name} · {run.status}" if run else ""
        self.query_one(LivePanel).follow(run_id, title)

    @on(DataTable.RowHighlighted, "#runs")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._follow_cursor()

    @on(DataTable.RowSelected, "#runs")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_detail()

    def action_open_detail(self) -> None:
        run_id = self.selected_run_id()
        if run_id is not None:
            self.app.open_detail(run_id)  # type: ignore[attr-defined]

    def action_mark(self) -> None:
        run_id = self.selected_run_id()
        if run_id is None:
            return
        self.marked.symmetric_difference_update({run_id})
        table = self.query_one("#runs", DataTable)
        table.update_cell(str(run_id), "id", ("*" if run_id in self.marked else "") + str(run_id))
        table.move_cursor(row=table.cursor_row + 1)

    def action_compare(self) -> None:
        if len(self.marked) < 2:
            self.app.notify("mark two or more runs with space to compare them", severity="warning")
            return
        self.app.open_compare(sorted(self.marked))  # type: ignore[attr-defined]

    def action_cancel_run(self) -> None:
        run_id = self.selected_run_id()
        if run_id is not None:
            self.app.cancel_run(run_id)  # type: ignore[attr-defined]

    def action_resume_run(self) -> None:
        run_id = self.selected_run_id()
        if run_id is not None:
            self.app.resume_run(run_id)  # type: ignore[attr-defined]

    def action_launch(self) -> None:
        self.app.open_launch()  # type: ignore[attr-defined]
