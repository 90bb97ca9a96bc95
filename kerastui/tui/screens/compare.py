"""Compare marked runs: differing params, metrics side by side, overlaid curves."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from experiments.compare import Comparison, compare_runs
from kerastui.tui.formatting import metric_text
from kerastui.tui.screens.export import COMPARE_KINDS, ExportScope, ExportScreen
from kerastui.tui.widgets import LineChart, Series


class Compared(Message):
    """The comparison of the marked runs, read in a thread."""

    def __init__(self, comparison: Comparison) -> None:
        super().__init__()
        self.comparison = comparison


class CompareScreen(Screen):
    """Two or more runs side by side; `m` picks the metric of the overlaid curves, `e` exports.

    Args:
        run_ids: the runs to compare.

    Example:
        >>> app.push_screen(CompareScreen([3, 4]))
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("m", "next_metric", "Next metric"),
        Binding("e", "export", "Export"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
    ]

    def __init__(self, run_ids: list[int]) -> None:
        super().__init__()
        self.run_ids = run_ids
        self.comparison: Comparison | None = None
        self.metric: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="compare"):
            yield Static("[b]Params that differ[/b]", id="compare-params-title")
            yield DataTable(id="compare-params", show_cursor=False)
            yield Static("[b]Metrics[/b] (final / best; the best run in green)")
            yield DataTable(id="compare-metrics", show_cursor=False)
            yield LineChart(id="compare-chart")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def action_refresh(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="compare-load")
    def load(self) -> None:
        """Compare the runs in a thread and post the result."""
        try:
            comparison = compare_runs(self.app.store, self.run_ids)  # type: ignore[attr-defined]
        except Exception as err:  # a deleted run or a database failure: tell, keep running
            self.app.call_from_thread(self.app.notify, str(err), severity="error")
            return
        self.post_message(Compared(comparison))

    def on_compared(self, message: Compared) -> None:
        comparison = self.comparison = message.comparison
        names = [f"#{r.id} {r.name}" for r in comparison.runs]
        ids = [r.id for r in comparison.runs]
        params = self.query_one("#compare-params", DataTable)
        params.clear(columns=True)
        params.add_columns("param", *names)
        params.add_rows(
            [(key, *(str(values.get(i)) for i in ids)) for key, values in comparison.params.items()]
        )
        params.styles.height = len(comparison.params) + 1
        self.query_one("#compare-params-title", Static).update(
            f"[b]Params that differ[/b] ({comparison.same_params} are the same)"
        )
        metrics = self.query_one("#compare-metrics", DataTable)
        metrics.clear(columns=True)
        metrics.add_columns("metric", *names)
        for key, per_run in sorted(comparison.metrics.items()):
            best = comparison.best_run.get(key)
            cells: list[Any] = [key]
            for run_id in ids:
                values = per_run.get(run_id)
                text = (
                    "-"
                    if values is None
                    else f"{metric_text(values['final'])} / {metric_text(values['best'])}"
                )
                cells.append(Text(text, style="bold green" if run_id == best else ""))
            metrics.add_row(*cells)
        metrics.styles.height = len(comparison.metrics) + 1
        if self.metric not in comparison.histories:
            keys = sorted(comparison.histories)
            self.metric = "val_loss" if "val_loss" in keys else (keys[0] if keys else None)
        self._draw()

    def action_export(self) -> None:
        """Open the export dialog for the comparison (or the compared runs' table or histories)."""
        stem = "compare-" + "-".join(str(i) for i in self.run_ids)
        scope = ExportScope(f"the {len(self.run_ids)} compared runs", list(self.run_ids), stem)
        self.app.push_screen(ExportScreen([scope], COMPARE_KINDS))

    def action_next_metric(self) -> None:
        if not self.comparison or not self.comparison.histories:
            return
        keys = sorted(self.comparison.histories)
        index = keys.index(self.metric) + 1 if self.metric in keys else 0
        self.metric = keys[index % len(keys)]
        self._draw()

    def _draw(self) -> None:
        chart = self.query_one("#compare-chart", LineChart)
        if self.comparison is None or self.metric is None:
            chart.set_series([])
            return
        curves = self.comparison.histories[self.metric]
        chart.title = f"{self.metric} per epoch (m: next metric)"
        chart.set_series([Series(f"#{r.id}", curves.get(r.id, [])) for r in self.comparison.runs])
