"""The launch form: editing a spec (layers, optimizer, sweep), validating, saving, launching.

Pilot tests on a real temporary database and workspace; the form's model
(`kerastui.tui.spec_form`) is tested against every example spec.
"""

from __future__ import annotations

import tomllib
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Select, Static

from experiments.spec import SpecError, list_examples, read_spec_file, resolve, validate_spec
from experiments.store import Store, forget_stores, open_store
from experiments.submit import submit
from kerastui.tui import KerastuiApp
from kerastui.tui.screens.detail import DetailScreen
from kerastui.tui.screens.launch import LaunchScreen, file_stem
from kerastui.tui.screens.prompt import ConfirmScreen, PromptScreen
from kerastui.tui.spec_form import SpecForm, form_from_raw, parse_pairs, raw_from_form, split_items
from tests.experiments.spec_helpers import mlp_raw
from tests.kerastui.conftest import Invoke
from tests.kerastui.tui_helpers import notifications, synchronous, wait_for

# The shapes CNN's layers, as `kerastui init` copies them.
SHAPES_LAYERS = [
    "Conv2D",
    "MaxPooling2D",
    "Conv2D",
    "MaxPooling2D",
    "Conv2D",
    "Flatten",
    "Dense",
    "Dense",
]


# The form's model -------------------------------------------------------------------------


@pytest.mark.parametrize("name", list_examples())
def test_every_example_goes_through_the_form_unchanged(name: str) -> None:
    raw = read_spec_file(name)
    assert validate_spec(raw_from_form(form_from_raw(raw))) == validate_spec(raw)
    # A run's stored spec (resolved, every default filled in) too.
    stored = resolve(validate_spec(raw))
    stored.pop("sweep", None)
    assert validate_spec(raw_from_form(form_from_raw(stored))) == validate_spec(stored)


def test_arguments_split_at_top_level_commas_and_before_keys() -> None:
    assert split_items('kernel_size=[3, 3], name="a, b" units=4 activation=relu') == [
        "kernel_size=[3, 3]",
        'name="a, b"',
        "units=4",
        "activation=relu",
    ]
    assert split_items("layer={ type = 'LSTM', units = 3 }, merge_mode=concat") == [
        "layer={ type = 'LSTM', units = 3 }",
        "merge_mode=concat",
    ]
    assert split_items("x = 3") == ["x = 3"]
    assert split_items("compile.optimizer.learning_rate=[0.1, 0.01] fit.batch_size=[8]") == [
        "compile.optimizer.learning_rate=[0.1, 0.01]",
        "fit.batch_size=[8]",
    ]
    assert split_items("  ") == []
    with pytest.raises(ValueError, match=r"model.layers\[2\]: 'units' is not key=value"):
        parse_pairs("units", "model.layers[2]")


def test_arguments_are_read_like_cli_overrides() -> None:
    form = form_from_raw(read_spec_file("shapes_cnn"))
    assert form.layers is not None
    assert form.layers[0].arguments == (
        "filters=32, kernel_size=[3, 3], activation=relu, input_shape=[32, 32, 3]"
    )
    # 16.0 where the spec had an integer is an integer, as `--set` reads it.
    form.layers[0].arguments = "filters=16.0 kernel_size=[5, 5] activation=tanh"
    form.learning_rate = "1"
    form.optimizer = "sgd"
    raw = raw_from_form(form)
    assert raw["model"]["layers"][0] == {
        "type": "Conv2D",
        "filters": 16,
        "kernel_size": [5, 5],
        "activation": "tanh",
    }
    assert raw["compile"]["optimizer"] == {"type": "sgd", "learning_rate": 1.0}
    assert validate_spec(raw).compile.optimizer.type == "SGD"
    form.optimizer_arguments = "learning_rate=3"
    with pytest.raises(SpecError, match=r"compile\.optimizer\.learning_rate: set by its own field"):
        raw_from_form(form)


def test_save_names() -> None:
    assert file_stem(" shapes_small.toml ") == "shapes_small"
    assert file_stem("v1.2-b_c") == "v1.2-b_c"
    assert file_stem("../escape") is None
    assert file_stem("a/b") is None
    assert file_stem(".hidden") is None


# The screen -------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """An empty database, with the test's folder as the workspace (the current directory)."""
    monkeypatch.chdir(tmp_path)
    yield open_store(f"sqlite:///{tmp_path / 'launch.db'}")
    forget_stores()


def app_for(store: Store, started: list[str]) -> KerastuiApp:
    return KerastuiApp(store=store, interval=0.2, start_worker=started.append)


