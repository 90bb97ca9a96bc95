"""Pilot tests of the dashboard on a real temporary database with real short runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from experiments.runner import execute_run
from experiments.store import Store, forget_stores, open_store
from experiments.submit import submit
from kerastui.tui import KerastuiApp
from kerastui.tui.screens.dashboard import DashboardScreen
from kerastui.tui.widgets import LivePanel
from tests.experiments.spec_helpers import mlp_raw
from tests.kerastui.tui_helpers import (
    HeldRun,
    notifications,
    synchronous,
    table_statuses,
    wait_for,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield open_store(f"sqlite:///{tmp_path / 'tui.db'}")
    forget_stores()


def app_for(store: Store) -> KerastuiApp:
    return KerastuiApp(store=store, interval=0.2, start_worker=None)


@synchronous
async def test_table_shows_runs_newest_first_with_statuses(store: Store) -> None:
    done = submit(mlp_raw(), store, {"fit.epochs": "2"})
    execute_run(done, store)
    queued = submit(mlp_raw(), store, {"compile.optimizer.learning_rate": "0.003"})
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one("#runs", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        assert [int(str(k.value)) for k in table.rows] == [queued, done]
        assert table_statuses(table) == {done: "completed", queued: "queued"}
        assert "queue 1" in app.sub_title
        row = table.get_row(str(done))
        assert row[1] == store.get_run(done).name
        assert row[4] == "2/2"
        assert float(row[5]) == pytest.approx(
            store.metric_summaries(done)["loss"].final_value, rel=1e-3
        )


@synchronous
async def test_status_changes_appear_on_refresh_ticks_and_curve_grows(store: Store) -> None:
    run_id = submit(mlp_raw(), store, {"fit.epochs": "6", "data.limit": "512"})
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one("#runs", DataTable)
        await wait_for(pilot, lambda: table_statuses(table).get(run_id) == "queued")
        panel = app.screen.query_one(LivePanel)
        assert panel.run_id == run_id
        with HeldRun(run_id, store, 3) as held:
            # Held after three recorded epochs: the table says running, the curve has 3 points.
            await wait_for(pilot, held.reached.is_set, timeout=60)
            await wait_for(
                pilot,
                lambda: (
                    table_statuses(table)[run_id] == "running" and len(panel.curve("loss")) == 3
                ),
                timeout=30,
            )
        await wait_for(pilot, lambda: table_statuses(table)[run_id] == "completed", timeout=60)
        held.join()
        # The rest of the curve arrives on later ticks.
        await wait_for(pilot, lambda: len(panel.curve("loss")) == 6)
        assert len(panel.curve("val_loss")) == 6


@synchronous
async def test_filter_sort_and_invalid_filter(store: Store) -> None:
    first = submit(mlp_raw(), store, {"fit.epochs": "1"})
    execute_run(first, store)
    second = submit(mlp_raw(), store, {"fit.batch_size": "64"})
    app = app_for(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one("#runs", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)

        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        app.focused.value = 'status = "completed"'
        await pilot.press("enter")
        await wait_for(pilot, lambda: table.row_count == 1)
        assert list(table_statuses(table)) == [first]

        # An invalid expression: a notification with the parser's message, table unchanged.
        screen.query_one("#filter", Input).value = "status = = 3"
        screen.query_one("#filter", Input).focus()
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert any("status = = 3" in m or "expected" in m for m in notifications(app))
        assert list(table_statuses(table)) == [first]

        screen.query_one("#filter", Input).value = ""
        screen.query_one("#filter", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: table.row_count == 2)
        assert [int(str(k.value)) for k in table.rows] == [second, first]
        screen.sort_by("id", reverse=False)
        await pilot.pause()
        assert [int(str(r.key.value)) for r in table.ordered_rows] == [first, second]
        screen.sort_by("loss", reverse=False)
        await pilot.pause()
        # The queued run has no loss yet: it sorts last.
        assert [int(str(r.key.value)) for r in table.ordered_rows] == [first, second]


@synchronous
async def test_a_page_of_runs_sorted_by_the_database(store: Store) -> None:
    done = submit(mlp_raw(), store, {"fit.epochs": "1"})
    execute_run(done, store)
    queued = submit(mlp_raw(), store)
    app = KerastuiApp(store=store, interval=0.2, page_size=1, start_worker=None)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one("#runs", DataTable)
        await wait_for(pilot, lambda: screen.total == 2)
        assert list(table_statuses(table)) == [queued]
        assert "showing 1 of 2" in str(screen.query_one("#dash-status").render())
        # Sorting asks the database: the run with the lowest loss comes first.
        screen.sort_by("loss", reverse=False)
        await wait_for(pilot, lambda: list(table_statuses(table)) == [done])


@synchronous
async def test_database_error_is_a_notification(store: Store, monkeypatch) -> None:
    app = app_for(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)

        def broken(*args, **kwargs):
            raise RuntimeError("disk I/O error")

        monkeypatch.setattr(store, "list_runs", broken)
        await pilot.press("r")
        await wait_for(pilot, lambda: any("disk I/O error" in m for m in notifications(app)))
        assert app.is_running


@synchronous
async def test_help_theme_and_palette_commands(store: Store) -> None:
    app = app_for(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        help_text = str(app.screen.query_one("#help Static").render())
        assert "resume run" in help_text and "compare marked runs" in help_text
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        theme = app.theme
        await pilot.press("t")
        assert app.theme != theme
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert {"Launch a run", "Compare marked runs", "Filter runs"} <= set(titles)
