"""`RunProgress`: the Rich display of a foreground run, as a training callback.

Two bars (epochs, and batches of the current epoch) with the ETA and the
running loss and metrics, and one Keras-like summary line per epoch printed
above them. Where output is not a terminal only the summary lines appear.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from engine.callbacks import Callback
from kerastui.cli.output import format_duration


def metrics_text(logs: dict[str, Any] | None) -> str:
    """`loss: 0.6931 - accuracy: 0.5000`, Keras' way of listing logs.

    Args:
        logs: metric values by name.

    Example:
        >>> metrics_text({"loss": 0.5, "accuracy": 0.75})
        'loss: 0.5000 - accuracy: 0.7500'
    """
    parts = []
    for key, value in (logs or {}).items():
        try:
            parts.append(f"{key}: {float(value):.4f}")
        except (TypeError, ValueError):
            continue
    return " - ".join(parts)


class RunProgress(Callback):
    """Epoch and batch bars with ETA and live metrics, and a summary line per epoch.

    Args:
        console: where to draw; stdout by default.
        initial_epoch: epochs already done (a resumed run).

    Example:
        >>> model.fit(x, y, epochs=3, verbose=0, callbacks=[RunProgress()])
        Epoch 1/3  16/16  2.1s  loss: 0.6931 - accuracy: 0.5100 - val_loss: ...
    """

    def __init__(self, console: Console | None = None, initial_epoch: int = 0) -> None:
        super().__init__()
        self.console = console or Console(highlight=False)
        self.initial_epoch = initial_epoch
        self._progress: Progress | None = None
        self._epochs: TaskID | None = None
        self._batches: TaskID | None = None
        self._epoch_start = 0.0
        self._steps = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        epochs = int(self.params.get("epochs") or 1)
        self._steps = int(self.params.get("steps") or 0)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[metrics]}"),
            console=self.console,
            transient=True,
        )
        self._progress.start()
        self._epochs = self._progress.add_task(
            "epochs ", total=epochs, completed=self.initial_epoch, metrics=""
        )
        self._batches = self._progress.add_task("batches", total=self._steps or None, metrics="")

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch_start = time.monotonic()
        if self._progress is not None and self._batches is not None:
            self._progress.reset(self._batches, total=self._steps or None, metrics="")
            self._progress.update(self._epochs, description=f"epoch {epoch + 1}")

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._progress is not None and self._batches is not None:
            self._progress.update(self._batches, completed=batch + 1, metrics=metrics_text(logs))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._progress is None:
            return
        epochs = int(self.params.get("epochs") or 1)
        took = format_duration(time.monotonic() - self._epoch_start)
        steps = f"{self._steps}/{self._steps}  " if self._steps else ""
        self._progress.console.print(
            f"Epoch {epoch + 1}/{epochs}  {steps}{took}  {metrics_text(logs)}",
            highlight=False,
            markup=False,
        )
        self._progress.update(self._epochs, completed=epoch + 1)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.close()

    def close(self) -> None:
        """Stop drawing (also when training stopped with an exception)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
