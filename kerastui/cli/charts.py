"""Small terminal charts of metric curves, drawn with Unicode blocks (no plotting library)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text

_SPARKS = "▁▂▃▄▅▆▇█"
_EIGHTHS = " ▁▂▃▄▅▆▇█"
PALETTE = ("cyan", "magenta", "yellow", "green", "blue", "red")


def _finite(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, its height proportional to the value; a space for a gap.

    Args:
        values: the curve; None or non-finite values are gaps.

    Example:
        >>> sparkline([1.0, 0.5, 0.25, 0.0])
        '█▅▃▁'
    """
    finite = _finite(values)
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    span = high - low
    out = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(" ")
        elif span == 0:
            out.append(_SPARKS[len(_SPARKS) // 2])
        else:
            out.append(_SPARKS[round((v - low) / span * (len(_SPARKS) - 1))])
    return "".join(out)


def _resample(values: Sequence[float | None], width: int) -> list[float | None]:
    if len(values) <= width:
        return list(values)
    step = len(values) / width
    return [values[min(int(i * step), len(values) - 1)] for i in range(width)]


def block_chart(
    title: str,
    series: dict[str, Sequence[float | None]],
    *,
    height: int = 6,
    width: int = 60,
) -> Text:
    """A small chart of one or more curves per epoch: a column of blocks per epoch and curve.

    Curves share the y range; with several, each epoch shows one column per
    curve side by side, in the palette's colours, with a legend.

    Args:
        title: the chart's heading (the metric name).
        series: curve name to per-epoch values.
        height: rows of blocks.
        width: at most this many columns (long curves are resampled).

    Example:
        >>> print(block_chart("loss", {"run 1": [0.9, 0.5, 0.3]}, height=2).plain)
    """
    names = list(series)
    per_point = max(len(names), 1)
    columns = max(width // (per_point + 1), 1)
    curves = {n: _resample(list(series[n]), columns) for n in names}
    finite = [v for c in curves.values() for v in _finite(c)]
    text = Text()
    text.append(f"{title}\n", style="bold")
    if not finite:
        text.append("  (no values yet)\n", style="dim")
        return text
    low, high = min(finite), max(finite)
    span = (high - low) or 1.0
    length = max(len(c) for c in curves.values())
    label_width = max(len(f"{high:.4g}"), len(f"{low:.4g}"))
    for row in range(height, 0, -1):
        label = f"{high:.4g}" if row == height else f"{low:.4g}" if row == 1 else ""
        text.append(f"{label:>{label_width}} │")
        for i in range(length):
            for k, name in enumerate(names):
                curve = curves[name]
                v = curve[i] if i < len(curve) else None
                if v is None or not math.isfinite(v):
                    text.append(" ")
                    continue
                eighths = 1 + round((v - low) / span * (height * 8 - 1))
                fill = min(max(eighths - (row - 1) * 8, 0), 8)
                text.append(_EIGHTHS[fill], style=PALETTE[k % len(PALETTE)])
            if per_point > 1:
                text.append(" ")
        text.append("\n")
    text.append(" " * label_width + " └" + "─" * (length * (per_point + (per_point > 1))) + "\n")
    if len(names) > 1:
        text.append(" " * (label_width + 2))
        for k, name in enumerate(names):
            text.append("█ ", style=PALETTE[k % len(PALETTE)])
            text.append(f"{name}  ")
        text.append("\n")
    return text
