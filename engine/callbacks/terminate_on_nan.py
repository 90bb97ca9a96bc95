"""`TerminateOnNaN`: stop training as soon as the loss becomes NaN or infinite."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Stop training when a batch ends with a NaN or infinite loss.

    By default training stops gracefully (`model.stop_training = True`, so every
    callback's `on_train_end` still runs); with `raise_error=True` a
    `RuntimeError` ends `fit` at once, skipping that cleanup (useful to keep a
    `BackupAndRestore` backup from being deleted).

    Args:
        raise_error: raise `RuntimeError` instead of stopping gracefully.

    Example:
        >>> model.fit(x, y, epochs=10, callbacks=[engine.callbacks.TerminateOnNaN()])
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None or np.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                "Terminating training immediately."
            )
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a JSON-able dict."""
        return {"raise_error": self.raise_error}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TerminateOnNaN:
        """Create a `TerminateOnNaN` from `get_config()` output."""
        return cls(**config)
