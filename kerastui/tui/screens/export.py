"""The export dialog: runs tables, per-epoch histories, models and comparisons, to a file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from experiments.export import export_comparison, export_history, export_model, export_runs
from kerastui.tui.screens.prompt import ConfirmScreen

# (kind, label, file suffix): what the dialog can write.
KINDS: dict[str, tuple[str, str]] = {
    "runs-csv": ("runs table (CSV)", "csv"),
    "runs-json": ("runs table (JSON)", "json"),
    "runs-md": ("runs table (Markdown)", "md"),
    "history-csv": ("per-epoch histories, long form (CSV)", "history.csv"),
    "model-keras": ("model: architecture, weights, optimizer (.keras)", "keras"),
    "model-npz": ("model weights (.npz)", "npz"),
    "compare-csv": ("comparison: differing params, metrics (CSV)", "csv"),
    "compare-json": ("comparison: differing params, metrics (JSON)", "json"),
    "compare-md": ("comparison: differing params, metrics (Markdown)", "md"),
}
RUN_KINDS = ("runs-csv", "runs-json", "runs-md", "history-csv", "model-keras", "model-npz")
COMPARE_KINDS = ("compare-csv", "compare-json", "compare-md", "runs-csv", "history-csv")
CHECKPOINTS = (("last checkpoint", "last"), ("best checkpoint", "best"), ("epoch N", "epoch"))
EXPORTS_DIR = Path("exports")


@dataclass(frozen=True)
class ExportScope:
    """Which runs an export covers.

    Args:
        label: how the dialog names them ("run #3 brave-otter-3").
        run_ids: the runs; None for every run matching `where` (read when exporting).
        stem: the default file name without its suffix.
        where: the filter, when `run_ids` is None (None: every run).

    Example:
        >>> ExportScope("run #3 brave-otter-3", [3], "brave-otter-3")
    """

    label: str
    run_ids: list[int] | None
    stem: str
    where: Any = None


class ExportScreen(ModalScreen[Path | None]):
    """Choose what to export (and of which runs, and from which checkpoint) and where.

    The file is written in a thread worker with the `experiments.export`
    functions; an existing file is replaced only after a confirmation. Dismisses
    with the written path, or None when cancelled.

    Args:
        scopes: the runs to choose from; the first is chosen at first.
        kinds: the kinds of export offered (keys of `KINDS`); the first is chosen at first.
        directory: where the default path points (`exports/` under the current directory).

    Example:
        >>> app.push_screen(ExportScreen([ExportScope("run #3", [3], "run-3")], ["model-keras"]))
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "export", "Export"),
    ]

    def __init__(
        self,
        scopes: list[ExportScope],
        kinds: tuple[str, ...] | list[str] = RUN_KINDS,
        directory: Path = EXPORTS_DIR,
    ) -> None:
        super().__init__()
        if not scopes:
            raise ValueError("an export needs at least one set of runs to export")
        self.scopes = scopes
        self.kinds = list(kinds)
        self.directory = directory
        self.scope = scopes[0]
        self.kind = self.kinds[0]
        self.checkpoint = "last"
        self._default_path = self.default_path()
        self.written: Path | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="export"):
            yield Label("[b]Export[/b]  ctrl+s or enter: export, escape: cancel")
            with Horizontal(classes="export-row"):
                yield Label("Path", classes="export-label")
                yield Input(value=str(self._default_path), id="export-path")
            with Horizontal(classes="export-row"):
                yield Label("What", classes="export-label")
                yield Select(
                    [(KINDS[k][0], k) for k in self.kinds],
                    value=self.kind,
                    allow_blank=False,
                    id="export-kind",
                )
            with Horizontal(classes="export-row"):
                yield Label("Of", classes="export-label")
                if len(self.scopes) > 1:
                    yield Select(
                        [(s.label, i) for i, s in enumerate(self.scopes)],
                        value=0,
                        allow_blank=False,
                        id="export-scope",
                    )
                else:
                    yield Label(self.scope.label, id="export-scope-label")
            with Horizontal(classes="export-row", id="export-checkpoint-row"):
                yield Label("From", classes="export-label")
                yield Select(CHECKPOINTS, value="last", allow_blank=False, id="export-checkpoint")
                yield Input(placeholder="epoch", id="export-epoch", type="integer")
            yield Static("", id="export-message")
            with Horizontal(classes="buttons"):
                yield Button("Export", id="export-go", variant="primary")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self._sync()
        self.query_one("#export-path", Input).focus()

    # Choices ----------------------------------------------------------------------------

    def default_path(self) -> Path:
        """`exports/<runs>.<suffix>` for the current choices."""
        suffix = KINDS[self.kind][1]
        stem = self.scope.stem
        if self.kind.startswith("model-"):
            stem = f"{stem}-{self.checkpoint}"
        return self.directory / f"{stem}.{suffix}"

    def _sync(self) -> None:
        """Show the checkpoint choice only for models, and follow the choices in the path."""
        model = self.kind.startswith("model-")
        self.query_one("#export-checkpoint-row").display = model
        self.query_one("#export-epoch", Input).display = model and self.checkpoint == "epoch"
        path = self.query_one("#export-path", Input)
        if path.value.strip() in ("", str(self._default_path)):
            # The user has not typed a path of their own: follow the choices.
            self._default_path = self.default_path()
            path.value = str(self._default_path)
        else:
            self._default_path = self.default_path()

    @on(Select.Changed)
    def _changed(self, event: Select.Changed) -> None:
        if event.value is Select.BLANK:
            return
        if event.select.id == "export-kind":
            self.kind = str(event.value)
        elif event.select.id == "export-scope":
            self.scope = self.scopes[int(event.value)]  # type: ignore[arg-type]
        elif event.select.id == "export-checkpoint":
            self.checkpoint = str(event.value)
        self._message("")
        self._sync()

    def choose(
        self,
        kind: str | None = None,
        scope: int | None = None,
        checkpoint: str | None = None,
    ) -> None:
        """Set the choices as the selects would (keyboard users and scripts).

        Args:
            kind: a key of `KINDS` offered by this dialog.
            scope: the index of a scope.
            checkpoint: "last", "best" or "epoch".
        """
        if kind is not None:
            self.query_one("#export-kind", Select).value = kind
            self.kind = kind
        if scope is not None and len(self.scopes) > 1:
            self.query_one("#export-scope", Select).value = scope
            self.scope = self.scopes[scope]
        if checkpoint is not None:
            self.query_one("#export-checkpoint", Select).value = checkpoint
            self.checkpoint = checkpoint
        self._sync()

    def _message(self, text: str, error: bool = False) -> None:
        self.query_one("#export-message", Static).update(
            Text(text, style="bold red" if error else "")
        )

    # Exporting --------------------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.action_export()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export-go":
            self.action_export()
        else:
            self.action_cancel()

    def problem(self) -> str | None:
        """What is wrong with the choices, in one sentence; None when they can be exported."""
        text = self.query_one("#export-path", Input).value.strip()
        if not text:
            return "give a file path to export to, e.g. exports/runs.csv"
        path = Path(text).expanduser()
        if path.is_dir():
            return f"{path} is a folder; give a file name inside it, e.g. {path / 'runs.csv'}"
        if self.kind.startswith("model-"):
            if self.scope.run_ids is None or len(self.scope.run_ids) != 1:
                return "a model comes from one run; choose a single run under Of"
            ending = ".keras" if self.kind == "model-keras" else ".npz"
            if not path.name.endswith(ending):
                return f"a {KINDS[self.kind][0]} export needs a path ending in {ending}"
            if self.checkpoint == "epoch" and not self._epoch():
                return "give the checkpoint's epoch as a whole number, e.g. 3"
        return None

    def _epoch(self) -> int | None:
        text = self.query_one("#export-epoch", Input).value.strip()
        return int(text) if text.isdigit() and int(text) > 0 else None

    def action_export(self) -> None:
        problem = self.problem()
        if problem:
            self._message(problem, error=True)
            return
        path = Path(self.query_one("#export-path", Input).value.strip()).expanduser()
        if path.exists():
            self.app.push_screen(
                ConfirmScreen(f"{path} exists. Replace it?"),
                lambda yes: self._start(path) if yes else self._message("not exported"),
            )
            return
        self._start(path)

    def _start(self, path: Path) -> None:
        self._message(f"exporting to {path} ...")
        self.query_one("#export-go", Button).disabled = True
        self.write(path, self.kind, self.scope, self.checkpoint, self._epoch())

    @work(thread=True, exclusive=True, group="export")
    def write(
        self, path: Path, kind: str, scope: ExportScope, checkpoint: str, epoch: int | None
    ) -> None:
        """Write the export (in a thread: a model or 10,000 runs take a while) and report."""
        store = self.app.store  # type: ignore[attr-defined]
        try:
            ids = scope.run_ids
            if ids is None:
                ids = [r.id for r in store.list_runs(where=scope.where)]
            if not ids:
                raise ValueError("no runs match; nothing to export")
            if kind.startswith("runs-"):
                written = export_runs(store, ids, kind.removeprefix("runs-"), path)
            elif kind == "history-csv":
                written = export_history(store, ids, path)
            elif kind.startswith("compare-"):
                written = export_comparison(store, ids, kind.removeprefix("compare-"), path)
            else:
                written = export_model(
                    store,
                    ids[0],
                    path,
                    best=checkpoint == "best",
                    epoch=epoch if checkpoint == "epoch" else None,
                )
        except Exception as err:  # no checkpoint, unwritable path...: the message says which
            self.app.call_from_thread(self._failed, str(err))
            return
        self.app.call_from_thread(self._done, Path(written))

    def _failed(self, error: str) -> None:
        self.query_one("#export-go", Button).disabled = False
        self._message(error, error=True)
        self.app.notify(f"export failed: {error}", severity="error")

    def _done(self, path: Path) -> None:
        self.written = path
        self.app.notify(f"exported {KINDS[self.kind][0]} to {path}")
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
