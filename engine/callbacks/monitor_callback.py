"""`MonitorCallback`: the shared "is this value an improvement?" logic of monitoring callbacks."""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.callbacks.callback import Callback

_MODES = ("auto", "min", "max")


class MonitorCallback(Callback):
    """Base class of callbacks that watch one logged quantity and track its best value.

    `ModelCheckpoint` builds on it. In `"auto"` mode the direction is found on the
    first epoch end, once the model's metrics exist: a loss is minimized, and a
    metric is maximized or minimized as its `_direction` (`"up"` or `"down"`) says.

    Args:
        monitor: the log key to watch, e.g. `"val_loss"` or `"accuracy"`.
        mode: `"min"`, `"max"`, or `"auto"` to infer it from the metric.
        baseline: the initial "best" value; None starts from +/-infinity.
        min_delta: the smallest change that counts as an improvement.

    Example:
        >>> class PrintBest(MonitorCallback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         if self.monitor_op is None:
        ...             self._set_monitor_op()
        ...         if self._is_improvement(logs[self.monitor], self.best):
        ...             self.best = logs[self.monitor]
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "auto",
        baseline: float | None = None,
        min_delta: float = 0,
    ) -> None:
        super().__init__()
        self.monitor = monitor
        self.mode = _checked_mode(mode, type(self).__name__)
        self.best: Any = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op: Callable[[Any, Any], Any] | None = None

    def _set_monitor_op(self) -> None:
        """Fix the comparison (and the sign of `min_delta`) from `mode` and the model's metrics."""
        self.monitor_op = monitor_op_for(self.monitor, self.mode, self.model, type(self).__name__)
        if self.monitor_op is operator.lt:
            self.min_delta *= -1
        if self.best is None:
            self.best = np.inf if self.monitor_op is operator.lt else -np.inf

    def _is_improvement(self, monitor_value: Any, reference_value: Any) -> bool:
        if reference_value is None:
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        assert self.monitor_op is not None
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))


def _checked_mode(mode: str, owner: str) -> str:
    if mode not in _MODES:
        # Keras warns and falls back rather than failing, so ported scripts keep running.
        warnings.warn(f"{owner} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
        return "auto"
    return mode


def monitor_op_for(monitor: str, mode: str, model: Any, owner: str) -> Callable[[Any, Any], Any]:
    """Return `operator.lt` when `monitor` should go down and `operator.gt` when up.

    Args:
        monitor: the log key, with or without a `val_` prefix.
        mode: `"min"`, `"max"` or `"auto"`.
        model: the model whose metrics tell the direction in `"auto"` mode.
        owner: the callback's class name, for the error message.

    Raises:
        ValueError: in `"auto"` mode, when no metric of that name says its direction.
    """
    if mode == "min":
        return operator.lt
    if mode == "max":
        return operator.gt
    name = monitor.removeprefix("val_")
    op: Callable[[Any, Any], Any] | None = None
    # Multi-output models log one `<output>_loss` per output next to the total `loss`.
    if name == "loss" or name.endswith("_loss"):
        op = operator.lt
    for metric in getattr(model, "metrics", None) or []:
        direction = getattr(metric, "_direction", None)
        if getattr(metric, "name", None) == name and direction is not None:
            op = operator.gt if direction == "up" else operator.lt
    if op is None:
        raise ValueError(
            f"{owner} callback received monitor={monitor}, but it cannot tell whether that "
            "metric should be maximized or minimized; pass mode='max' or mode='min'."
        )
    return op