async def open_launch(pilot, app: KerastuiApp, source: str = "shapes_cnn") -> LaunchScreen:  # type: ignore[no-untyped-def]
    """Open the launch form from the dashboard and wait until `source` is loaded and valid."""
    await pilot.pause(0.2)
    await pilot.press("l")
    screen = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen)
    await wait_for(pilot, lambda: screen.loaded_source == "shapes_cnn" and not screen.problems)
    if source != "shapes_cnn":
        screen.query_one("#spec", Select).value = source
        await wait_for(pilot, lambda: screen.loaded_source == source and not screen.problems)
    return screen


def message(screen: LaunchScreen) -> str:
    return str(screen.query_one("#launch-message", Static).render())


def layer_types(screen: LaunchScreen) -> list[str]:
    rows = screen.query_one("#layer-editor").rows  # type: ignore[attr-defined]
    return [row.type for row in rows]


# The form each validation of a launch screen checked, by generation.
_VALIDATED: weakref.WeakKeyDictionary[LaunchScreen, dict[int, SpecForm]]
_VALIDATED = weakref.WeakKeyDictionary()


@pytest.fixture(autouse=True)
def _record_validations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record the form every validation of every launch screen checks (see `settle`)."""
    validate = LaunchScreen._validate

    def recording(self: LaunchScreen, generation: int, form: SpecForm) -> Any:
        _VALIDATED.setdefault(self, {})[generation] = form
        return validate(self, generation, form)

    monkeypatch.setattr(LaunchScreen, "_validate", recording)


async def settle(pilot, screen: LaunchScreen) -> None:  # type: ignore[no-untyped-def]
    """Wait until the message below the form is the validation of the form as it is now.

    A field set, or a key pressed in the layer editor, reaches the screen as a
    message a few hops later, and only then is the form validated (in a thread):
    this waits until the last validation shown checked exactly the form's current
    values (recorded by `_record_validations`), however long those hops take.
    """
    await wait_for(
        pilot,
        lambda: (
            screen.last == screen.generation
            and _VALIDATED.get(screen, {}).get(screen.last) == screen.current_form()
        ),
    )


@synchronous
async def test_edit_layers_and_optimizer_then_launch(store: Store) -> None:
    started: list[str] = []
    app = app_for(store, started)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_launch(pilot, app)
        assert layer_types(screen) == SHAPES_LAYERS
        screen.query_one("#layers").focus()
        # Remove the third convolution (row 4).
        await pilot.press("down", "down", "down", "down", "x")
        assert layer_types(screen) == [*SHAPES_LAYERS[:4], *SHAPES_LAYERS[5:]]
        # Add a Dropout after the Dense(64) (row 5), typing its argument.
        screen.query_one("#layer-type", Select).value = "Dropout"
        await pilot.press("down", "a")
        assert layer_types(screen)[6] == "Dropout"
        await settle(pilot, screen)
        assert "model.layers[6]" in message(screen) and screen.problems
        await pilot.press("enter")
        assert screen.focused is screen.query_one("#layer-args", Input)
        await pilot.press(*"rate=0.25", "enter")
        # Move it up, between Flatten and the Dense(64).
        await pilot.press("shift+up")
        assert layer_types(screen) == [
            "Conv2D",
            "MaxPooling2D",
            "Conv2D",
            "MaxPooling2D",
            "Flatten",
            "Dropout",
            "Dense",
            "Dense",
        ]
        # Edit the Dense(64)'s arguments: its field opens with the text selected.
        await pilot.press("down", "enter")
        await pilot.press(*"units=32, activation=tanh", "enter")
        screen.query_one("#optimizer", Input).value = "SGD"
        screen.query_one("#learning_rate", Input).value = "0.05"
        screen.query_one("#epochs", Input).value = "1"
        await settle(pilot, screen)
        assert screen.problems == [] and "valid" in message(screen)

        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: store.count_runs() == 1)
        run = store.get_run(store.list_runs()[0].id)
        layers = run.spec["model"]["layers"]
        assert [layer["type"] for layer in layers] == layer_types(screen)
        assert layers[5] == {"type": "Dropout", "rate": 0.25}
        assert layers[6] == {"type": "Dense", "units": 32, "activation": "tanh"}
        assert run.spec["compile"]["optimizer"] == {"type": "SGD", "learning_rate": 0.05}
        assert run.status == "queued" and run.epochs_total == 1 and run.parent_run_id is None
        await wait_for(pilot, lambda: started == [store.url])


@synchronous
async def test_an_invalid_argument_shows_the_cli_message_and_nothing_happens(
    store: Store, cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kerastui.cli.training.ensure_worker", lambda url, slots=1: None)
    result = cli("--db", store.url, "launch", "shapes_cnn", "--set", "model.layers[7].unit=10")
    assert result.exit_code == 1 and store.count_runs() == 0
    # "invalid experiment spec FILE: <the message>." on stderr.
    cli_message = result.stderr.strip().split("shapes_cnn.toml: ", 1)[1].rstrip(".")
    assert cli_message.startswith("model.layers[7].unit: layer Dense has no argument 'unit'")

    started: list[str] = []
    app = app_for(store, started)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_launch(pilot, app)
        screen.query_one("#layers").focus()
        await pilot.press(*["down"] * 7, "enter")
        await pilot.press(*"unit=10, units=10, activation=softmax")
        await wait_for(pilot, lambda: screen.problems)
        assert cli_message in message(screen)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: any(cli_message in m for m in notifications(app)))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: sum(cli_message in m for m in notifications(app)) == 2)
        assert not isinstance(app.screen, PromptScreen)
        # A malformed argument: one sentence on what to write instead.
        screen.query_one("#layer-args", Input).value = "units"
        await wait_for(pilot, lambda: "is not key=value" in message(screen))
        await pilot.press("ctrl+l")
        # The launch thread refuses (and has submitted nothing) before it says so.
        await wait_for(pilot, lambda: any("is not key=value" in m for m in notifications(app)))
    assert store.count_runs() == 0 and started == []
    assert not (tmp_path / "experiments").exists()


@synchronous
async def test_save_writes_toml_that_loads_back_equal_and_asks_before_overwriting(
    store: Store, tmp_path: Path
) -> None:
    app = app_for(store, [])
    target = tmp_path / "experiments" / "shapes_small.toml"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_launch(pilot, app)
        screen.query_one("#name", Input).value = "shapes_small"
        screen.query_one("#epochs", Input).value = "3"
        screen.query_one("#data", Input).value = "scale=true, one_hot=true, limit=128"
        await settle(pilot, screen)
        await pilot.press("ctrl+s")
        prompt = await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen)
        assert prompt.query_one(Input).value == "shapes_small"
        await pilot.press("enter")
        await wait_for(pilot, target.exists)
        form = screen.current_form()
        assert form is not None
        written = tomllib.loads(target.read_text())
        assert validate_spec(written) == validate_spec(raw_from_form(form))
        assert written["fit"]["epochs"] == 3 and written["data"]["limit"] == 128
        # The saved file is offered as a source; the form keeps its own.
        select = screen.query_one("#spec", Select)
        await wait_for(pilot, lambda: str(target) in {v for _, v in select._options})
        assert screen.spec_source() == "shapes_cnn" and screen.loaded_source == "shapes_cnn"
        assert screen.query_one("#epochs", Input).value == "3"

        # The same name again: asked first; "n" keeps the file as it was.
        screen.query_one("#epochs", Input).value = "4"
        await settle(pilot, screen)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause(0.3)
        assert tomllib.loads(target.read_text())["fit"]["epochs"] == 3
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: tomllib.loads(target.read_text())["fit"]["epochs"] == 4)

        # A name that is not a file name saves nothing.
        await pilot.press("ctrl+s")
        prompt = await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen)
        prompt.query_one(Input).value = "../elsewhere"
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("not a file name" in m for m in notifications(app)))
        assert sorted(p.name for p in target.parent.iterdir()) == ["shapes_small.toml"]
    # The saved spec is one the command line launches as it is.
    assert validate_spec(read_spec_file(target)).fit.epochs == 4


@synchronous
async def test_sweep_values_queue_one_run_per_trial(store: Store) -> None:
    started: list[str] = []
    app = app_for(store, started)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_launch(pilot, app, "shapes_sweep")
        assert "6 runs" in message(screen)
        values = screen.query_one("#sweep_values", Input)
        assert values.value == (
            "compile.optimizer.learning_rate=[0.003, 0.001, 0.0003], fit.batch_size=[32, 64]"
        )
        values.value = "fit.batch_size=[16, 32, 64]"
        await wait_for(pilot, lambda: "3 runs" in message(screen))
        # A sweep path the spec does not have: the sweep's own message.
        values.value = "fit.batch_sise=[16, 32]"
        await wait_for(pilot, lambda: 'sweep.parameters."fit.batch_sise"' in message(screen))
        values.value = "fit.batch_size=[16, 32, 64]"
        screen.query_one("#epochs", Input).value = "1"
        await wait_for(pilot, lambda: "3 runs" in message(screen))
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: store.count_runs() == 3)
        sweeps = store.list_sweeps()
        assert len(sweeps) == 1
        runs = store.list_runs(sweep_id=sweeps[0].id)
        assert sorted(store.run_params(r.id)["fit.batch_size"] for r in runs) == [16, 32, 64]
        assert {r.epochs_total for r in runs} == {1}

        # Any spec becomes a sweep by choosing a method and giving values.
        screen.query_one("#spec", Select).value = "shapes_cnn"
        await wait_for(pilot, lambda: screen.loaded_source == "shapes_cnn" and not screen.problems)
        assert screen.query_one("#sweep_method", Select).value == "none"
        screen.query_one("#sweep_method", Select).value = "grid"
        await wait_for(pilot, lambda: "sweep.parameters" in message(screen))
        screen.query_one(
            "#sweep_values", Input
        ).value = "compile.optimizer.learning_rate=[0.01, 0.001]"
        await wait_for(pilot, lambda: "2 runs" in message(screen))
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: store.count_runs() == 5)
    assert len(store.list_sweeps()) == 2
    assert len(started) == 2


@synchronous
async def test_rerun_with_edits_from_the_run_detail(store: Store) -> None:
    parent = submit(mlp_raw(), store)
    app = app_for(store, [])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        app.open_detail(parent)
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.run)
        await pilot.press("E")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen)
        await wait_for(
            pilot, lambda: screen.loaded_source == f"run:{parent}" and not screen.problems
        )
        assert screen.query_one("#name", Input).value == "spirals_mlp"
        assert layer_types(screen) == ["Dense", "Dense"]
        screen.query_one("#epochs", Input).value = "5"
        screen.query_one("#learning_rate", Input).value = "0.02"
        await settle(pilot, screen)
        assert screen.problems == []
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: store.count_runs() == 2)
        await wait_for(pilot, lambda: any("a rerun of run" in m for m in notifications(app)))
    rerun = store.get_run(store.list_runs()[0].id)
    assert rerun.id != parent and rerun.parent_run_id == parent
    assert rerun.spec["fit"]["epochs"] == 5 and rerun.epochs_total == 5
    assert rerun.spec["compile"]["optimizer"]["learning_rate"] == 0.02
    # Everything not edited is the parent's.
    assert rerun.spec["model"] == store.get_run(parent).spec["model"]


@synchronous
async def test_a_builder_model_is_kept_and_its_layers_are_not_offered(store: Store) -> None:
    app = app_for(store, [])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_launch(pilot, app, "sentiment_transformer")
        note = screen.query_one("#layers-builder", Static)
        assert note.display and "built by" in str(note.render())
        assert screen.query_one("#layers").disabled
        screen.query_one("#epochs", Input).value = "1"
        await settle(pilot, screen)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: store.count_runs() == 1)
    run = store.get_run(store.list_runs()[0].id)
    assert (
        run.spec["model"]["builder"] == read_spec_file("sentiment_transformer")["model"]["builder"]
    )
    assert run.epochs_total == 1


@synchronous
async def test_leaving_with_unsaved_edits_asks_first(store: Store, tmp_path: Path) -> None:
    from kerastui.tui.screens.dashboard import DashboardScreen

    app = app_for(store, [])
    async with app.run_test(size=(120, 40)) as pilot:
        # Nothing edited: escape leaves at once.
        screen = await open_launch(pilot, app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))

        # Edited: escape asks; n keeps the form and the edit, y leaves.
        screen = await open_launch(pilot, app)
        screen.query_one("#epochs", Input).value = "7"
        await settle(pilot, screen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.query_one("#epochs", Input).value == "7"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))

        # Edited and saved: nothing is lost, escape leaves at once.
        screen = await open_launch(pilot, app)
        screen.query_one("#epochs", Input).value = "9"
        await settle(pilot, screen)
        await pilot.press("ctrl+s")
        prompt = await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen)
        prompt.query_one(Input).value = "nine_epochs"
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "experiments" / "nine_epochs.toml").exists())
        await wait_for(pilot, lambda: screen.kept == screen.current_form())
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
    assert store.count_runs() == 0


@pytest.mark.parametrize("name", ["2d shapes", "3layers", "true", "nan", 'a"b', "shapes_cnn"])
def test_experiment_names_go_through_the_form_as_they_are(name: str) -> None:
    raw = mlp_raw()
    raw["experiment"]["name"] = name
    form = form_from_raw(raw)
    assert form.name == name
    assert validate_spec(raw_from_form(form)).experiment.name == name


@synchronous
async def test_a_source_that_fails_to_load_launches_and_saves_nothing(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "bad.toml").write_text("experiment = [broken\n")
    app = app_for(store, [])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_launch(pilot, app)
        bad = str(tmp_path / "experiments" / "bad.toml")
        await wait_for(
            pilot,
            lambda: bad in {str(v) for _, v in screen.query_one("#spec", Select)._options},
        )
        screen.query_one("#spec", Select).value = bad
        await wait_for(pilot, lambda: "TOML syntax error" in message(screen))
        assert screen.form is None
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: any("TOML syntax error" in m for m in notifications(app)))
        await pilot.press("ctrl+s")
        # Refused at once with the same problem: no check runs, so no prompt can follow.
        await wait_for(
            pilot, lambda: sum("TOML syntax error" in m for m in notifications(app)) == 2
        )
        assert not isinstance(app.screen, PromptScreen)
        # Escape leaves at once: there is no form to lose.
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LaunchScreen))
    assert store.count_runs() == 0
