"""`CallbackList`: fans every hook out to a list of callbacks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.callbacks.callback import Callback
from engine.callbacks.history import History


class CallbackList(Callback):
    """A container that calls each hook on every callback in order.

    Args:
        callbacks: the user's callbacks.
        add_history: append a `History` if none is given.
        add_progbar: append a `ProgbarLogger` if none is given.
        model: the model the callbacks act on.
        **params: `epochs`, `steps`, `verbose`, passed to `set_params`.

    Example:
        >>> cbs = CallbackList([EarlyStopping()], add_history=True, model=model, epochs=5)
    """

    def __init__(
        self,
        callbacks: Iterable[Callback] | None = None,
        add_history: bool = False,
        add_progbar: bool = False,
        model: Any = None,
        **params: Any,
    ) -> None:
        super().__init__()
        self.callbacks: list[Callback] = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    "callbacks must be engine.callbacks.Callback instances, "
                    f"got {type(cb).__name__}."
                )
        if add_progbar and not any(type(cb).__name__ == "ProgbarLogger" for cb in self.callbacks):
            from engine.callbacks.progbar_logger import ProgbarLogger

            self.callbacks.append(ProgbarLogger())
        if add_history and not any(isinstance(cb, History) for cb in self.callbacks):
            self.history = History()
            self.callbacks.append(self.history)
        else:
            self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def set_model(self, model: Any) -> None:
        self._model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def _each(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._each("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._each("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._each("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._each("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._each("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._each("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._each("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._each("on_predict_batch_end", batch, logs)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._each("on_train_begin", logs)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._each("on_train_end", logs)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._each("on_test_begin", logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        self._each("on_test_end", logs)

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._each("on_predict_begin", logs)

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._each("on_predict_end", logs)
