"""`History`: records every epoch's logs; `fit` returns it."""

from __future__ import annotations

from typing import Any

from engine.callbacks.callback import Callback


class History(Callback):
    """Records the logs of each epoch in `history` (a dict of lists).

    `fit` adds one automatically and returns it.

    Example:
        >>> history = model.fit(x, y, epochs=3, verbose=0)
        >>> len(history.history["loss"])
        3
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self
