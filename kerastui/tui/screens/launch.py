"""The launch form: a spec, a few overrides validated as you type, and launch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static

# The fields of the form: (input id, label, dotted spec path).
FIELDS = (
    ("epochs", "epochs", "fit.epochs"),
    ("batch_size", "batch size", "fit.batch_size"),
    ("learning_rate", "learning rate", "compile.optimizer.learning_rate"),
    ("seed", "seed", "fit.seed"),
    ("limit", "data limit", "data.limit"),
)


def spec_choices(workspace: Path | None = None) -> list[tuple[str, str]]:
    """(label, source) of every example spec, then the workspace's `experiments/*.toml`."""
    # The spec package imports the whole engine: imported here, in a worker thread,
    # it never delays the dashboard's first frame.
    from experiments.spec import list_examples

    choices = [(f"example: {name}", name) for name in list_examples()]
    folder = (workspace or Path.cwd()) / "experiments"
    if folder.is_dir():
        choices += [(f"workspace: {p.name}", str(p)) for p in sorted(folder.glob("*.toml"))]
    return choices


def form_overrides(values: dict[str, str]) -> dict[str, str]:
    """The spec overrides the non-empty form fields stand for (`{"fit.epochs": "3"}`)."""
    paths = {field_id: path for field_id, _, path in FIELDS}
    return {paths[k]: v.strip() for k, v in values.items() if k in paths and v.strip()}


class Choices(Message):
    """The specs to choose from, read in a thread."""

    def __init__(self, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.choices = choices


class Validated(Message):
    """The outcome of validating the form: the problems (empty when valid)."""

    def __init__(self, generation: int, problems: list[str]) -> None:
        super().__init__()
        self.generation = generation
        self.problems = problems


class LaunchScreen(Screen):
    """Pick a spec, edit epochs, batch size, learning rate, seed and data limit, launch.

    Every change is validated in a thread with the spec's own messages; launching
    an invalid form queues nothing.

    Example:
        >>> app.push_screen(LaunchScreen())
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+l", "launch", "Launch"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.problems: list[str] = ["choose a spec"]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="launch"):
            yield Label("spec")
            yield Select([], id="spec", prompt="reading the specs...")
            for field_id, label, path in FIELDS:
                with Horizontal(classes="field"):
                    yield Label(f"{label} ({path})", classes="field-label")
                    yield Input(placeholder="spec default", id=field_id)
            yield Static("", id="launch-problems")
            yield Button("Launch (ctrl+l)", id="launch-button", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self._read_choices()

    @work(thread=True, group="launch-choices")
    def _read_choices(self) -> None:
        self.post_message(Choices(spec_choices()))

    def on_choices(self, message: Choices) -> None:
        select = self.query_one("#spec", Select)
        select.set_options(message.choices)
        if any(source == "shapes_cnn" for _, source in message.choices):
            select.value = "shapes_cnn"
        self.validate_form()

    def form_values(self) -> dict[str, str]:
        """The text of every field."""
        return {field_id: self.query_one(f"#{field_id}", Input).value for field_id, _, _ in FIELDS}

    def spec_source(self) -> str | None:
        """The chosen spec (an example name or a path), or None."""
        value = self.query_one("#spec", Select).value
        return None if value is Select.BLANK else str(value)

    @on(Input.Changed)
    @on(Select.Changed)
    def validate_form(self) -> None:
        """Validate the spec with the form's overrides (in a thread)."""
        self.generation += 1
        self._validate(self.generation, self.spec_source(), form_overrides(self.form_values()))

    @work(thread=True, exclusive=True, group="launch-validate")
    def _validate(self, generation: int, source: str | None, overrides: dict[str, str]) -> None:
        self.post_message(Validated(generation, check(source, overrides)))

    def on_validated(self, message: Validated) -> None:
        if message.generation != self.generation:
            return
        self.problems = message.problems
        text = "\n".join(message.problems) if message.problems else "valid: ready to launch"
        problems = self.query_one("#launch-problems", Static)
        problems.update(text)
        problems.set_class(bool(message.problems), "invalid")

    @on(Button.Pressed, "#launch-button")
    def action_launch(self) -> None:
        source = self.spec_source()
        overrides = form_overrides(self.form_values())
        self._launch(source, overrides)

    @work(thread=True, exclusive=True, group="launch-submit")
    def _launch(self, source: str | None, overrides: dict[str, str]) -> None:
        # Validated again here: the form may have changed since the last check.
        problems = check(source, overrides)
        if problems:
            self.app.call_from_thread(
                self.app.notify, "\n".join(problems), title="not launched", severity="error"
            )
            return
        from experiments.sweeps import launch

        app: Any = self.app
        try:
            # A sweep spec queues every trial; any other spec queues one run.
            run_ids = launch(source, app.store, overrides)
        except Exception as err:  # a spec or database problem: tell, keep running
            app.call_from_thread(app.notify, str(err), title="not launched", severity="error")
            return
        queued = ", ".join(str(i) for i in run_ids)
        app.call_from_thread(app.notify, f"queued run{'s' if len(run_ids) > 1 else ''} {queued}")
        app.call_from_thread(app.refresh_screens)
        app.ensure_worker_running()


def check(source: str | None, overrides: dict[str, str]) -> list[str]:
    """The problems of `source` with `overrides` (the spec's own messages), empty when valid."""
    from experiments.spec import SpecError, read_spec_file, validate_spec

    if source is None:
        return ["choose a spec"]
    try:
        validate_spec(read_spec_file(source), overrides)
    except SpecError as err:
        return [str(err)]
    except (OSError, ValueError) as err:  # an unreadable or malformed TOML file
        return [str(err)]
    return []
