"""The `Callback` base class: hooks into `fit`, `evaluate` and `predict`."""

from __future__ import annotations

from typing import Any


class Callback:
    """Base class for objects called at points of training, evaluation and prediction.

    Override any of the `on_*` hooks. `self.model` is the model being trained and
    `self.params` holds `epochs`, `steps` and `verbose`.

    Example:
        >>> class PrintLoss(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(epoch, logs["loss"])
    """

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self._model: Any = None
        self.validation_data: Any = None

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self._model = model

    @property
    def model(self) -> Any:
        return self._model

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Alias of `on_train_batch_begin`, kept for old code."""

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Alias of `on_train_batch_end`, kept for old code."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called at the start of an epoch of `fit`."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called at the end of an epoch; `logs` holds the epoch's metrics (`val_` too)."""

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called before each training batch."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called after each training batch; `logs` holds running averages."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called before each evaluation batch."""

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called after each evaluation batch."""

    def on_predict_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called before each prediction batch."""

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called after each prediction batch."""

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called once when `fit` starts."""

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called once when `fit` ends."""

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called when `evaluate` (or validation) starts."""

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called when `evaluate` (or validation) ends."""

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called when `predict` starts."""

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called when `predict` ends."""
