"""`EarlyStopping`: stop `fit` once a monitored quantity stops improving."""

from __future__ import annotations

import operator
import warnings
from typing import Any

from engine.callbacks.monitor_callback import MonitorCallback, monitor_op_for


class EarlyStopping(MonitorCallback):
    """Stop training when a monitored metric has stopped improving.

    At the end of every epoch the monitored value is compared with the best so
    far; after `patience` epochs without an improvement of at least `min_delta`,
    `model.stop_training` is set and `fit` ends after that epoch.

    Args:
        monitor: the quantity to watch (a key of the epoch logs). Defaults to `"val_loss"`.
        min_delta: the smallest absolute change that counts as an improvement.
        patience: epochs without improvement after which training stops.
        verbose: 1 prints a message when the callback stops training or restores weights.
        mode: `"min"`, `"max"`, or `"auto"` to infer the direction from the metric.
        baseline: a value to beat: the wait counter restarts only on an epoch that
            improves on both the best so far and `baseline`.
        restore_best_weights: at the end of training, set the weights of the best
            epoch (even if no epoch beat `baseline`).
        start_from_epoch: epochs of warm-up before monitoring starts.

    Example:
        >>> callback = engine.callbacks.EarlyStopping(monitor="loss", patience=3)
        >>> history = model.fit(x, y, epochs=10, callbacks=[callback], verbose=0)
        >>> len(history.history["loss"]) <= 10
        True
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__(monitor=monitor, mode=mode, baseline=None, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights: list[Any] | None = None

    def _set_monitor_op(self) -> None:
        # Unlike the base class, `best` stays None until the first monitored epoch.
        self.monitor_op = monitor_op_for(self.monitor, self.mode, self.model, "EarlyStopping")
        if self.monitor_op is operator.lt:
            self.min_delta *= -1

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # Reset so that one instance can serve several fits.
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.monitor_op is None:
            # The model's metrics are built by now, so "auto" mode can find their direction.
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                best = self.best_epoch + 1
                print(f"Restoring model weights from the end of the best epoch: {best}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs: dict[str, Any] | None) -> Any:
        """Return `logs[monitor]`, warning (and returning None) when it is missing."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs)}",
                stacklevel=2,
            )
        return value

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a JSON-able dict."""
        return {
            "monitor": self.monitor,
            "min_delta": abs(self.min_delta),
            "patience": self.patience,
            "verbose": self.verbose,
            "mode": self.mode,
            "baseline": self.baseline,
            "restore_best_weights": self.restore_best_weights,
            "start_from_epoch": self.start_from_epoch,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> EarlyStopping:
        """Create an `EarlyStopping` from `get_config()` output."""
        return cls(**config)
