"""`LearningRateScheduler`: set the learning rate from a function of the epoch."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.callbacks.callback import Callback
from engine.saving.serialization import deserialize_keras_object, serialize_keras_object


class LearningRateScheduler(Callback):
    """At the start of every epoch, set the optimizer's learning rate to `schedule(epoch, lr)`.

    The rate in effect is logged as `learning_rate` at the end of every epoch.

    Args:
        schedule: a function of the epoch index (from 0) and the current learning
            rate (a float) that returns the new rate as a float. A function of the
            epoch alone is accepted too, as in old Keras code.
        verbose: 1 prints the new rate at every epoch.

    Example:
        >>> def scheduler(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.9
        >>> callback = engine.callbacks.LearningRateScheduler(scheduler)
        >>> history = model.fit(x, y, epochs=15, callbacks=[callback], verbose=0)
        >>> len(history.history["learning_rate"])
        15
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"schedule must be a function of (epoch, lr), got {type(schedule).__name__}."
            )
        self.schedule = schedule
        self.verbose = verbose
        self._takes_lr = _accepts_two_arguments(schedule)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        if self._takes_lr:
            learning_rate = self.schedule(epoch, float(optimizer.learning_rate))
        else:
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.floating)):
            raise ValueError(
                "The output of the `schedule` function should be a float; got "
                f"{learning_rate!r} of type {type(learning_rate).__name__}."
            )
        optimizer.learning_rate = float(learning_rate)
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                f"{learning_rate}."
            )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments as a JSON-able dict (`schedule` must be registered)."""
        return {"schedule": serialize_keras_object(self.schedule), "verbose": self.verbose}

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> LearningRateScheduler:
        """Create a `LearningRateScheduler` from `get_config()` output."""
        schedule = deserialize_keras_object(
            config["schedule"], custom_objects=custom_objects, kind="schedule function"
        )
        return cls(schedule, verbose=config.get("verbose", 0))


def _accepts_two_arguments(fn: Callable[..., Any]) -> bool:
    """True when `fn(epoch, lr)` is a valid call (the Keras 2+ schedule signature)."""
    try:
        inspect.signature(fn).bind(0, 0.0)
    except TypeError:
        return False
    except ValueError:
        # Builtins without a signature: assume the modern two-argument form.
        return True
    return True
