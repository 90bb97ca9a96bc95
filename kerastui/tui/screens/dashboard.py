"""The dashboard: every run in a table, a filter box, and the selected run's live curves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from experiments import clock
from experiments.filters import FilterError, parse_filter, parse_sort
from experiments.store import GROUP_BY, RunGroup, group_order
from kerastui.tui.formatting import (
    COLUMNS,
    METRIC_COLUMNS,
    STATUS_STYLES,
    metric_text,
    run_cells,
    sort_values,
)
from kerastui.tui.screens.export import ExportScope, ExportScreen
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

# One symbol per status in a group's header row (the help screen lists them).
STATUS_SYMBOLS = {
    "running": "▶",
    "queued": "…",
    "completed": "✓",
    "failed": "✗",
    "cancelled": "⊘",
    "interrupted": "!",
}
GROUP_ROW = "group:"


def group_cells(group: RunGroup, collapsed: bool = False) -> tuple[Any, ...]:
    """A group's header row, in the order of `COLUMNS`: name, run count, statuses, best metrics.

    Args:
        group: the group, as `Store.group_runs` counts it.
        collapsed: its runs are hidden (▶) rather than shown below it (▼).
    """
    counts = Text()
    for status, n in group.statuses.items():
        if counts:
            counts.append(" ")
        counts.append(f"{STATUS_SYMBOLS.get(status, '?')}{n}", STATUS_STYLES.get(status, ""))
    best = [
        Text(f"★{metric_text(group.best[k])}" if k in group.best else "", "bold")
        for k in METRIC_COLUMNS
    ]
    return (
        Text("▶" if collapsed else "▼", "bold"),
        Text(group.name, "bold reverse"),
        Text(f"{group.runs} run{'s' if group.runs != 1 else ''}", "bold"),
        counts,
        "",
        *best,
        "",
        "",
    )


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
    groups: list[RunGroup] | None = None
    more: bool = False


class DashboardScreen(Screen):
    """All runs, newest first, refreshed live; keys act on the highlighted or marked runs.

    The table holds the first pages of `page_size` runs of the current filter and
    sort (the database filters and sorts); reaching the last row, or `m`, reads
    the next page. `G` groups the runs by experiment or sweep: each group gets a
    header row with its run count, runs per status and best metric values, all
    counted by the database over every run of the filter, and the sort applies
    within each group.

    Args:
        interval: seconds between refresh ticks.
        page_size: at most this many runs read at once.

    Example:
        >>> app.push_screen(DashboardScreen())
    """

    BINDINGS = [
        # Footer order is priority order: at 80 columns the last keys drop off, and
        # every key (Refresh and Theme too) is on the help screen.
        Binding("q", "app.quit", "Quit"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
        Binding("slash", "focus_filter", "Filter", key_display="/"),
        Binding("enter", "open_detail", "Detail", show=True),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("l", "launch", "Launch"),
        Binding("x", "cancel_run", "Cancel"),
        Binding("R", "resume_run", "Resume", key_display="R"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("G", "cycle_group", "Group", key_display="G"),
        Binding("e", "export", "Export"),
        Binding("m", "more", "More"),
        Binding("r", "refresh", "Refresh", show=False),
        Binding("t", "app.toggle_theme", "Theme", show=False),
        Binding("escape", "focus_table", "Table", show=False),
    ]

    def __init__(self, interval: float = 1.0, page_size: int = 500) -> None:
        super().__init__()
        self.interval = interval
        self.page_size = page_size
        self.total = 0
        self.where: Any = None
        self.filter_text = ""
        self.marked: set[int] = set()
        self.values: dict[int, dict[str, Any]] = {}
        self.records: dict[int, Any] = {}
        self.summaries: dict[int, dict[str, Any]] = {}
        self.groups: list[RunGroup] = []
        # Group keys (as text) whose runs are folded away under their header row.
        self.collapsed: set[str] = set()
        self.depth = page_size
        self.group_by: str | None = None
        self.last_poll: dt.datetime | None = None
        self.sort_column: str = "id"
        self.sort_reverse = True
        self._loading = False
        self._want_full = False
        self._want_more = False
        self._last_row: int | None = None
        self._paging_note = False

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

    @property
    def loaded(self) -> int:
        """How many runs the table holds (group header rows not counted)."""
        return len(self.records)

    @property
    def has_more(self) -> bool:
        """Whether runs of the filter are left to load."""
        return self.total > self.loaded

    # Reading (thread workers) -----------------------------------------------------------

    def tick(self) -> None:
        """A timer tick: read only the runs changed since the last poll."""
        self.request_load(full=False)

    def request_load(self, full: bool, more: bool = False) -> None:
        """Start a read unless one is under way; a full read or a page asked meanwhile runs next.

        Args:
            full: read the pages shown again (else only the runs changed since the last poll).
            more: read the next page of runs after those shown.
        """
        self._want_full = self._want_full or full or self.last_poll is None
        self._want_more = self._want_more or more
        if self._loading:
            return
        self._loading = True
        order = self.order_by()
        if self._want_full:
            self._want_full = False
            # A reload reads every page already read, so a live reload never shrinks the table.
            self.load(True, None, self.where, order, self.group_by, self.depth, 0)
        elif self._want_more:
            self._want_more = False
            self.load(False, None, self.where, order, self.group_by, self.page_size, self.loaded)
        else:
            since = self.last_poll - _OVERLAP  # type: ignore[operator]
            self.load(False, since, self.where, order, self.group_by, None, 0)

    def order_by(self) -> list[Any] | None:
        """The database order: the groups' order when grouped, then the current sort column.

        None: newest first.
        """
        key = SORT_KEYS.get(self.sort_column)
        groups = group_order(self.group_by) if self.group_by else []  # type: ignore[arg-type]
        if key is None or (key == "id" and self.sort_reverse):
            return groups or None
        return [*groups, *parse_sort(f"-{key}" if self.sort_reverse else key)]

    @work(thread=True, group="dashboard-load")
    def load(
        self,
        full: bool,
        since: dt.datetime | None,
        where: Any,
        order_by: Any,
        group_by: str | None,
        limit: int | None,
        offset: int,
    ) -> None:
        """Read pages of runs, or the next page, or those changed since `since`, and post them.

        Args:
            full: read the first `limit` runs and the total.
            since: (not full, no limit) read the runs changed since then.
            where: the filter.
            order_by: the database order.
            group_by: "experiment" or "sweep" to count the groups too; None.
            limit: how many runs to read (full, or a next page).
            offset: (a next page) skip this many runs.
        """
        store = self.app.store  # type: ignore[attr-defined]
        # The store stamps changes with this clock: polls must read the same one.
        polled_at = clock.now()
        more = not full and limit is not None
        total = 0
        groups = None
        try:
            if full or more:
                runs = store.list_runs(where=where, order_by=order_by, limit=limit, offset=offset)
                total = store.count_runs(where=where)
            else:
                runs = store.list_runs(where=where, updated_since=since)
            ids = [r.id for r in runs]
            summaries = store.summaries_for(ids, keys=list(METRIC_COLUMNS)) if ids else {}
            if group_by and (full or runs):
                groups = store.group_runs(group_by, where=where, metrics=METRIC_COLUMNS)
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
                groups=groups,
                more=more,
            )
        )

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        self._loading = False
        if message.runs is not None:
            self._show(message)
        if self._want_full or self._want_more:
            self.request_load(full=False)

    def _show(self, message: RunsLoaded) -> None:
        table = self.query_one("#runs", DataTable)
        if not message.more:
            # A page read does not advance the poll: changes meanwhile are the tick's to read.
            self.last_poll = message.polled_at
        if message.groups is not None:
            self.groups = message.groups
        if message.full:
            selected = self._cursor_key()
            self.values, self.records, self.summaries = {}, {}, {}
            self._add_runs(message)
            self.total = message.total
            self._fill_table(keep=selected)
        elif message.more:
            self.total = message.total
            new = self._add_runs(message)
            self.depth = max(self.depth, self.loaded)
            if self.group_by or self.sort_column not in SORT_KEYS:
                self._fill_table(keep=self._cursor_key())
            else:
                for run in new:
                    table.add_row(*self._cells(run, self.summaries[run.id]), key=str(run.id))
        else:
            for run in message.runs:
                if run.id not in self.records:
                    # A run the pages do not show: only the database knows whether it
                    # belongs on them under the current filter and sort, and the total.
                    self._want_full = True
                    continue
                self._keep(run, message.summaries.get(run.id, {}))
                if str(run.id) not in table.rows:
                    continue  # in a folded group
                for (key, _), cell in zip(COLUMNS, self._cells(run, self.summaries[run.id])):
                    table.update_cell(str(run.id), key, cell)
            if message.groups is not None:
                self._update_group_rows()
        self.app.sub_title = (
            f"workers {message.workers} alive ({message.slots} slots) · "
            f"queue {message.queued} · showing {self.loaded} of {self.total} runs"
        )
        status = self.query_one("#dash-status", Static)
        if self.has_more:
            status.update(
                f"showing {self.loaded} of {self.total} runs; m (or the last row) loads "
                f"{min(self.page_size, self.total - self.loaded)} more"
            )
            self._paging_note = True
        elif self._paging_note:
            status.update("")
            self._paging_note = False
        self._follow_cursor()

    def _add_runs(self, message: RunsLoaded) -> list[Any]:
        """Keep the runs of a read that the table does not hold yet; return them."""
        new = [run for run in message.runs if run.id not in self.records]
        for run in new:
            self._keep(run, message.summaries.get(run.id, {}))
        return new

    def _keep(self, run: Any, summaries: dict[str, Any]) -> None:
        self.records[run.id] = run
        self.summaries[run.id] = summaries
        self.values[run.id] = sort_values(run, summaries)

    # Rendering --------------------------------------------------------------------------

    def _group_of(self, run: Any) -> Any:
        return run.experiment if self.group_by == "experiment" else run.sweep_id

    def _fill_table(self, keep: int | str | None = None) -> None:
        """Fill the table with the runs held (by group when grouped); cursor back on `keep`."""
        table = self.query_one("#runs", DataTable)
        table.clear()
        if self.group_by:
            members: dict[Any, list[int]] = {}
            for run_id, run in self.records.items():
                members.setdefault(self._group_of(run), []).append(run_id)
            known = {g.key: g for g in self.groups}
            keys = [g.key for g in self.groups if g.key in members]
            keys += [k for k in members if k not in known]
            for key in keys:
                group = known.get(key) or RunGroup(key, str(key), len(members[key]))
                closed = str(key) in self.collapsed
                table.add_row(*group_cells(group, closed), key=f"{GROUP_ROW}{key}")
                if closed:
                    continue
                for run_id in self._sorted(members[key]):
                    run = self.records[run_id]
                    table.add_row(*self._cells(run, self.summaries[run_id]), key=str(run_id))
        else:
            for run_id, run in self.records.items():
                table.add_row(*self._cells(run, self.summaries[run_id]), key=str(run_id))
            if self.sort_column not in SORT_KEYS:
                self._sort()
        if keep is not None and str(keep) in table.rows:  # a run id or a group row's key
            table.move_cursor(row=table.get_row_index(str(keep)))
        # Where a refill puts the cursor is no move of the user's: it reads no page.
        self._last_row = None

    def _update_group_rows(self) -> None:
        table = self.query_one("#runs", DataTable)
        for group in self.groups:
            row_key = f"{GROUP_ROW}{group.key}"
            if row_key in table.rows:
                cells = group_cells(group, str(group.key) in self.collapsed)
                for (key, _), cell in zip(COLUMNS, cells):
                    table.update_cell(row_key, key, cell)

    def _cells(self, run: Any, summaries: dict[str, Any]) -> tuple[Any, ...]:
        cells = run_cells(run, summaries)
        if run.id in self.marked:
            return ("*" + cells[0], *cells[1:])
        return cells

    # Sorting, grouping and filtering ----------------------------------------------------

    def _sort_key(self, run_id: int) -> tuple[bool, Any]:
        value = self.values.get(run_id, {}).get(self.sort_column)
        # Missing values last in both directions.
        present = (value is not None) if self.sort_reverse else (value is None)
        return present, value or 0

    def _sorted(self, run_ids: list[int]) -> list[int]:
        return sorted(run_ids, key=self._sort_key, reverse=self.sort_reverse)

    def _sort(self) -> None:
        self.query_one("#runs", DataTable).sort(
            "id", key=lambda cell: self._sort_key(int(cell.lstrip("*"))), reverse=self.sort_reverse
        )

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort the table by a column key (a second call on the same column flips it)."""
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else column != "name"
        self.sort_column, self.sort_reverse = column, reverse
        if column in SORT_KEYS and self.has_more:
            self.request_load(full=True)
        if self.group_by:
            self._fill_table(keep=self.selected_run_id())
        else:
            self._sort()
        arrow = "↓" if reverse else "↑"
        self.query_one("#dash-status", Static).update(f"sorted by {column} {arrow}")

    def action_cycle_sort(self) -> None:
        keys = [key for key, _ in COLUMNS]
        self.sort_by(keys[(keys.index(self.sort_column) + 1) % len(keys)])

    def group(self, by: str | None) -> None:
        """Group the runs by "experiment" or "sweep", or not at all (None)."""
        if by is not None and by not in GROUP_BY:
            raise ValueError(f"cannot group runs by {by!r}; use one of {', '.join(GROUP_BY)}")
        self.group_by = by
        self.groups = []
        self.collapsed.clear()
        self.query_one("#dash-status", Static).update(f"grouped by {by}" if by else "not grouped")
        self.request_load(full=True)

    def action_cycle_group(self) -> None:
        cycle = [None, *GROUP_BY]
        self.group(cycle[(cycle.index(self.group_by) + 1) % len(cycle)])

    def action_more(self) -> None:
        if not self.has_more:
            self.app.notify(f"all {self.total} runs of the filter are shown")
            return
        self.request_load(full=False, more=True)

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
        self.filter_text = text
        self.depth = self.page_size
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
        """The id of the highlighted run; None when the table is empty or a group row is."""
        table = self.query_one("#runs", DataTable)
        if table.row_count == 0:
            return None
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        return None if key.startswith(GROUP_ROW) else int(key)

    def _follow_cursor(self) -> None:
        run_id = self.selected_run_id()
        run = self.records.get(run_id) if run_id is not None else None
        title = f"#{run.id} {run.name} · {run.status}" if run else ""
        self.query_one(LivePanel).follow(run.id if run else None, title)

    @on(DataTable.RowHighlighted, "#runs")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._follow_cursor()
        table = self.query_one("#runs", DataTable)
        # The cursor as it is now: a highlight posted during a refill may be stale.
        previous, self._last_row = self._last_row, table.cursor_row
        # Moving down onto the last row reads the next page; a refill that leaves the
        # cursor on the last row (a one-row page) does not.
        moved_down = previous is not None and previous < table.cursor_row
        if self.has_more and moved_down and table.cursor_row == table.row_count - 1:
            self.request_load(full=False, more=True)

    @on(DataTable.RowSelected, "#runs")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_detail()

    def action_open_detail(self) -> None:
        run_id = self.selected_run_id()
        if run_id is not None:
            self.app.open_detail(run_id)  # type: ignore[attr-defined]
            return
        group = self.selected_group_key()
        if group is not None:
            # Enter on a group's row folds its runs away, or shows them again.
            self.collapsed.symmetric_difference_update({group})
            self._fill_table(keep=f"{GROUP_ROW}{group}")

    def _cursor_key(self) -> str | None:
        """The highlighted row's key: a run id, or `group:<key>` on a group's row."""
        table = self.query_one("#runs", DataTable)
        if table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def selected_group_key(self) -> str | None:
        """The key of the highlighted group row (as text); None on a run's row."""
        table = self.query_one("#runs", DataTable)
        if table.row_count == 0:
            return None
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        return key[len(GROUP_ROW) :] if key.startswith(GROUP_ROW) else None

    def action_mark(self) -> None:
        table = self.query_one("#runs", DataTable)
        run_id = self.selected_run_id()
        if run_id is None:
            return  # a group's row (or nothing) is no run to mark
        self.marked.symmetric_difference_update({run_id})
        mark = "*" if run_id in self.marked else ""
        table.update_cell(str(run_id), "id", mark + str(run_id))
        table.move_cursor(row=table.cursor_row + 1)

    def action_compare(self) -> None:
        if len(self.marked) < 2:
            self.app.notify("mark two or more runs with space to compare them", severity="warning")
            return
        self.app.open_compare(sorted(self.marked))  # type: ignore[attr-defined]

    def action_export(self) -> None:
        """Open the export dialog for the marked runs, the highlighted run, or the filter's runs."""
        scopes = []
        if self.marked:
            marked = sorted(self.marked)
            scopes.append(ExportScope(f"the {len(marked)} marked runs", marked, "runs-marked"))
        run_id = self.selected_run_id()
        run = self.records.get(run_id) if run_id is not None else None
        if run is not None:
            scopes.append(ExportScope(f"run #{run.id} {run.name}", [run.id], run.name))
        if self.total:
            what = f"all {self.total} runs"
            if self.filter_text:
                what += f" matching {self.filter_text}"
            stem = "runs-filtered" if self.where is not None else "runs"
            scopes.append(ExportScope(what, None, stem, self.where))
        if not scopes:
            self.app.notify("no runs to export yet", severity="warning")
            return
        self.app.push_screen(ExportScreen(scopes))

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
