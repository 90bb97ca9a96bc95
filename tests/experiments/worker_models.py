"""Model builders for worker tests: an MLP that sleeps in each training step."""

from __future__ import annotations

import time
from typing import Any

import engine
from engine.layers.layer import Layer


class Sleep(Layer):
    """Passes its input through, sleeping `seconds` on each training call."""

    def __init__(self, seconds: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seconds = seconds

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if training:
            time.sleep(self.seconds)
        return inputs


def slow_mlp(seconds: float = 0.05, input_shape: tuple[int, ...] = (2,)) -> engine.Model:
    """A small spirals MLP whose every training step takes at least `seconds`."""
    return engine.Sequential(
        [
            engine.layers.Dense(16, activation="relu", input_shape=input_shape),
            Sleep(seconds),
            engine.layers.Dense(1, activation="sigmoid"),
        ]
    )
