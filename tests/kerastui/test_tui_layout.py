"""The dashboard's layout at 80 columns and at 120 (styles/narrow.tcss), checked by geometry.

The snapshots show the same screens; these tests say what must hold whatever a
regenerated snapshot looks like: at 80x24 the runs table spans the terminal with
the live curves under it, the filter is one line and the footer is compact; at
120x40 the curves sit beside the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, Footer, Input

from kerastui.tui import KerastuiApp
from kerastui.tui.widgets import LivePanel
from tests.kerastui.fixed_runs import dashboard_loaded, fixed_app
from tests.kerastui.tui_helpers import synchronous


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KerastuiApp]:
    monkeypatch.chdir(tmp_path)
    with fixed_app(tmp_path) as app:
        yield app


@synchronous
async def test_at_80_columns_the_table_spans_the_terminal_and_the_curves_sit_under_it(
    app: KerastuiApp,
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await dashboard_loaded(pilot)
        screen = app.screen
        assert screen.has_class("-narrow")
        table = screen.query_one("#runs", DataTable).region
        live = screen.query_one(LivePanel).region
        assert table.width == 80
        assert live.y >= table.bottom and live.width >= 78
        charts = [chart.region for chart in screen.query("#live-panel LineChart")]
        assert len({chart.y for chart in charts}) == 1, "the three charts share one row"
        assert screen.query_one("#filter", Input).region.height == 1
        palette = list(screen.query_one(Footer).query(".-command-palette"))
        assert palette and not any(key.display for key in palette)


@synchronous
async def test_at_120_columns_the_curves_sit_beside_the_table(app: KerastuiApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await dashboard_loaded(pilot)
        screen = app.screen
        assert screen.has_class("-wide") and not screen.has_class("-narrow")
        table = screen.query_one("#runs", DataTable).region
        live = screen.query_one(LivePanel).region
        assert live.x >= table.right and live.y == table.y
        assert screen.query_one("#filter", Input).region.height == 3
        palette = list(screen.query_one(Footer).query(".-command-palette"))
        assert palette and all(key.display for key in palette)
