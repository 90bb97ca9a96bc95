"""Pilot tests of the dashboard's grouped view and paging, on a real temporary database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable

from experiments import clock
from experiments.store import MetricRow, Store, forget_stores, open_store
from kerastui.tui import KerastuiApp
from kerastui.tui.screens.dashboard import DashboardScreen
from tests.experiments.store_helpers import set_status
from tests.kerastui.tui_helpers import synchronous, table_statuses, wait_for


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield open_store(f"sqlite:///{tmp_path / 'tui.db'}")
    forget_stores()


def _run(store: Store, experiment: str, val_loss: float | None, status: str, sweep=None) -> int:
    run = store.create_run(experiment, {"fit": {"epochs": 1}}, sweep_id=sweep, epochs_total=1)
    if val_loss is not None:
        store.log_metrics(run.id, [MetricRow("val_loss", val_loss, 1, 1, "epoch")])
    set_status(store, run.id, status)
    return run.id


def _rows(table: DataTable) -> list[str]:
    """Row keys in display order: run ids, and `group:<key>` for group header rows."""
    return [str(row.key.value) for row in table.ordered_rows]


def _cell(table: DataTable, row_key: str, column: str) -> str:
    return str(table.get_cell(row_key, column))


@synchronous
async def test_grouping_by_experiment_and_sweep_with_counts_filter_and_sort(store: Store) -> None:
    sweep = store.create_sweep("cnn", "lr-grid", "grid", {"method": "grid"}).id
    a = _run(store, "cnn", 0.5, "completed", sweep)
    b = _run(store, "cnn", 0.3, "completed", sweep)
    c = _run(store, "cnn", None, "failed")
    d = _run(store, "mlp", 0.9, "completed")
    e = _run(store, "mlp", None, "queued")
    app = KerastuiApp(store=store, interval=0.2, start_worker=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one("#runs", DataTable)
        await wait_for(pilot, lambda: table.row_count == 5)

        await pilot.press("G")
        await wait_for(pilot, lambda: "group:cnn" in _rows(table))
        # Newest first within each group, groups by name.
        assert _rows(table) == ["group:cnn", str(c), str(b), str(a), "group:mlp", str(e), str(d)]
        assert "cnn" in _cell(table, "group:cnn", "name")
        assert _cell(table, "group:cnn", "experiment") == "3 runs"
        assert _cell(table, "group:cnn", "status") == "✓2 ✗1"
        assert _cell(table, "group:cnn", "val_loss") == "★0.3"
        assert _cell(table, "group:mlp", "status") == "✓1 …1"
        assert _cell(table, "group:mlp", "val_loss") == "★0.9"
        # A group row is no run: space does nothing to it; enter folds its runs away
        # (▶) and shows them again (▼), the cursor staying on the group's row.
        table.move_cursor(row=0)
        await pilot.pause()
        assert screen.selected_run_id() is None
        table.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: _rows(table) == ["group:cnn", "group:mlp", str(e), str(d)])
        assert _cell(table, "group:cnn", "id") == "▶" and table.cursor_row == 0
        await pilot.press("space")
        await pilot.pause()
        assert not screen.marked and table.cursor_row == 0
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(_rows(table)) == 7)
        assert _cell(table, "group:cnn", "id") == "▼" and table.cursor_row == 0

        # The sort applies within each group.
        screen.sort_by("val_loss", reverse=False)
        await pilot.pause()
        assert _rows(table) == ["group:cnn", str(b), str(a), str(c), "group:mlp", str(d), str(e)]

        await pilot.press("G")
        await wait_for(pilot, lambda: f"group:{sweep}" in _rows(table))
        assert _rows(table)[0] == f"group:{sweep}"
        assert _rows(table)[3] == "group:None"
        assert "lr-grid" in _cell(table, f"group:{sweep}", "name")
        assert _cell(table, f"group:{sweep}", "experiment") == "2 runs"
        assert _cell(table, "group:None", "status") == "✓1 ✗1 …1"

        # The filter applies to the groups and their counts.
        assert screen.apply_filter('status = "completed"')
        await wait_for(pilot, lambda: table.row_count == 5)
        assert _cell(table, "group:None", "experiment") == "1 run"
        assert _cell(table, "group:None", "status") == "✓1"

        # A live change updates the group's counts.
        store.claim_run(e, "w")
        store.mark_completed(e)
        await wait_for(pilot, lambda: _cell(table, "group:None", "status") == "✓2")
        # The run that now matches the filter follows with the reload the change asks for.
        await wait_for(pilot, lambda: str(e) in _rows(table))
        # Still sorted by val_loss within the group: e has none, so it comes last.
        assert _rows(table)[3:] == ["group:None", str(d), str(e)]

        await pilot.press("G")
        await wait_for(pilot, lambda: not any(k.startswith("group:") for k in _rows(table)))
        assert table.row_count == 4

        titles = {command.title for command in app.get_system_commands(screen)}
        assert {"Group runs", "Load more runs", "Export runs"} <= titles
        await pilot.press("question_mark")
        help_text = str(app.screen.query_one("#help Static").render())
        assert "G  group by experiment" in help_text and "m  load the next page" in help_text


@synchronous
async def test_paging_loads_every_run_and_live_updates_reach_later_pages(store: Store) -> None:
    # Queued an hour ago: a refresh tick reads runs changed in the last seconds, and one
    # it does not show makes the dashboard reload the table, resetting the cursor
    # tracking that "down onto the last row" relies on; while the runs are that new,
    # ticks would reload every 0.2 s, and one landing between the key press and its
    # row highlight would swallow the page load.
    hour_ago = clock.now() - dt.timedelta(hours=1)
    with clock.use_clock(lambda: hour_ago):
        ids = [_run(store, "cnn", None, "queued") for _ in range(12)]
    app = KerastuiApp(store=store, interval=0.2, page_size=5, start_worker=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one("#runs", DataTable)
        await wait_for(pilot, lambda: screen.total == 12)
        assert list(table_statuses(table)) == ids[::-1][:5]
        assert "showing 5 of 12" in app.sub_title
        assert "showing 5 of 12" in str(screen.query_one("#dash-status").render())

        # Grouped, the header counts every run of the filter, not only the page read.
        await pilot.press("G")
        await wait_for(pilot, lambda: "group:cnn" in _rows(table))
        assert _cell(table, "group:cnn", "experiment") == "12 runs"
        assert _cell(table, "group:cnn", "status") == "…12"
        assert table.row_count == 6
        await pilot.press("G", "G")
        await wait_for(pilot, lambda: screen.group_by is None and table.row_count == 5)

        await pilot.press("m")
        await wait_for(pilot, lambda: table.row_count == 10)
        assert "showing 10 of 12" in app.sub_title
        # Moving down onto the last row reads the last page.
        table.move_cursor(row=8)
        await pilot.pause()
        await pilot.press("down")
        await wait_for(pilot, lambda: table.row_count == 12)
        assert list(table_statuses(table)) == ids[::-1]
        assert "showing 12 of 12" in app.sub_title
        await pilot.press("m")
        await wait_for(pilot, lambda: any("all 12 runs" in n.message for n in app._notifications))

        # Runs read with the second and the last page follow live status changes.
        second_page, last_page = ids[::-1][7], ids[0]
        store.request_cancel(second_page)
        store.request_cancel(last_page)
        await wait_for(pilot, lambda: table_statuses(table)[last_page] == "cancelled")
        await wait_for(pilot, lambda: table_statuses(table)[second_page] == "cancelled")
        assert table.row_count == 12

        # A new run reloads the table, keeping every page read so far.
        new = _run(store, "cnn", None, "queued")
        await wait_for(pilot, lambda: screen.total == 13)
        await wait_for(pilot, lambda: new in table_statuses(table))
        assert table.row_count == 12
        assert "showing 12 of 13" in app.sub_title
        assert table_statuses(table)[ids[1]] == "queued"
        assert table_statuses(table)[second_page] == "cancelled"
