"""A run's model summary: one row per layer (name, type, output shape, params) and the totals."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from experiments.model_summary import ModelSummary, model_summary


class ModelSummaryView(Vertical):
    """The layer table of a run's model, built from its spec in a thread worker (never trained).

    Args:
        run_id: the run whose model to show.
        id: the widget's id.

    Example:
        >>> yield ModelSummaryView(12, id="detail-model")
    """

    class Loaded(Message):
        """The summary was built (summary None: it could not be; `error` says why)."""

        def __init__(self, summary: ModelSummary | None, error: str = "") -> None:
            super().__init__()
            self.summary = summary
            self.error = error

    def __init__(self, run_id: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run_id = run_id
        self.summary: ModelSummary | None = None

    def compose(self) -> ComposeResult:
        yield Static("building the model from the run's spec ...", classes="model-totals")
        yield DataTable(show_cursor=False, classes="model-layers")

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="model-summary")
    def load(self) -> None:
        """Build the model for the run's input shape (no training) and post its summary."""
        try:
            summary = model_summary(self.app.store, self.run_id)  # type: ignore[attr-defined]
        except Exception as err:  # a spec that no longer builds, a deleted run: say why
            self.post_message(self.Loaded(None, f"{type(err).__name__}: {err}"))
            return
        self.post_message(self.Loaded(summary))

    def on_model_summary_view_loaded(self, message: Loaded) -> None:
        message.stop()
        totals = self.query_one(".model-totals", Static)
        summary = self.summary = message.summary
        if summary is None:
            totals.update(f"no model summary: {message.error}")
            return
        table = self.query_one(".model-layers", DataTable)
        table.clear(columns=True)
        table.add_columns("layer", "type", "output shape", "params")
        for layer in summary.layers:
            params = Text(f"{layer.params:,}", justify="right")
            table.add_row(layer.name, layer.type, layer.output_shape, params)
        table.styles.height = len(summary.layers) + 1
        shape = summary.input_shape if summary.input_shape is not None else "as in the spec"
        totals.update(
            f"{summary.name}: {summary.total_params:,} params "
            f"({summary.trainable_params:,} trainable, "
            f"{summary.non_trainable_params:,} non-trainable); "
            f"input shape {shape} (from the {summary.shape_source})"
        )
