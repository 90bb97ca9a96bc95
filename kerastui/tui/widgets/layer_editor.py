"""The layer list of the launch form: add, remove, reorder layers and edit their arguments."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Label, Select, Static

from kerastui.tui.spec_form import LayerRow

DEFAULT_LAYER = "Dense"


class LayerTable(DataTable):
    """The table of layers; its keys act on the layer under the cursor."""

    BINDINGS = [
        Binding("a", "add", "Add layer"),
        Binding("x,delete", "remove", "Remove layer", key_display="x"),
        Binding("shift+up", "move(-1)", "Move up", key_display="⇧↑"),
        Binding("shift+down", "move(1)", "Move down", key_display="⇧↓"),
        Binding("enter", "select_cursor", "Edit arguments"),
    ]

    def _editor(self) -> LayerEditor:
        return self.query_ancestor(LayerEditor)

    def action_add(self) -> None:
        self._editor().add()

    def action_remove(self) -> None:
        self._editor().remove()

    def action_move(self, delta: int) -> None:
        self._editor().move(delta)


class LayerEditor(Vertical):
    """A model's layers as a list: each with its type and its `key=value` arguments.

    `a` adds a layer of the type chosen under the table after the highlighted
    one, `x` removes it, shift+up/down move it, enter edits its arguments in the
    field below. Every change posts `LayerEditor.Changed`.

    Example:
        >>> editor.load([LayerRow("Dense", "units=10")])
    """

    class Changed(Message):
        """The layers changed (one was added, removed, moved or its arguments edited)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[LayerRow] | None = []
        self.editing: int | None = None

    def compose(self) -> ComposeResult:
        yield Label("layers (a add, x remove, shift+up/down move, enter edit)", classes="section")
        yield LayerTable(id="layers", cursor_type="row", zebra_stripes=True)
        yield Static("", id="layers-builder")
        with Horizontal(classes="field"):
            yield Label("add layer type", classes="field-label")
            yield Select([], id="layer-type", prompt="reading the layers...", compact=True)
        with Horizontal(classes="field"):
            yield Label("arguments", classes="field-label", id="layer-args-label")
            yield Input(placeholder="key=value, ...", id="layer-args", compact=True)

    def on_mount(self) -> None:
        table = self.query_one(LayerTable)
        # Fixed widths for the short columns: DataTable could draw its header before
        # measuring auto-width columns and keep it until the next resize.
        table.add_column("#", width=3)
        table.add_column("type", width=22)  # the longest usual names: GlobalAveragePooling2D
        table.add_column("arguments")

    def set_layer_types(self, names: list[str]) -> None:
        """The layer classes a new layer can be (the engine's layer names)."""
        select = self.query_one("#layer-type", Select)
        select.set_options([(name, name) for name in names])
        if DEFAULT_LAYER in names:
            select.value = DEFAULT_LAYER

    def load(self, rows: list[LayerRow] | None, builder: str = "") -> None:
        """Show `rows` (None: the model is built by `builder`, and has no layer list)."""
        self.rows = rows
        note = self.query_one("#layers-builder", Static)
        note.update(
            f"the model is built by {builder or 'a builder function'}; "
            "its layers are edited in Python, not here"
        )
        note.display = rows is None
        for widget in (LayerTable, "#layer-type", "#layer-args"):
            self.query_one(widget).disabled = rows is None  # type: ignore[arg-type]
        self._redraw(0)

    def _redraw(self, cursor: int) -> None:
        table = self.query_one(LayerTable)
        table.clear()
        for i, row in enumerate(self.rows or []):
            table.add_row(str(i), row.type, row.arguments, key=str(i))
        if self.rows:
            table.move_cursor(row=max(0, min(cursor, len(self.rows) - 1)))
        self._edit(table.cursor_row if self.rows else None)

    def _edit(self, index: int | None) -> None:
        """Point the arguments field at layer `index`."""
        self.editing = index
        args = self.query_one("#layer-args", Input)
        label = self.query_one("#layer-args-label", Label)
        if index is None or not self.rows:
            label.update("arguments")
            args.value = ""
            return
        label.update(f"args of {index} {self.rows[index].type}")
        if args.value != self.rows[index].arguments:
            args.value = self.rows[index].arguments

    @property
    def cursor(self) -> int:
        """The index of the highlighted layer."""
        return self.query_one(LayerTable).cursor_row

    def add(self, kind: str | None = None) -> None:
        """Insert a layer of `kind` (the chosen type when None) after the highlighted one."""
        if self.rows is None:
            return
        if kind is None:
            value = self.query_one("#layer-type", Select).value
            if value is Select.BLANK:
                self.app.notify("choose the new layer's type below the table first")
                return
            kind = str(value)
        at = self.cursor + 1 if self.rows else 0
        self.rows.insert(at, LayerRow(kind))
        self._redraw(at)
        self.post_message(self.Changed())

    def remove(self) -> None:
        """Remove the highlighted layer."""
        if not self.rows:
            return
        at = self.cursor
        del self.rows[at]
        self._redraw(at)
        self.post_message(self.Changed())

    def move(self, delta: int) -> None:
        """Move the highlighted layer `delta` places (-1 up, 1 down)."""
        if not self.rows:
            return
        at = self.cursor
        to = at + delta
        if not 0 <= to < len(self.rows):
            return
        self.rows[at], self.rows[to] = self.rows[to], self.rows[at]
        self._redraw(to)
        self.post_message(self.Changed())

    def set_arguments(self, index: int, text: str) -> None:
        """Replace the arguments of layer `index` with `text` (`key=value` pairs)."""
        if not self.rows or not 0 <= index < len(self.rows):
            return
        if self.rows[index].arguments == text:
            return
        self.rows[index].arguments = text
        table = self.query_one(LayerTable)
        table.update_cell(str(index), table.ordered_columns[2].key, text)
        self.post_message(self.Changed())

    @on(DataTable.RowHighlighted, "#layers")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._edit(event.cursor_row)

    @on(DataTable.RowSelected, "#layers")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self._edit(event.cursor_row)
        self.query_one("#layer-args", Input).focus()

    @on(Input.Changed, "#layer-args")
    def _arguments_changed(self, event: Input.Changed) -> None:
        # The form listens to this editor's Changed, not to its inner field.
        event.stop()
        # A change that a later one already replaced belongs to the layer edited before.
        if self.editing is not None and event.value == event.input.value:
            self.set_arguments(self.editing, event.value)

    @on(Input.Submitted, "#layer-args")
    def _arguments_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(LayerTable).focus()

    @on(Select.Changed, "#layer-type")
    def _type_chosen(self, event: Select.Changed) -> None:
        event.stop()
