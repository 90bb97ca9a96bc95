"""Widgets of the dashboard: a line chart drawn with text, and the live run panel."""

from kerastui.tui.widgets.chart import LineChart, Series
from kerastui.tui.widgets.live_panel import LivePanel

__all__ = ["LineChart", "LivePanel", "Series"]
