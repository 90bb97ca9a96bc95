"""Pilot tests of the detail, compare and launch screens and of cancel/resume."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.text import Text
from textual.widgets import DataTable, Input, Select, Static

from engine.callbacks import Callback
from engine.models import load_model
from experiments.runner import execute_run
from experiments.store import Store
from experiments.submit import submit
from kerastui.tui import KerastuiApp
from kerastui.tui.screens.compare import CompareScreen
from kerastui.tui.screens.detail import DetailScreen
from kerastui.tui.screens.launch import LaunchScreen
from kerastui.tui.widgets import LineChart, LivePanel
from tests.experiments.spec_helpers import mlp_raw
from tests.kerastui.tui_helpers import (
    HeldRun,
    notifications,
    store_from,
    synchronous,
    table_statuses,
    trained_database,
    wait_for,
)


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two completed runs differing in learning rate (ids 1, 2)."""
    return trained_database(tmp_path_factory.mktemp("tui"), queued=0)


@pytest.fixture
def store(tmp_path: Path, _template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    yield from store_from(_template, tmp_path, monkeypatch)


def app_for(store: Store, started: list[str] | None = None) -> KerastuiApp:
    def start_worker(url: str) -> None:
        if started is not None:
            started.append(url)

    return KerastuiApp(store=store, interval=0.2, start_worker=start_worker)


def cell_text(table: DataTable, row: int, column: int) -> str:
    return str(table.get_cell_at((row, column)))


@synchronous
async def test_detail_shows_metrics_params_and_exports_tags_deletes(
    store: Store, tmp_path: Path
) -> None:
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one("#runs", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        await pilot.press("enter")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen)
        run = store.get_run(2)
        await wait_for(pilot, lambda: screen.run is not None)
        await pilot.pause(0.2)
        title = screen.query_one("#detail-title", Static).render()
        assert run.name in str(title) and "completed" in str(title)
        charts = {c.id: c for c in screen.query(LineChart)}
        assert {"chart-loss", "chart-accuracy"} <= set(charts)
        loss = next(s for s in charts["chart-loss"].series if s.label == "loss")
        assert loss.values == [p.value for p in store.metric_history(2)["loss"]]
        assert len(loss.values) == 3
        params = screen.query_one("#detail-params", DataTable)
        rows = {cell_text(params, i, 0): cell_text(params, i, 1) for i in range(params.row_count)}
        assert rows["compile.optimizer.learning_rate"] == "0.003"
        layers = screen.query_one("#detail-layers", DataTable)
        assert layers.row_count == len({s.layer for s in store.layer_stats(2)})
        assert screen.query_one("#detail-checkpoints", DataTable).row_count >= 1

        target = tmp_path / "exported.keras"
        await pilot.press("e")
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, target.exists)
        # The file is in place a moment before the dialog closes: keys go to the detail.
        await wait_for(pilot, lambda: app.screen is screen)
        predictions = load_model(str(target)).predict(np.zeros((2, 2), "float32"), verbose=0)
        assert predictions.shape == (2, 1)

        await pilot.press("g")
        app.screen.query_one(Input).value = "stage=candidate"
        await pilot.press("enter")
        await wait_for(pilot, lambda: store.tags(2).get("stage") == "candidate")

        await pilot.press("d")
        await pilot.press("n")
        await pilot.pause(0.3)
        assert 2 in store.run_ids()
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: 2 not in store.run_ids())
        await wait_for(pilot, lambda: not isinstance(app.screen, DetailScreen))
        await wait_for(pilot, lambda: table.row_count == 1)


@synchronous
async def test_compare_two_marked_runs(store: Store) -> None:
    app = app_for(store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#runs", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        await pilot.press("c")
        assert any("mark two" in m for m in notifications(app))
        await pilot.press("space", "space", "c")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen)
        await wait_for(pilot, lambda: screen.comparison is not None)
        params = screen.query_one("#compare-params", DataTable)
        assert params.row_count == 1
        assert cell_text(params, 0, 0) == "compile.optimizer.learning_rate"
        metrics = screen.query_one("#compare-metrics", DataTable)
        best = screen.comparison.best_run["loss"]
        column = [r.id for r in screen.comparison.runs].index(best) + 1
        loss_row = [cell_text(metrics, i, 0) for i in range(metrics.row_count)].index("loss")
        cell = metrics.get_cell_at((loss_row, column))
        assert isinstance(cell, Text) and "green" in str(cell.style)
        chart = screen.query_one("#compare-chart", LineChart)
        assert screen.metric == "val_loss" and len(chart.series) == 2
        await pilot.press("m")
        assert screen.metric != "val_loss"
        await pilot.press("escape")
        assert not isinstance(app.screen, CompareScreen)


