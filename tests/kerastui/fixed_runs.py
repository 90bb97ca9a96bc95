"""Six runs at fixed times for the dashboard's snapshot and layout tests, and settling.

`fixed_app(tmp_path)` fills a temporary database through the `Store` API, with
every time the store records taken from a stepped clock, and returns the app on
it with the clock left standing at `NOW` (in UTC) until the block ends.
`settle(pilot, ready)` waits until a screen has loaded and stopped changing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from textual.pilot import Pilot
from textual.widgets import DataTable

from experiments import clock
from experiments.store import (
    LayerStatRow,
    MetricRow,
    Store,
    arrays_to_npz,
    forget_stores,
    open_store,
)
from experiments.submit import submit
from kerastui.tui import KerastuiApp
from kerastui.tui.screens.dashboard import DashboardScreen
from kerastui.tui.widgets import LineChart
from tests.kerastui.tui_helpers import wait_for

START = dt.datetime(2025, 3, 14, 9, 0, tzinfo=dt.UTC)
# "Now" while the screens render: the live run has trained for 11m07s.
NOW = START + dt.timedelta(hours=1, minutes=41, seconds=7)
WORKER = "lab-box:4242"
# Identical frames in a row that count as a screen done drawing.
STABLE_FRAMES = 3
BASELINE, WIDE, LIVE = 1, 2, 6


class SteppedClock:
    """A clock that stands still until the data builder moves it on."""

    def __init__(self) -> None:
        self.moment = START

    def __call__(self) -> dt.datetime:
        return self.moment

    def at(self, minutes: float) -> None:
        """Stand at `minutes` after START."""
        self.moment = START + dt.timedelta(minutes=minutes)


def _curve(first: float, last: float, epochs: int, bend: float = 0.55) -> list[float]:
    """A smooth, fixed learning curve from `first` to `last`, rounded to 4 decimals."""
    return [round(last + (first - last) * bend**e, 4) for e in range(epochs)]


def _train(
    store: Store,
    run_id: int,
    wall: SteppedClock,
    start: float,
    epoch_minutes: float,
    curves: dict[str, list[float]],
    layers: tuple[str, ...] = (),
    steps: int = 100,
) -> None:
    """Record the epochs of `curves` as a worker would: metrics, layer norms, checkpoints."""
    wall.at(start)
    store.claim_run(run_id, WORKER)
    epochs = len(next(iter(curves.values())))
    store.append_logs(run_id, [f"started on {WORKER}", f"{steps} batches per epoch"])
    for epoch in range(1, epochs + 1):
        wall.at(start + epoch * epoch_minutes)
        rows = [
            MetricRow(key, values[epoch - 1], epoch=epoch, step=epoch * steps, kind="epoch")
            for key, values in curves.items()
        ]
        store.log_metrics(run_id, rows)
        if layers:
            store.log_layer_stats(
                run_id,
                epoch,
                [
                    LayerStatRow(name, 10.0 + 2.5 * i + 0.8 * epoch, 0.4 / (epoch + i), 1e-3)
                    for i, name in enumerate(layers)
                ],
            )
        weights = arrays_to_npz([np.full((64, 32), float(epoch), dtype=np.float32)])
        store.save_checkpoint(
            run_id,
            epoch,
            weights,
            step=epoch * steps,
            monitor="val_loss",
            monitor_value=curves["val_loss"][epoch - 1] if "val_loss" in curves else None,
        )
        store.prune_checkpoints(run_id, keep_last=1, keep_best=True)
        store.heartbeat(run_id, epochs_done=epoch, current_batch=0, batches_per_epoch=steps)
        summary = "  ".join(f"{key}: {values[epoch - 1]:.4f}" for key, values in curves.items())
        store.append_logs(run_id, [f"Epoch {epoch}/{epochs}  {summary}"])


def fill(store: Store, wall: SteppedClock) -> None:
    """Six runs covering every status the dashboard colours, at fixed times."""
    mlp_layers = ("dense", "dense_1", "dense_2")
    cnn_layers = ("conv2d", "conv2d_1", "conv2d_2", "dense", "dense_1")
    worker = store.register_worker(slots=2, host="lab-box", pid=4242)

    # 1, 2: two completed MNIST MLPs differing in learning rate and batch size.
    baseline = submit("mnist_mlp", store, {"fit.epochs": "6"}, name="baseline-mlp")
    wall.at(2)
    wide = submit(
        "mnist_mlp",
        store,
        {"fit.epochs": "6", "fit.batch_size": "256", "compile.optimizer.learning_rate": "0.003"},
        name="wide-mlp",
    )
    _train(
        store,
        baseline,
        wall,
        start=3,
        epoch_minutes=2.09,
        curves={
            "loss": _curve(0.4213, 0.0612, 6),
            "accuracy": _curve(0.8712, 0.9811, 6),
            "val_loss": [0.2104, 0.1487, 0.1211, 0.1093, 0.1049, 0.1082],
            "val_accuracy": [0.9361, 0.9552, 0.9637, 0.9689, 0.9712, 0.9705],
        },
        layers=mlp_layers,
        steps=469,
    )
    store.mark_completed(baseline)
    store.set_tag(baseline, "baseline")
    store.add_note(baseline, "reference for the learning-rate sweep")
    _train(
        store,
        wide,
        wall,
        start=17,
        epoch_minutes=1.53,
        curves={
            "loss": _curve(0.3620, 0.0433, 6),
            "accuracy": _curve(0.8904, 0.9866, 6),
            "val_loss": [0.1831, 0.1302, 0.1108, 0.0987, 0.0951, 0.0964],
            "val_accuracy": [0.9448, 0.9601, 0.9668, 0.9716, 0.9741, 0.9738],
        },
        layers=mlp_layers,
        steps=235,
    )
    store.mark_completed(wide)

    # 3: a shapes CNN whose loss blew up; 4: one cancelled after its first epoch.
    wall.at(30)
    high_lr = submit(
        "shapes_cnn",
        store,
        {"fit.epochs": "8", "compile.optimizer.learning_rate": "0.05"},
        name="shapes-high-lr",
    )
    small_batch = submit(
        "shapes_cnn", store, {"fit.epochs": "8", "fit.batch_size": "16"}, name="shapes-batch-16"
    )
    _train(
        store,
        high_lr,
        wall,
        start=31,
        epoch_minutes=3.2,
        curves={
            "loss": [2.1043, 3.8817],
            "accuracy": [0.2131, 0.1002],
            "val_loss": [2.6512, 5.0731],
            "val_accuracy": [0.1875, 0.0977],
        },
        steps=63,
    )
    wall.at(39.5)
    store.mark_failed(high_lr, "loss became NaN at epoch 3, batch 7")
    _train(
        store,
        small_batch,
        wall,
        start=40,
        epoch_minutes=9.75,
        curves={
            "loss": [1.6021],
            "accuracy": [0.4109],
            "val_loss": [1.4477],
            "val_accuracy": [0.4688],
        },
        steps=250,
    )
    wall.at(52)
    store.request_cancel(small_batch)
    store.mark_cancelled(small_batch)

    # 5: an IMDB LSTM waiting in the queue; 6: a shapes CNN in its fourth epoch.
    wall.at(80)
    submit("imdb_lstm", store, {"fit.epochs": "4"}, name="imdb-lstm")
    wall.at(89)
    live = submit("shapes_cnn", store, {"fit.epochs": "8"}, name="shapes-cnn-live")
    _train(
        store,
        live,
        wall,
        start=90,
        epoch_minutes=3.05,
        curves={
            "loss": [1.8904, 1.3117, 1.0522],
            "accuracy": [0.3226, 0.5331, 0.6287],
            "val_loss": [1.5532, 1.2260, 1.0981],
            "val_accuracy": [0.4453, 0.5664, 0.6172],
        },
        layers=cnn_layers,
        steps=63,
    )
    batch_loss = _curve(1.0712, 0.8410, 40, bend=0.93)
    store.log_metrics(
        live,
        [
            MetricRow("loss", value, epoch=4, step=3 * 63 + batch)
            for batch, value in enumerate(batch_loss, start=1)
        ],
    )
    wall.moment = NOW
    store.heartbeat(live, epochs_done=3, current_batch=40, batches_per_epoch=63, epochs_total=8)
    store.worker_heartbeat(worker.id)
    assert (baseline, wide, live) == (BASELINE, WIDE, LIVE)


@contextmanager
def fixed_app(folder: Path) -> Iterator[KerastuiApp]:
    """The app on a database in `folder` filled by `fill`, the clock standing at NOW in UTC."""
    wall = SteppedClock()
    with clock.use_clock(wall, zone=dt.UTC):
        try:
            store = open_store(f"sqlite:///{folder / 'snapshots.db'}")
            fill(store, wall)
            # An hour between polls: nothing refreshes while a screen is looked at.
            yield KerastuiApp(store=store, interval=3600.0, start_worker=None)
        finally:
            forget_stores()


def charts_drawn(screen: Any) -> bool:
    """Whether the screen has charts and every one of them has curves."""
    charts = list(screen.query(LineChart))
    return bool(charts) and all(chart.series for chart in charts)


async def settle(pilot: Pilot, ready: Callable[[], Any], timeout: float = 30.0) -> None:
    """Wait until `ready()` holds, no thread worker runs, and the screen stops changing.

    Widgets finish some work after their data arrives (a data table measures its
    columns when idle), so the screen must also look the same over a few pauses.
    Before that, a terminal resize there and back makes every widget draw afresh:
    a `DataTable` whose header was drawn before its columns were measured keeps
    that narrow header until something redraws it, and whether that happens
    depends on timing, which a snapshot must not.
    """
    app = pilot.app

    def quiet() -> bool:
        return bool(ready()) and all(w.is_finished for w in app.workers)

    await wait_for(pilot, quiet, timeout)
    width, height = app.size
    await pilot.resize_terminal(width + 1, height)
    await pilot.resize_terminal(width, height)
    await wait_for(pilot, quiet, timeout)
    deadline = time.monotonic() + timeout
    previous, unchanged = "", 0
    while unchanged < STABLE_FRAMES:
        assert time.monotonic() < deadline, f"the screen kept changing for {timeout} s"
        await pilot.pause(0.05)
        frame = app.export_screenshot()
        unchanged = unchanged + 1 if frame == previous and quiet() else 0
        previous = frame


async def dashboard_loaded(pilot: Pilot) -> None:
    """The dashboard shows every run, and the highlighted (live) run's curves."""
    app = pilot.app

    def ready() -> bool:
        screen = app.screen
        return (
            isinstance(screen, DashboardScreen)
            and screen.query_one("#runs", DataTable).row_count == 6
            and screen.selected_run_id() == LIVE
            and charts_drawn(screen)
        )

    await settle(pilot, ready)
