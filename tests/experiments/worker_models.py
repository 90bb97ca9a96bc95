"""Model builders for worker tests: an MLP that sleeps in each training step, and can hold."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import engine
from engine.layers.layer import Layer

# How long a held step waits for its release file at most (a test that fails
# before releasing must not leave a child training forever).
HOLD_LIMIT = 600.0


class Sleep(Layer):
    """Passes its input through, sleeping `seconds` on each training call.

    With `hold_at`, the `hold_at`-th training call (1-based, counted in this
    process) creates the file `reached` and waits until the file `release`
    exists: a test in another process then acts while the run is surely at
    that step, not while it might already have finished.
    """

    def __init__(
        self, seconds: float, hold_at: int = 0, reached: str = "", release: str = "", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.seconds = seconds
        self.hold_at, self.reached, self.release = hold_at, reached, release
        self.calls = 0

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if training:
            self.calls += 1
            if self.calls == self.hold_at:
                self._hold()
            time.sleep(self.seconds)
        return inputs

    def _hold(self) -> None:
        Path(self.reached).touch()
        deadline = time.monotonic() + HOLD_LIMIT
        while not Path(self.release).exists() and time.monotonic() < deadline:
            time.sleep(0.05)


def slow_mlp(
    seconds: float = 0.05,
    input_shape: tuple[int, ...] = (2,),
    hold_at: int = 0,
    reached: str = "",
    release: str = "",
) -> engine.Model:
    """A small spirals MLP whose every training step takes at least `seconds`.

    `hold_at`, `reached` and `release`: hold a training step (see `Sleep`).
    """
    return engine.Sequential(
        [
            engine.layers.Dense(16, activation="relu", input_shape=input_shape),
            Sleep(seconds, hold_at=hold_at, reached=reached, release=release),
            engine.layers.Dense(1, activation="sigmoid"),
        ]
    )