@synchronous
async def test_launch_form_validates_and_queues(store: Store) -> None:
    started: list[str] = []
    app = app_for(store, started)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("l")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen)
        # The sources are read in a thread after the screen opens.
        await wait_for(pilot, lambda: screen.spec_source() == "shapes_cnn")
        problems = screen.query_one("#launch-message", Static)
        await wait_for(pilot, lambda: screen.problems == [])

        screen.query_one("#epochs", Input).value = "many"
        await wait_for(pilot, lambda: screen.problems)
        assert "fit.epochs" in str(problems.render())
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: any("fit.epochs" in m for m in notifications(app)))
        assert store.count_runs() == 2

        screen.query_one("#epochs", Input).value = "1"
        screen.query_one("#data", Input).value = "scale=true, one_hot=true, limit=64"
        screen.query_one("#learning_rate", Input).value = "0.02"
        await wait_for(pilot, lambda: screen.problems == [])
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: store.count_runs() == 3)
        run = store.list_runs(limit=1)[0]
        assert run.status == "queued" and run.epochs_total == 1
        assert store.run_params(run.id)["compile.optimizer.learning_rate"] == 0.02
        await wait_for(pilot, lambda: started == [store.url])


@synchronous
async def test_cancel_and_resume_from_the_dashboard(store: Store) -> None:
    started: list[str] = []
    queued = submit(mlp_raw(), store)
    app = app_for(store, started)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#runs", DataTable)
        await wait_for(pilot, lambda: table_statuses(table).get(queued) == "queued")
        await pilot.press("x")
        await wait_for(pilot, lambda: table_statuses(table)[queued] == "cancelled")
        assert store.get_run(queued).status == "cancelled"
        await pilot.press("R")
        await wait_for(pilot, lambda: table_statuses(table)[queued] == "queued")
        assert store.get_run(queued).attempt == 2
        # The resume thread starts the worker after the requeue a refresh tick may show first.
        await wait_for(pilot, lambda: started == [store.url])
        # A completed run is not resumable: the store's message, the app keeps going.
        await pilot.press("down", "R")
        await wait_for(pilot, lambda: any("database error" in m for m in notifications(app)))
        assert app.is_running


@synchronous
async def test_launching_a_sweep_spec_queues_every_trial(store: Store) -> None:
    app = app_for(store, [])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("l")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen)
        await wait_for(pilot, lambda: screen.problems == [])
        screen.query_one("#spec", Select).value = "shapes_sweep"
        await wait_for(pilot, lambda: screen.loaded_source == "shapes_sweep")
        screen.query_one("#data", Input).value = "scale=true, one_hot=true, limit=64"
        await wait_for(
            pilot,
            lambda: (
                screen.problems == []
                and "6 runs" in str(screen.query_one("#launch-message", Static).render())
            ),
        )
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: store.count_runs() > 3, timeout=30)
        assert len(store.list_sweeps()) == 1


