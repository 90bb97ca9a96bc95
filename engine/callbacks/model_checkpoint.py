"""`ModelCheckpoint`: save the model or its weights during `fit`."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from engine.callbacks.monitor_callback import MonitorCallback


class ModelCheckpoint(MonitorCallback):
    """Save the model (or only its weights) every epoch or every `save_freq` batches.

    Args:
        filepath: where to save. It may hold format fields filled from `epoch`
            (counted from 1), `batch` (from 1, when saving per batch) and the keys
            of the logs, e.g. `"ckpt/{epoch:02d}-{val_loss:.2f}.keras"`. It must end
            in `.weights.npz` when `save_weights_only=True`, else in `.keras`.
        monitor: the quantity that decides what "best" means for `save_best_only`.
        verbose: 1 prints a message on each save (or skipped save).
        save_best_only: save only when `monitor` improved on the best value so far.
        save_weights_only: save with `model.save_weights` instead of `model.save`.
        mode: `"min"`, `"max"`, or `"auto"` to infer the direction from the metric.
        save_freq: `"epoch"` to save at every epoch end, or an int to save every
            that many training batches.
        initial_value_threshold: the "best" value to beat before the first save
            when `save_best_only=True`.

    Example:
        >>> checkpoint = engine.callbacks.ModelCheckpoint(
        ...     "ckpt/best.keras", monitor="val_accuracy", mode="max", save_best_only=True)
        >>> model.fit(x, y, validation_split=0.2, epochs=10, callbacks=[checkpoint])
        >>> best = engine.models.load_model("ckpt/best.keras")
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool)):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq!r}; pass 'epoch' or an integer number "
                "of batches."
            )
        if isinstance(save_freq, int) and save_freq < 1:
            raise ValueError(f"save_freq must be a positive number of batches, got {save_freq}.")
        if save_weights_only and not self.filepath.endswith(".weights.npz"):
            raise ValueError(
                "When using save_weights_only=True in ModelCheckpoint, the filepath must end "
                f"in '.weights.npz'; received filepath={self.filepath}."
            )
        if not save_weights_only and not self.filepath.endswith(".keras"):
            raise ValueError(
                "The filepath provided must end in '.keras' (the model format), or pass "
                "save_weights_only=True with a '.weights.npz' path; received "
                f"filepath={self.filepath}."
            )

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.monitor_op is None:
            # The model's metrics are built by now, so "auto" mode can find their direction.
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        # A batch index that did not grow means a new epoch started.
        added = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch: int, logs: dict[str, Any], filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        if np.ndim(current) > 0:
            warnings.warn(
                f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                "Falling back to `save_best_only=False`.",
                stacklevel=3,
            )
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to "
                    f"{current:.5f}, saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save_model(self, epoch: int, batch: int | None, logs: dict[str, Any] | None) -> None:
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                "Please specify a non-directory filepath for ModelCheckpoint; the filepath "
                f"used is an existing directory: {filepath}"
            )
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)

    def _get_file_path(self, epoch: int, batch: int | None, logs: dict[str, Any]) -> str:
        """Fill the format fields of `filepath` from the epoch, batch and logs."""
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as err:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {err} is '
                f"not among the logged values ({', '.join(logs) or 'none'})."
            ) from err

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a JSON-able dict."""
        return {
            "filepath": self.filepath,
            "monitor": self.monitor,
            "verbose": self.verbose,
            "save_best_only": self.save_best_only,
            "save_weights_only": self.save_weights_only,
            "mode": self.mode,
            "save_freq": self.save_freq,
            "initial_value_threshold": self.initial_value_threshold,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ModelCheckpoint:
        """Create a `ModelCheckpoint` from `get_config()` output."""
        return cls(**config)
