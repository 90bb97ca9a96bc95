"""The dashboard's text chart and cell formatting (no app needed)."""

from __future__ import annotations

import datetime as dt

from experiments import clock
from experiments.store import RunRecord
from kerastui.tui.formatting import (
    duration_seconds,
    duration_text,
    progress_text,
    sort_values,
    started_text,
)
from kerastui.tui.widgets.chart import Series, render_chart


def test_chart_puts_the_highest_value_on_top_and_the_lowest_at_the_bottom() -> None:
    lines = render_chart([Series("loss", [3.0, 2.0, 1.0])], 20, 6, "loss").plain.splitlines()
    assert lines[0] == "loss"
    assert lines[1].startswith("3 ●")
    assert lines[-2].startswith("1") and lines[-2].rstrip().endswith("●")
    assert lines[-1].startswith("● loss 1")
    assert len(lines) == 6


def test_chart_skips_gaps_and_says_when_there_is_no_data() -> None:
    text = render_chart([Series("val_loss", [None, 2.0, None])], 30, 5).plain
    assert text.count("●") == 2  # the point and the legend marker
    assert "no data yet" in render_chart([Series("loss", [])], 30, 5).plain


def test_a_log_scale_chart_spreads_orders_of_magnitude_evenly() -> None:
    # Gradient norms from 1 down to 1e-4: on a log axis 1e-2 sits halfway.
    norms = [Series("dense", [1.0, 1e-2, 1e-4])]
    lines = render_chart(norms, 20, 6, log=True).plain.splitlines()
    assert lines[0].startswith("1 ") and lines[0].count("●") == 1
    assert lines[2].count("●") == 1  # the middle row of five
    assert lines[4].startswith("0.0001") and lines[4].rstrip().endswith("●")
    assert lines[-1].startswith("● dense 0.0001")
    # On a linear axis 1e-2 would sit on the bottom row beside 1e-4.
    assert render_chart(norms, 20, 6).plain.splitlines()[4].count("●") == 2
    # Zero norms cannot go on a log axis: the chart says so instead of plotting nothing.
    assert "no value above 0" in render_chart([Series("dead", [0.0, 0.0])], 20, 6, log=True).plain


def test_progress_and_duration_cells() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    run = RunRecord(
        1,
        "a",
        "e",
        "running",
        epochs_done=1,
        epochs_total=4,
        current_batch=5,
        batches_per_epoch=10,
        started_at=start,
    )
    assert progress_text(run) == "██░░░ 1/4"
    assert progress_text(run._replace(status="completed", epochs_done=4)) == "4/4"
    assert duration_text(3725) == "1h02m" and duration_text(65) == "1m05s"
    assert duration_text(None) == "-"
    values = sort_values(run._replace(finished_at=start + dt.timedelta(seconds=9)), {})
    assert values["duration"] == 9.0 and values["loss"] is None


def test_running_duration_and_start_time_follow_the_clock_in_use() -> None:
    start = dt.datetime(2026, 1, 1, 23, 50, tzinfo=dt.UTC)
    run = RunRecord(1, "a", "e", "running", started_at=start)
    tokyo = dt.timezone(dt.timedelta(hours=9))
    with clock.use_clock(lambda: start + dt.timedelta(minutes=3, seconds=5), zone=tokyo):
        assert duration_text(duration_seconds(run)) == "3m05s"
        assert started_text(run) == "01-02 08:50"
    with clock.use_clock(lambda: start, zone=dt.UTC):
        assert started_text(run) == "01-01 23:50"
        assert started_text(run._replace(started_at=None, created_at=start)) == "01-01 23:50"


def test_the_help_screen_lists_every_key_of_every_screen():
    # Footers hide some keys at 80 columns; the help screen is where every key must be.
    import re

    from kerastui.tui.screens.compare import CompareScreen
    from kerastui.tui.screens.dashboard import DashboardScreen
    from kerastui.tui.screens.detail import DetailScreen
    from kerastui.tui.screens.help import HELP
    from kerastui.tui.screens.launch import LaunchScreen

    sections = dict(re.findall(r"\[b\](.+?)\[/b\]\n(.*?)(?=\n\[b\]|\Z)", HELP, re.S))
    names = {"question_mark": "?", "slash": "/"}
    for title, screen in (
        ("Dashboard", DashboardScreen),
        ("Run detail", DetailScreen),
        ("Compare", CompareScreen),
        ("Launch", LaunchScreen),
    ):
        text = sections[title]
        for binding in screen.BINDINGS:
            key = binding.key_display or names.get(binding.key, binding.key)
            if binding.action == "app.help":
                continue  # the help screen itself is opened from the footer
            assert re.search(rf"(^|\s){re.escape(key)}(\s|,|$)", text, re.M), (title, key)