@synchronous
async def test_detail_of_a_training_run_reads_only_new_rows_and_charts_layer_norms(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = submit(mlp_raw(), store, {"fit.epochs": "4"})
    # How many epoch metric rows and log lines each read of the detail screen returned.
    returned: dict[str, list[int]] = {"metrics": [], "logs": []}
    metrics_since, logs = store.metrics_since, store.logs

    def counted_metrics(run: int, after_id: int = 0, **kwargs: Any) -> list[Any]:
        rows = metrics_since(run, after_id, **kwargs)
        if kwargs.get("kind") == "epoch":  # the dashboard's live panel reads every kind
            returned["metrics"].append(len(rows))
        return rows

    def counted_logs(run: int, **kwargs: Any) -> list[Any]:
        rows = logs(run, **kwargs)
        returned["logs"].append(len(rows))
        return rows

    monkeypatch.setattr(store, "metrics_since", counted_metrics)
    monkeypatch.setattr(store, "logs", counted_logs)
    app = app_for(store)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one("#runs", DataTable)
        await wait_for(pilot, lambda: table_statuses(table).get(run_id) == "queued")
        app.open_detail(run_id)
        screen = await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen)
        await wait_for(pilot, lambda: screen.run is not None)
        grads = screen.query_one("#detail-grad-norms", LineChart)
        with HeldRun(run_id, store, 2) as held:
            # Held after two epochs: the screen polled its way to two points per curve.
            await wait_for(pilot, held.reached.is_set, timeout=60)
            await wait_for(
                pilot,
                lambda: (
                    screen.run.status == "running"
                    and len(screen.curve("loss")) == 2
                    and grads.series
                    and len(grads.series[0].values) == 2
                ),
                timeout=30,
            )
        await wait_for(
            pilot,
            lambda: screen.run.status == "completed" and len(screen.curve("val_loss")) == 4,
            timeout=60,
        )
        held.join()
        await wait_for(pilot, lambda: len(grads.series[0].values) == 4)
        history = store.metric_history(run_id)
        assert screen.curve("loss") == [p.value for p in history["loss"]]
        # The layer norms as charts: one curve per layer, one point per epoch.
        stats = store.layer_stats(run_id)
        layers = list(dict.fromkeys(s.layer for s in stats))
        assert [s.label for s in grads.series] == layers and grads.log_scale
        for series in grads.series:
            assert series.values == [s.grad_norm for s in stats if s.layer == series.label]
        weights = screen.query_one("#detail-weight-norms", LineChart)
        assert [s.values for s in weights.series] == [
            [s.weight_norm for s in stats if s.layer == layer] for layer in layers
        ]
        await wait_for(pilot, lambda: "epoch 4/4" in str(screen.query_one("#detail-logs").render()))
    # Polls read only what was new: every row and line came exactly once, over several reads.
    assert sum(returned["metrics"]) == len(metrics_since(run_id, kind="epoch"))
    assert sum(returned["logs"]) == len(logs(run_id))
    assert len([n for n in returned["metrics"] if n]) >= 2


class _Explode(Callback):
    """Fails the run at the end of its first epoch, as a bug in training would."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        raise RuntimeError("exploded on purpose")


@synchronous
async def test_a_failed_run_shows_why(store: Store) -> None:
    run_id = submit(mlp_raw(), store, {"fit.epochs": "2"})
    assert execute_run(run_id, store, callbacks=[_Explode()]).status == "failed"
    app = app_for(store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#runs", DataTable)
        await wait_for(pilot, lambda: table_statuses(table).get(run_id) == "failed")
        status = table.get_row(str(run_id))[3]
        assert isinstance(status, Text) and "red" in str(status.style)
        await pilot.press("enter")  # the newest run is highlighted
        screen = await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen)
        assert screen.run_id == run_id
        await wait_for(pilot, lambda: screen.run is not None)
        error = str(screen.query_one("#detail-error", Static).render())
        assert "RuntimeError: exploded on purpose" in error
        assert "Traceback" in error and "on_epoch_end" in error
        assert app.is_running


@synchronous
async def test_a_run_launched_from_the_form_is_watched_until_it_completes(store: Store) -> None:
    started: list[str] = []
    app = app_for(store, started)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("l")
        form = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen)
        await wait_for(pilot, lambda: form.spec_source() == "shapes_cnn" and form.problems == [])
        form.query_one("#epochs", Input).value = "3"
        form.query_one("#data", Input).value = "scale=true, one_hot=true, limit=64"
        await wait_for(pilot, lambda: form.problems == [] and form.current_form() != form.kept)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: store.count_runs() == 3 and started == [store.url])
        run_id = store.list_runs(limit=1)[0].id
        # Launched: leaving the form asks nothing.
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LaunchScreen))
        table = app.screen.query_one("#runs", DataTable)
        await wait_for(pilot, lambda: table_statuses(table).get(run_id) == "queued")
        table.move_cursor(row=table.get_row_index(str(run_id)))
        panel = app.screen.query_one(LivePanel)
        await wait_for(pilot, lambda: panel.run_id == run_id)
        # The test plays the worker that the launch asked for.
        with HeldRun(run_id, store, 1) as held:
            await wait_for(pilot, held.reached.is_set, timeout=60)
            await wait_for(
                pilot,
                lambda: (
                    table_statuses(table)[run_id] == "running" and len(panel.curve("loss")) == 1
                ),
                timeout=30,
            )
        await wait_for(pilot, lambda: table_statuses(table)[run_id] == "completed", timeout=60)
        held.join()
        await wait_for(pilot, lambda: len(panel.curve("loss")) == 3)
        assert table.get_row(str(run_id))[4] == "3/3"
