"""The terminal charts and the metric line of the progress display."""

from __future__ import annotations

import math

from kerastui.cli.charts import block_chart, sparkline
from kerastui.cli.progress import metrics_text


def test_sparkline_scales_between_min_and_max():
    assert sparkline([0.0, 1.0, 0.5]) == "▁█▅"
    assert sparkline([2.0, 2.0]) == "▅▅"
    assert sparkline([1.0, None, math.nan, 0.0]) == "█  ▁"
    assert sparkline([]) == "" and sparkline([None]) == ""


def test_block_chart_single_curve_heights():
    lines = block_chart("loss", {"a": [1.0, 0.0]}, height=2).plain.splitlines()
    assert lines[0] == "loss"
    # The largest value fills both rows; the smallest is one eighth of the bottom row.
    assert lines[1].endswith("│█ ") and lines[2].endswith("│█▁")
    assert lines[1].startswith("1 ") and lines[2].startswith("0 ")
    assert lines[3].strip() == "└──"


def test_block_chart_overlays_runs_with_a_legend():
    text = block_chart("acc", {"run 1": [0.1, 0.5], "run 2": [0.2, None]}, height=3).plain
    rows = text.splitlines()
    assert len(rows) == 1 + 3 + 1 + 1
    assert "█ run 1" in rows[-1] and "█ run 2" in rows[-1]
    assert block_chart("x", {"a": [None]}).plain.endswith("(no values yet)\n")


def test_block_chart_resamples_long_curves():
    text = block_chart("loss", {"a": [float(i) for i in range(500)]}, height=2, width=40)
    assert max(len(line) for line in text.plain.splitlines()) < 60


def test_metrics_text_is_keras_like():
    assert metrics_text({"loss": 0.5, "accuracy": 0.25, "note": "x"}) == (
        "loss: 0.5000 - accuracy: 0.2500"
    )
    assert metrics_text(None) == ""
