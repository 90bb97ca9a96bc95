"""Pilot tests of the export dialog (dashboard, detail, compare) and the detail's model summary."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import DataTable, Input, Static

from engine.models import load_model
from experiments.model_summary import build_run_model
from experiments.store import Store, npz_to_arrays
from kerastui.tui import KerastuiApp
from kerastui.tui.screens.compare import CompareScreen
from kerastui.tui.screens.detail import DetailScreen
from kerastui.tui.screens.export import ExportScreen
from kerastui.tui.screens.prompt import ConfirmScreen
from kerastui.tui.widgets.model_summary import ModelSummaryView
from tests.kerastui.tui_helpers import (
    notifications,
    store_from,
    synchronous,
    trained_database,
    wait_for,
)


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two completed 3-epoch runs differing in learning rate (ids 1, 2), one queued (3)."""
    return trained_database(tmp_path_factory.mktemp("tui-export"), queued=1)


@pytest.fixture
def store(tmp_path: Path, _template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    yield from store_from(_template, tmp_path, monkeypatch)


def _notified(app: KerastuiApp, text: str) -> bool:
    return any(text in m for m in notifications(app))


def app_for(store: Store) -> KerastuiApp:
    return KerastuiApp(store=store, interval=0.2, start_worker=None)


async def _open_export(pilot, app, key: str = "e") -> ExportScreen:
    await pilot.press(key)
    return await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen) and app.screen)


async def _export(pilot, app, dialog: ExportScreen, path: Path, **choices) -> None:
    dialog.choose(**choices)
    dialog.query_one("#export-path", Input).value = str(path)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: not isinstance(app.screen, ExportScreen))


