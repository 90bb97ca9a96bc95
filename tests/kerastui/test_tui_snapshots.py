"""SVG snapshots of the dashboard, run detail, launch form and compare screens (issue #8).

Each screen is rendered at 80x24 (the smallest terminal the dashboard supports)
and at 120x40, on a temporary database filled with six fixed runs through the
`Store` API: two completed MNIST MLPs, a failed and a cancelled shapes CNN, a
queued IMDB LSTM and a shapes CNN training right now. Every time the store
records and every time a screen shows (durations, start times, worker liveness)
comes from a fixed clock in UTC (`experiments.clock.use_clock`); run and worker
names are fixed; polling timers are an hour apart; each snapshot is taken only
after the screen has loaded its data, every thread worker has finished and the
screen has stopped changing (`settle`; data and waiting live in
`tests/kerastui/fixed_runs.py`). What "loaded" means is read from each
screen's state (`DetailScreen.run`, `CompareScreen.comparison`, the launch form's
chosen spec and problems, the dashboard's rows): a screen that renames those
needs its check below updated, not a sleep.

The accepted snapshots live in `tests/kerastui/__snapshots__/test_tui_snapshots/`.
When a screen changes on purpose, regenerate them, look at the new SVGs (any
browser opens them), and commit them with the change:

    nice -n 19 python -m pytest tests/kerastui/test_tui_snapshots.py --snapshot-update

A failing run writes `snapshot_report.html` (old and new side by side) in the
current directory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from kerastui.tui import KerastuiApp
from kerastui.tui.screens.compare import CompareScreen
from kerastui.tui.screens.detail import DetailScreen
from kerastui.tui.screens.launch import LaunchScreen
from tests.kerastui.fixed_runs import (
    BASELINE,
    WIDE,
    charts_drawn,
    dashboard_loaded,
    fixed_app,
    settle,
)

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]

SnapCompare = Callable[..., bool]


@pytest.fixture
def snapshot_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KerastuiApp]:
    """The app on six fixed runs (`tests.kerastui.fixed_runs`), the clock at NOW in UTC."""
    # The launch form lists the current directory's experiments/*.toml: keep it empty.
    monkeypatch.chdir(tmp_path)
    with fixed_app(tmp_path) as app:
        yield app


def opened(
    open_screen: Callable[[KerastuiApp], None], screen_type: type, loaded: Callable[[Any], bool]
) -> Callable[[Pilot], Awaitable[None]]:
    """A `run_before` that waits for the dashboard, opens a screen, and waits for its data."""

    async def run_before(pilot: Pilot) -> None:
        await dashboard_loaded(pilot)
        open_screen(pilot.app)  # type: ignore[arg-type]
        await settle(pilot, lambda: screen_ready(pilot.app.screen))

    def screen_ready(screen: Any) -> bool:
        return isinstance(screen, screen_type) and screen.is_mounted and loaded(screen)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_dashboard(snapshot_app: KerastuiApp, snap_compare: SnapCompare, size: Any) -> None:
    """Every run with its status, progress and metrics, and the live run's curves."""
    assert snap_compare(snapshot_app, terminal_size=size, run_before=dashboard_loaded)


@pytest.mark.parametrize("size", SIZES)
def test_run_detail(snapshot_app: KerastuiApp, snap_compare: SnapCompare, size: Any) -> None:
    """The completed baseline run: title, curves, params, layer norms, checkpoints, notes."""
    run_before = opened(
        lambda app: app.open_detail(BASELINE),
        DetailScreen,
        lambda screen: screen.run is not None and charts_drawn(screen),
    )
    assert snap_compare(snapshot_app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_launch_form(snapshot_app: KerastuiApp, snap_compare: SnapCompare, size: Any) -> None:
    """The launch form with the shapes_cnn example chosen and validated."""
    run_before = opened(
        lambda app: app.open_launch(),
        LaunchScreen,
        lambda screen: screen.spec_source() == "shapes_cnn" and not screen.problems,
    )
    assert snap_compare(snapshot_app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_compare(snapshot_app: KerastuiApp, snap_compare: SnapCompare, size: Any) -> None:
    """The two MLPs side by side: differing params, metrics, overlaid val_loss curves."""
    run_before = opened(
        lambda app: app.open_compare([BASELINE, WIDE]),
        CompareScreen,
        lambda screen: screen.comparison is not None and charts_drawn(screen),
    )
    assert snap_compare(snapshot_app, terminal_size=size, run_before=run_before)
