"""A line chart drawn with text cells, for metric curves in any terminal."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from rich.text import Text
from textual.widget import Widget

PALETTE = ("cyan", "magenta", "green", "yellow", "red", "blue", "bright_white")


@dataclass
class Series:
    """One curve: a label, its values (None for a gap), and an optional colour.

    Example:
        >>> Series("loss", [0.9, 0.5, 0.4]).label
        'loss'
    """

    label: str
    values: list[float | None] = field(default_factory=list)
    color: str | None = None


def _finite(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _log10(values: list[float | None]) -> list[float | None]:
    """Values on a log scale; zero, negative and missing values are gaps."""
    return [math.log10(v) if v is not None and math.isfinite(v) and v > 0 else None for v in values]


def render_chart(
    series: list[Series], width: int, height: int, title: str = "", log: bool = False
) -> Text:
    """Draw `series` in a `width` x `height` grid of characters, with y labels and a legend.

    Args:
        series: the curves; each is stretched over the full width.
        width: columns available.
        height: rows available (one is the legend, one the title when given).
        title: a heading line.
        log: a logarithmic y axis (values spanning orders of magnitude, such as
            gradient norms); the labels and the legend still show the values.

    Example:
        >>> render_chart([Series("loss", [3.0, 2.0, 1.0])], 20, 5).plain.splitlines()[0]
        '3 ●··               '
    """
    lines: list[Text] = []
    if title:
        lines.append(Text(title[:width], style="bold"))
    rows = height - len(lines) - 1
    plotted = [_log10(s.values) if log else s.values for s in series]
    values = [v for curve in plotted for v in _finite(curve)]
    if rows < 2 or width < 12 or not values:
        note = "" if values else "no data yet"
        if not values and log and any(_finite(s.values) for s in series):
            note = "no value above 0 to draw on a log scale"
        lines.append(Text(note, style="dim"))
        return Text("\n").join(lines)
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 0.5, high + 0.5
    labels = [f"{10**high if log else high:.3g}", f"{10**low if log else low:.3g}"]
    margin = max(len(label) for label in labels) + 1
    plot_width = width - margin
    grid: list[list[tuple[str, str]]] = [[(" ", "")] * plot_width for _ in range(rows)]

    def row_of(value: float) -> int:
        return round((high - value) / (high - low) * (rows - 1))

    for index, (curve, curve_values) in enumerate(zip(series, plotted, strict=True)):
        color = curve.color or PALETTE[index % len(PALETTE)]
        points = [(i, v) for i, v in enumerate(curve_values) if v is not None and math.isfinite(v)]
        count = len(curve_values)
        if not points:
            continue
        span = max(count - 1, 1)
        columns = [(round(i * (plot_width - 1) / span), v) for i, v in points]
        # Join consecutive points with dots so a curve reads as a line.
        for (x0, v0), (x1, v1) in itertools.pairwise(columns):
            for x in range(x0 + 1, x1):
                value = v0 + (v1 - v0) * (x - x0) / (x1 - x0)
                grid[row_of(value)][x] = ("·", color)
        for x, value in columns:
            grid[row_of(value)][x] = ("●", color)
    for r, cells in enumerate(grid):
        label = labels[0] if r == 0 else labels[1] if r == rows - 1 else ""
        line = Text(label.ljust(margin), style="dim")
        for char, style in cells:
            line.append(char, style=style)
        lines.append(line)
    legend = Text()
    for index, curve in enumerate(series):
        color = curve.color or PALETTE[index % len(PALETTE)]
        last = _finite(curve.values)
        suffix = f" {last[-1]:.4g}" if last else ""
        legend.append("● ", style=color)
        legend.append(f"{curve.label}{suffix}  ")
    legend.truncate(width)
    lines.append(legend)
    return Text("\n").join(lines)


class LineChart(Widget):
    """A widget showing one or more curves; set `series` to redraw.

    Args:
        title: the heading line.
        log: a logarithmic y axis.

    Example:
        >>> chart = LineChart(title="loss")
        >>> chart.set_series([Series("loss", [0.9, 0.5])])
    """

    DEFAULT_CSS = """
    LineChart { height: 10; }
    """

    def __init__(self, title: str = "", log: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.title = title
        self.log_scale = log
        self.series: list[Series] = []

    def set_series(self, series: list[Series]) -> None:
        """Replace the curves and redraw."""
        self.series = series
        self.refresh()

    def render(self) -> Text:
        """Draw the chart at the widget's current size."""
        return render_chart(
            self.series, self.size.width, self.size.height, self.title, self.log_scale
        )