@synchronous
async def test_dashboard_exports_runs_tables_and_histories(store: Store, tmp_path: Path) -> None:
    app = app_for(store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#runs", DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        dialog = await _open_export(pilot, app)
        # Nothing marked: the highlighted run (the newest) first, then all runs.
        assert [s.run_ids for s in dialog.scopes] == [[3], None]
        assert dialog.query_one("#export-path", Input).value == str(
            Path("exports") / f"{store.get_run(3).name}.csv"
        )
        await _export(pilot, app, dialog, tmp_path / "all.csv", kind="runs-csv", scope=1)
        rows = list(csv.DictReader((tmp_path / "all.csv").open()))
        assert [int(r["id"]) for r in rows] == [3, 2, 1]
        assert rows[1]["params.compile.optimizer.learning_rate"] == "0.003"
        assert float(rows[2]["final.loss"]) == pytest.approx(
            store.metric_summaries(1)["loss"].final_value, rel=1e-5
        )
        assert any("exported" in m and "all.csv" in m for m in notifications(app))

        # Marked runs come first; JSON of the two marked runs.
        table.move_cursor(row=1)
        await pilot.press("space", "space")
        dialog = await _open_export(pilot, app)
        assert dialog.scopes[0].run_ids == [1, 2]
        await _export(pilot, app, dialog, tmp_path / "marked.json", kind="runs-json")
        assert [r["id"] for r in json.loads((tmp_path / "marked.json").read_text())] == [1, 2]

        dialog = await _open_export(pilot, app)
        await _export(pilot, app, dialog, tmp_path / "h.csv", kind="history-csv")
        history = list(csv.DictReader((tmp_path / "h.csv").open()))
        expected = sum(len(p) for i in (1, 2) for p in store.metric_history(i).values())
        assert len(history) == expected
        assert {r["run_id"] for r in history} == {"1", "2"}

        # A model comes from one run: the dialog says so and writes nothing.
        dialog = await _open_export(pilot, app)
        dialog.choose(kind="model-keras")
        dialog.query_one("#export-path", Input).value = str(tmp_path / "m.keras")
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        message = str(dialog.query_one("#export-message", Static).render())
        assert "a model comes from one run" in message
        assert not (tmp_path / "m.keras").exists()
        await pilot.press("escape")
        assert not isinstance(app.screen, ExportScreen)


@synchronous
async def test_export_refuses_to_overwrite_unless_confirmed(store: Store, tmp_path: Path) -> None:
    target = tmp_path / "runs.md"
    target.write_text("keep me")
    app = app_for(store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#runs", DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        dialog = await _open_export(pilot, app)
        dialog.choose(kind="runs-md")
        dialog.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause(0.2)
        assert app.screen is dialog and target.read_text() == "keep me"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: target.read_text() != "keep me")
        assert target.read_text().startswith("| id | name |")


@synchronous
async def test_detail_exports_models_and_shows_the_model_summary(
    store: Store, tmp_path: Path
) -> None:
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_detail(2)
        screen = await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen)
        (view,) = await wait_for(pilot, lambda: list(screen.query(ModelSummaryView)))
        summary = await wait_for(pilot, lambda: view.summary)
        layers = view.query_one(DataTable)
        assert layers.row_count == len(summary.layers) == 2
        model, _, _ = build_run_model(store, 2)
        printed: list[str] = []
        model.summary(print_fn=printed.append)
        for row in range(layers.row_count):
            name, kind, _, params = (str(layers.get_cell_at((row, c))) for c in range(4))
            line = next(line for line in printed if f"{name} ({kind})" in line)
            assert line.rstrip(" │").split()[-1] == params
        total = next(line for line in printed if line.startswith("Total params"))
        assert re.search(r"[\d,]+", total).group() in str(
            view.query_one(".model-totals", Static).render()
        )

        # The best checkpoint as .keras: reloads and predicts like the run's model.
        # (The run's name names the file once the details are in; the summary may come first.)
        await wait_for(pilot, lambda: screen.run is not None)
        dialog = await _open_export(pilot, app)
        assert dialog.kind == "model-keras"
        assert dialog.query_one("#export-path", Input).value == str(
            Path("exports") / f"{store.get_run(2).name}-last.keras"
        )
        await _export(pilot, app, dialog, tmp_path / "best.keras", checkpoint="best")
        best = load_model(str(tmp_path / "best.keras"))
        assert best.predict(np.zeros((2, 2), "float32"), verbose=0).shape == (2, 1)
        best_weights = npz_to_arrays(store.load_checkpoint(2, which="best").weights)
        for mine, stored in zip(best.get_weights(), best_weights):
            np.testing.assert_array_equal(mine, stored)

        # An epoch without a checkpoint is one clear message; epoch 3's weights (the run
        # keeps its last checkpoint) as .npz.
        dialog = await _open_export(pilot, app)
        dialog.choose(kind="model-npz", checkpoint="epoch")
        dialog.query_one("#export-epoch", Input).value = "99"
        dialog.query_one("#export-path", Input).value = str(tmp_path / "e.npz")
        await pilot.press("ctrl+s")
        await wait_for(
            pilot, lambda: any("no checkpoint of epoch 99" in m for m in notifications(app))
        )
        assert app.screen is dialog and not (tmp_path / "e.npz").exists()
        dialog.query_one("#export-epoch", Input).value = "3"
        await _export(pilot, app, dialog, tmp_path / "e.npz", checkpoint="epoch")
        epoch_3 = npz_to_arrays(store.load_checkpoint(2, epoch=3).weights)
        written = npz_to_arrays((tmp_path / "e.npz").read_bytes())
        assert len(written) == len(epoch_3)
        for mine, stored in zip(written, epoch_3):
            np.testing.assert_array_equal(mine, stored)


@synchronous
async def test_compare_screen_exports_the_comparison(store: Store, tmp_path: Path) -> None:
    app = app_for(store)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_compare([1, 2])
        screen = await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen)
        await wait_for(pilot, lambda: screen.comparison is not None)
        dialog = await _open_export(pilot, app)
        assert dialog.kind == "compare-csv"
        assert dialog.query_one("#export-path", Input).value == str(
            Path("exports") / "compare-1-2.csv"
        )
        await _export(pilot, app, dialog, tmp_path / "cmp.csv")
        rows = list(csv.DictReader((tmp_path / "cmp.csv").open()))
        names = [f"#{r.id} {r.name}" for r in screen.comparison.runs]
        assert list(rows[0]) == ["kind", "key", *names]
        param = next(r for r in rows if r["kind"] == "param")
        assert param["key"] == "compile.optimizer.learning_rate"
        assert [param[n] for n in names] == ["0.01", "0.003"]
        best_loss = next(r for r in rows if (r["kind"], r["key"]) == ("best", "loss"))
        expected = screen.comparison.metrics["loss"]
        assert [float(best_loss[n]) for n in names] == pytest.approx(
            [expected[1]["best"], expected[2]["best"]], rel=1e-5
        )
