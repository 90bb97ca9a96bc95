"""`ProgbarLogger`: Keras's progress bar and metric lines, drawn with Rich."""

from __future__ import annotations

import numbers
import time
from typing import Any

import numpy as np
from rich.console import Console
from rich.control import Control
from rich.segment import ControlType
from rich.text import Text

from engine.callbacks.callback import Callback

# Redrawing costs far more than a NumPy step on tiny models, so the bar is
# redrawn at most this often (seconds); the final line is always written.
_REFRESH_INTERVAL = 0.1
_BAR_WIDTH = 20


class ProgbarLogger(Callback):
    """Print progress and metrics of `fit`, `evaluate` and `predict` to stdout.

    `fit` adds one automatically unless `verbose=0`. With `verbose=1` a live bar
    shows the step count, the ETA, the time per step and the running metrics; on a
    terminal it is redrawn in place at most ten times a second, and each epoch ends
    as one line such as
    `Epoch 1/5  32/32 ━━━━━━━━━━━━━━━━━━━━ 1s 12ms/step - loss: 0.6931 - val_loss: 0.6928`.
    Output that is not a terminal (a log file, a pipe) gets only those final lines.
    With `verbose=2` only the final line is printed, without the bar. The
    `Epoch i/N` prefix is left out when `fit` runs a single epoch, as in Keras.

    Args:
        pinned: accepted for Keras compatibility: the live bar is always the last
            line written, so messages printed by other callbacks appear above it.
        console: the Rich console to write to; a console on stdout by default.

    Example:
        >>> model.fit(x, y, epochs=2, callbacks=[engine.callbacks.ProgbarLogger()])
        Epoch 1/2  4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.7012
        Epoch 2/2  4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.6890
    """

    def __init__(self, pinned: bool = False, console: Console | None = None) -> None:
        super().__init__()
        self.pinned = pinned
        self.console = console if console is not None else Console(highlight=False)
        self.verbose = 1
        self.epochs = 1
        self.target: int | None = None
        self.seen = 0
        self._called_in_fit = False
        self._prefix = ""
        self._active = False
        self._start = 0.0
        self._time_after_first_step: float | None = None
        self._last_draw = 0.0

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = int(params.get("epochs") or 1)
        steps = params.get("steps")
        self.target = None if steps is None else int(steps)

    # Hooks --------------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # Validation inside `fit` stays silent: its results end up on the epoch line.
        self._called_in_fit = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._called_in_fit = False

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._begin(f"Epoch {epoch + 1}/{self.epochs}" if self.epochs > 1 else "")

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._update(batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._finalize(logs)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._begin("")

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._begin("")

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # The batch's predictions are no metrics: show progress only.
        self._update(batch, None)

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._finalize(None)

    # Drawing ------------------------------------------------------------------------
    def _begin(self, prefix: str) -> None:
        self._prefix = prefix
        self.seen = 0
        self._start = time.monotonic()
        self._time_after_first_step = None
        self._last_draw = 0.0
        self._active = True

    def _update(self, batch: int, logs: dict[str, Any] | None) -> None:
        if not self._active:
            self._begin(self._prefix)
        self.seen = batch + 1
        now = time.monotonic()
        if self._time_after_first_step is None:
            self._time_after_first_step = now
        if self.verbose != 1 or now - self._last_draw < _REFRESH_INTERVAL:
            return
        if not self.console.is_terminal:
            return
        self._last_draw = now
        line = self._render(logs or {}, now, final=False)
        line.truncate(max(self.console.width - 1, 1), overflow="ellipsis")
        self._write(line, end="")

    def _finalize(self, logs: dict[str, Any] | None) -> None:
        if self.verbose == 0 or not self._active:
            self._active = False
            return
        if self.target is None:
            self.target = self.seen
        line = self._render(logs or {}, time.monotonic(), final=True)
        self._write(line, end="\n")
        self._active = False

    def _write(self, line: Text, end: str) -> None:
        console = self.console
        # Buffer the cursor moves and the text into one write so the line never flickers.
        with console:
            if console.is_terminal:
                console.control(Control.move_to_column(0))
            console.print(line, end="", soft_wrap=True)
            if console.is_terminal:
                console.control(Control((ControlType.ERASE_IN_LINE, 0)))
            if end:
                console.print(end, end="", soft_wrap=True)

    def _step_time(self, now: float) -> float:
        """Seconds per step, leaving out the first step (which pays one-off setup costs)."""
        if self.seen == 0:
            return 0.0
        if self._time_after_first_step is not None and self.seen > 1:
            return (now - self._time_after_first_step) / (self.seen - 1)
        return (now - self._start) / self.seen

    def _render(self, logs: dict[str, Any], now: float, final: bool) -> Text:
        line = Text()
        if self._prefix:
            line.append(self._prefix, style="bold")
            line.append("  ")
        total = str(self.target) if self.target is not None else "Unknown"
        line.append(f"{self.seen:>{len(total)}}/{total}")
        per_step = _format_step_time(self._step_time(now))
        if self.verbose == 2:
            line.append(f" - {now - self._start:.0f}s - {per_step}")
        else:
            if self.target is not None:
                line.append(" ")
                line.append_text(_bar(self.seen, self.target))
            if final:
                line.append(f" {now - self._start:.0f}s {per_step}")
            else:
                eta = self._step_time(now) * max((self.target or self.seen) - self.seen, 0)
                line.append(f" ETA {_format_eta(eta)} {per_step}")
        for key, value in logs.items():
            line.append(f" - {key}: ")
            line.append(_format_value(value))
        return line

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a JSON-able dict (the console is not saved)."""
        return {"pinned": self.pinned}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ProgbarLogger:
        """Create a `ProgbarLogger` from `get_config()` output."""
        return cls(**config)


def _bar(current: int, target: int) -> Text:
    fraction = min(current / target, 1.0) if target > 0 else 1.0
    cells = fraction * _BAR_WIDTH
    full = int(cells)
    bar = Text("━" * full, style="green")
    if full < _BAR_WIDTH:
        # A half cell marks progress between two full cells, like Rich's own bars.
        half = cells - full >= 0.5
        if half:
            bar.append("╸", style="green")
        bar.append("━" * (_BAR_WIDTH - full - int(half)), style="grey37")
    return bar


def _format_step_time(seconds: float) -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def _format_eta(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if seconds >= 60:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds}s"


def _format_value(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = float(value)
        return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"
    return str(value)
