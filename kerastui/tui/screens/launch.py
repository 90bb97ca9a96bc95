"""The launch form: start from a spec or a run, edit it, validate as you type, save or launch.

Every field is text read like a `--set` override, and the whole form is
validated by the spec's own validation in a thread after each change, so the
messages are the command line's. An invalid form saves and launches nothing.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static

from kerastui.tui.screens.prompt import ConfirmScreen, PromptScreen
from kerastui.tui.spec_form import SpecForm, form_from_raw, raw_from_form
from kerastui.tui.widgets.layer_editor import LayerEditor

# The text fields of the form: (SpecForm attribute and input id, label, placeholder).
DATA_FIELDS = (
    ("name", "experiment name", "the experiment's name"),
    ("dataset", "dataset", "shapes, mnist, spirals..."),
    ("data", "data settings", "limit=4000, scale=true, options={...}"),
)
COMPILE_FIELDS = (
    ("optimizer", "optimizer", "Adam, SGD, RMSprop..."),
    ("learning_rate", "learning rate", "the optimizer's default"),
    ("optimizer_arguments", "optimizer args", "beta_1=0.9, ..."),
    ("loss", "loss", "categorical_crossentropy..."),
    ("loss_arguments", "loss args", "from_logits=true, ..."),
    ("metrics", "metrics", "accuracy, mae, ..."),
)
FIT_FIELDS = (
    ("epochs", "epochs", "10 (default)"),
    ("batch_size", "batch size", "32 (default)"),
    ("seed", "seed", "0 (default)"),
)
SWEEP_FIELDS = (
    ("sweep_max_runs", "sweep max runs", "every combination (grid)"),
    ("sweep_values", "sweep values", "compile.optimizer.learning_rate=[0.01, 0.001]"),
)
TEXT_FIELDS = DATA_FIELDS + COMPILE_FIELDS + FIT_FIELDS + SWEEP_FIELDS
SWEEP_METHODS = [("no sweep", "none"), ("grid", "grid"), ("random", "random")]
RUN_PREFIX = "run:"
RECENT_RUNS = 50
_FILE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


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


def run_choices(store: Any, include: int | None = None) -> list[tuple[str, str]]:
    """(label, source) of the newest runs, and of run `include` if it is older."""
    runs = store.list_runs(limit=RECENT_RUNS)
    if include is not None and all(r.id != include for r in runs):
        runs.append(store.get_run(include))
    return [(f"run {r.id} {r.name} ({r.experiment})", f"{RUN_PREFIX}{r.id}") for r in runs]


def engine_names() -> dict[str, list[str]]:
    """The names the form suggests: layers, datasets, optimizers and losses of the engine."""
    from experiments.spec.names import (
        dataset_loaders,
        layer_classes,
        loss_objects,
        optimizer_classes,
    )

    return {
        "layers": sorted(layer_classes()),
        "dataset": sorted(dataset_loaders()),
        "optimizer": sorted(optimizer_classes()),
        "loss": sorted(loss_objects()),
    }


@dataclass
class Checked:
    """What validating a form found: the spec to launch or save, or the problems."""

    raw: dict[str, Any] | None
    problems: list[str]
    runs: int = 0


def check_form(form: SpecForm) -> Checked:
    """Validate the form's spec with the spec's own validation (the command line's messages)."""
    from experiments.spec import SpecError, sweep_trials, validate_spec

    try:
        raw = raw_from_form(form)
        spec = validate_spec(raw)
    except SpecError as err:
        return Checked(None, [str(err)])
    except Exception as err:  # an engine object failing its dry run in a way the spec missed
        return Checked(None, [f"the spec cannot be built: {type(err).__name__}: {err}"])
    return Checked(raw, [], len(sweep_trials(spec.sweep)) if spec.sweep else 1)


def file_stem(name: str) -> str | None:
    """The file name (without `.toml`) a save-as answer stands for, or None when unusable."""
    stem = name.strip().removesuffix(".toml")
    return stem if _FILE_STEM.fullmatch(stem) else None


class Choices(Message):
    """The sources to start from, and the engine's names (None: unchanged), read in a thread."""

    def __init__(self, choices: list[tuple[str, str]], names: dict[str, list[str]] | None) -> None:
        super().__init__()
        self.choices = choices
        self.names = names


class Loaded(Message):
    """A source was read: the form it gives, or why it could not be read."""

    def __init__(self, source: str, form: SpecForm | None, problem: str = "") -> None:
        super().__init__()
        self.source = source
        self.form = form
        self.problem = problem


class Validated(Message):
    """The outcome of validating the form."""

    def __init__(self, generation: int, checked: Checked) -> None:
        super().__init__()
        self.generation = generation
        self.checked = checked


class Saving(Message):
    """A valid spec is ready to be saved: ask where."""

    def __init__(self, raw: dict[str, Any]) -> None:
        super().__init__()
        self.raw = raw


class LaunchScreen(Screen):
    """Start from an example, a workspace spec or a run; edit it; save it as TOML or launch it.

    Args:
        run_id: start from this run's stored spec; a launched run is then a rerun of it.
        workspace: the folder whose `experiments/` holds the specs (the current directory).

    Example:
        >>> app.push_screen(LaunchScreen(run_id=12))
    """

    CSS_PATH = "../styles/launch.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+l", "launch", "Launch"),
        Binding("ctrl+s", "save", "Save TOML"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
    ]

    def __init__(self, run_id: int | None = None, workspace: Path | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.workspace = workspace or Path.cwd()
        self.form: SpecForm | None = None
        self.loaded_source: str | None = None
        self.generation = 0
        # The generation whose validation the message shows.
        self.last = 0
        self.problems: list[str] = ["choose a spec to start from"]
        self.runs = 0
        # The form as loaded, saved or launched last: leaving with other values asks first.
        self.kept: SpecForm | None = None
        self.current_form_at_save: SpecForm | None = None
        # Why the chosen source could not be loaded (None once one is).
        self.load_problem: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="launch-form"):
            with Horizontal(classes="field"):
                yield Label("start from", classes="field-label")
                yield Select([], id="spec", prompt="reading the specs...", compact=True)
            yield from self._fields(DATA_FIELDS)
            yield LayerEditor(id="layer-editor")
            yield from self._fields(COMPILE_FIELDS)
            yield from self._fields(FIT_FIELDS)
            with Horizontal(classes="field"):
                yield Label("sweep", classes="field-label")
                yield Select(
                    SWEEP_METHODS, id="sweep_method", allow_blank=False, value="none", compact=True
                )
            yield from self._fields(SWEEP_FIELDS)
            with Horizontal(id="launch-buttons"):
                yield Button("Launch (ctrl+l)", id="launch-button", variant="primary")
                yield Button("Save TOML (ctrl+s)", id="save-button")
        with VerticalScroll(id="launch-status"):
            yield Static(self.problems[0], id="launch-message", classes="invalid")
        yield Footer()

    @staticmethod
    def _fields(specs: tuple[tuple[str, str, str], ...]) -> ComposeResult:
        for field_id, label, placeholder in specs:
            with Horizontal(classes="field"):
                yield Label(label, classes="field-label")
                yield Input(placeholder=placeholder, id=field_id, compact=True)

    def on_mount(self) -> None:
        self._read_choices()

    # Reading the sources and the engine's names -----------------------------------------

    @work(thread=True, group="launch-choices")
    def _read_choices(self, names: bool = True) -> None:
        store = self.app.store  # type: ignore[attr-defined]
        choices = spec_choices(self.workspace)
        try:
            choices += run_choices(store, self.run_id)
        except Exception as err:  # an unknown run or a database failure: the specs still work
            self.app.call_from_thread(self.app.notify, f"runs not listed: {err}", severity="error")
        self.post_message(Choices(choices, engine_names() if names else None))

    def on_choices(self, message: Choices) -> None:
        # A refresh keeps the source chosen: it is the one loaded, so nothing is read again.
        start = self.spec_source()
        if message.names is not None:
            for field_id in ("dataset", "optimizer", "loss"):
                self.query_one(f"#{field_id}", Input).suggester = SuggestFromList(
                    message.names[field_id], case_sensitive=False
                )
            self.query_one(LayerEditor).set_layer_types(message.names["layers"])
            start = f"{RUN_PREFIX}{self.run_id}" if self.run_id is not None else "shapes_cnn"
        select = self.query_one("#spec", Select)
        select.set_options(message.choices)
        if start in {source for _, source in message.choices}:
            select.value = start

    def spec_source(self) -> str | None:
        """The chosen source: an example name, a spec file path or `run:ID`; None if none."""
        value = self.query_one("#spec", Select).value
        return None if value is Select.BLANK else str(value)

    @property
    def parent_run_id(self) -> int | None:
        """The run the form started from (a launched run reruns it), if any."""
        source = self.loaded_source or ""
        return int(source.removeprefix(RUN_PREFIX)) if source.startswith(RUN_PREFIX) else None

    @on(Select.Changed, "#spec")
    def _source_chosen(self, event: Select.Changed) -> None:
        event.stop()
        source = self.spec_source()
        if source is not None and source != self.loaded_source:
            self._load(source)

    @work(thread=True, exclusive=True, group="launch-load")
    def _load(self, source: str) -> None:
        from experiments.spec import SpecError, read_spec_file

        store = self.app.store  # type: ignore[attr-defined]
        try:
            if source.startswith(RUN_PREFIX):
                raw = store.get_run(int(source.removeprefix(RUN_PREFIX))).spec
            else:
                raw = read_spec_file(source)
        except SpecError as err:
            self.post_message(Loaded(source, None, str(err)))
            return
        except Exception as err:  # an unknown run or a database failure: tell, keep running
            self.post_message(Loaded(source, None, f"cannot read {source}: {err}"))
            return
        if raw is None:
            problem = f"{source.replace(RUN_PREFIX, 'run ')} has no stored spec to start from"
            self.post_message(Loaded(source, None, problem))
            return
        try:
            form = form_from_raw(raw)
        except Exception as err:  # a file that is TOML but far from a spec: tell, keep running
            self.post_message(Loaded(source, None, f"cannot show {source} in the form: {err}"))
            return
        self.post_message(Loaded(source, form))

    def on_loaded(self, message: Loaded) -> None:
        if message.source != self.spec_source():
            return
        if message.form is None:
            # Nothing loaded: launching or saving must not fall back on the previous spec.
            self.form = self.kept = None
            self.loaded_source = None
            self.load_problem = message.problem
            self._show(Checked(None, [message.problem]))
            return
        self.load_problem = None
        form = self.form = message.form
        self.loaded_source = message.source
        # Until the new spec is checked, the old one's verdict does not apply.
        self.problems = ["checking the spec..."]
        self.query_one("#launch-message", Static).update(self.problems[0])
        for field_id, _, _ in TEXT_FIELDS:
            self.query_one(f"#{field_id}", Input).value = getattr(form, field_id)
        self.query_one("#sweep_method", Select).value = form.sweep_method or "none"
        builder = str((form.base.get("model") or {}).get("builder") or "")
        self.query_one(LayerEditor).load(copy.deepcopy(form.layers), builder)
        self.kept = self.current_form()
        self.validate_form()

    # Validation ------------------------------------------------------------------------------

    def current_form(self) -> SpecForm | None:
        """The form's fields as they are now (None before a source is loaded)."""
        if self.form is None:
            return None
        values = {f.name: getattr(self.form, f.name) for f in fields(SpecForm)}
        values.update(
            {
                field_id: self.query_one(f"#{field_id}", Input).value
                for field_id, _, _ in TEXT_FIELDS
            }
        )
        method = self.query_one("#sweep_method", Select).value
        values["sweep_method"] = "" if method in ("none", Select.BLANK) else str(method)
        rows = self.query_one(LayerEditor).rows
        # A copy: the validation thread must not see the list change under it.
        values["layers"] = copy.deepcopy(rows)
        return SpecForm(**values)

    @on(Input.Changed)
    @on(Select.Changed, "#sweep_method")
    @on(LayerEditor.Changed)
    def validate_form(self) -> None:
        """Validate the form (in a thread); the result shows below the form."""
        form = self.current_form()
        if form is None:
            return
        self.generation += 1
        self._validate(self.generation, form)

    @work(thread=True, exclusive=True, group="launch-validate")
    def _validate(self, generation: int, form: SpecForm) -> None:
        self.post_message(Validated(generation, check_form(form)))

    def on_validated(self, message: Validated) -> None:
        if message.generation == self.generation:
            self.last = message.generation
            self._show(message.checked)

    def _show(self, checked: Checked) -> None:
        self.problems = checked.problems
        self.runs = checked.runs
        if checked.problems:
            text = "\n".join(checked.problems)
        elif checked.runs > 1:
            text = f"valid: launching queues {checked.runs} runs (one per sweep trial)"
        else:
            text = "valid: ready to launch or save"
        problems = self.query_one("#launch-message", Static)
        problems.update(text)
        problems.set_class(bool(checked.problems), "invalid")

    def _refuse(self, what: str, problems: list[str]) -> None:
        self.app.call_from_thread(
            self.app.notify, "\n".join(problems), title=f"not {what}", severity="error"
        )

    # Leaving -------------------------------------------------------------------------------

    def _nothing_loaded(self, what: str) -> None:
        self.app.notify(
            self.load_problem or "choose a spec to start from first",
            title=f"not {what}",
            severity="error",
        )

    def _keep(self, form: SpecForm | None) -> None:
        """`form` is safe (loaded, saved or launched): leaving with it asks nothing."""
        self.kept = form

    def action_back(self) -> None:
        """Leave the form; with edits not saved nor launched, ask before dropping them."""
        current = self.current_form()
        if current is None or current == self.kept:
            self.app.pop_screen()
            return
        self.app.push_screen(
            ConfirmScreen("Leave the form? Your edits are neither saved nor launched."),
            lambda yes: self.app.pop_screen() if yes else None,
        )

    # Launch --------------------------------------------------------------------------------

    @on(Button.Pressed, "#launch-button")
    def action_launch(self) -> None:
        form = self.current_form()
        if form is None:
            self._nothing_loaded("launched")
            return
        self._launch(form, self.parent_run_id)

    @work(thread=True, exclusive=True, group="launch-submit")
    def _launch(self, form: SpecForm, parent_run_id: int | None) -> None:
        # Validated again here: the form may have changed since the last check.
        checked = check_form(form)
        if checked.raw is None:
            self._refuse("launched", checked.problems)
            return
        from experiments.submit import submit
        from experiments.sweeps import launch

        app: Any = self.app
        try:
            if "sweep" in checked.raw:
                run_ids = launch(checked.raw, app.store, parent_run_id=parent_run_id)
            else:
                run_ids = [submit(checked.raw, app.store, parent_run_id=parent_run_id)]
        except Exception as err:  # a trial the spec refuses, or the database: tell, keep running
            self._refuse("launched", [str(err)])
            return
        queued = ", ".join(str(i) for i in run_ids)
        reruns = "a rerun" if len(run_ids) == 1 else "reruns"
        rerun = f" ({reruns} of run {parent_run_id})" if parent_run_id else ""
        app.call_from_thread(
            app.notify, f"queued run{'s' if len(run_ids) > 1 else ''} {queued}{rerun}"
        )
        app.call_from_thread(self._keep, form)
        app.call_from_thread(app.refresh_screens)
        app.ensure_worker_running()

    # Save as TOML ----------------------------------------------------------------------------

    @on(Button.Pressed, "#save-button")
    def action_save(self) -> None:
        form = self.current_form()
        if form is None:
            self._nothing_loaded("saved")
            return
        self._check_for_save(form)

    @work(thread=True, exclusive=True, group="launch-save")
    def _check_for_save(self, form: SpecForm) -> None:
        self.current_form_at_save = form
        checked = check_form(form)
        if checked.raw is None:
            self._refuse("saved", checked.problems)
            return
        self.post_message(Saving(checked.raw))

    def on_saving(self, message: Saving) -> None:
        name = str((message.raw.get("experiment") or {}).get("name") or "")
        self.app.push_screen(
            PromptScreen(f"Save as {self.workspace / 'experiments'}/NAME.toml; NAME:", name),
            lambda answer: self._save_as(message.raw, answer),
        )

    def _save_as(self, raw: dict[str, Any], answer: str | None) -> None:
        if answer is None or not answer.strip():
            return
        stem = file_stem(answer)
        if stem is None:
            self.app.notify(
                f"{answer.strip()!r} is not a file name; use letters, digits, '-', '_' and '.', "
                "such as shapes_cnn_small",
                title="not saved",
                severity="error",
            )
            return
        path = self.workspace / "experiments" / f"{stem}.toml"
        if path.exists():
            self.app.push_screen(
                ConfirmScreen(f"experiments/{path.name} exists. Overwrite it?"),
                lambda yes: self._write(raw, path, True) if yes else None,
            )
            return
        self._write(raw, path, False)

    @work(thread=True, group="launch-save")
    def _write(self, raw: dict[str, Any], path: Path, overwrite: bool) -> None:
        from experiments.spec.writing import write_spec_file

        try:
            written = write_spec_file(raw, path, overwrite=overwrite)
        except (OSError, ValueError) as err:  # a file that appeared, a folder not writable
            self._refuse("saved", [str(err)])
            return
        self.app.call_from_thread(self.app.notify, f"saved {written}")
        self.app.call_from_thread(self._keep, self.current_form_at_save)
        self._read_choices(names=False)
