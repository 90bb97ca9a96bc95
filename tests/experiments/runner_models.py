"""Model builders for runner tests: a layer that turns NaN or raises at a chosen training step."""

from __future__ import annotations

from typing import Any

import engine
from engine.layers.layer import Layer


class Trap(Layer):
    """Passes its input through until its `at`-th training call (1-based), then springs.

    `action="nan"` outputs NaN from then on; `action="raise"` raises
    `RuntimeError("boom at step N")`.
    """

    def __init__(self, at: int, action: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.at = at
        self.action = action
        self.calls = 0

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if not training:
            return inputs
        self.calls += 1
        if self.calls < self.at:
            return inputs
        if self.action == "raise":
            raise RuntimeError(f"boom at step {self.calls}")
        return inputs * float("nan")


def trapped_mlp(at: int, action: str, input_shape: tuple[int, ...] = (2,)) -> engine.Model:
    """An MLP on 2 inputs whose hidden layer springs a `Trap` at training step `at`."""
    return engine.Sequential(
        [
            engine.layers.Dense(8, activation="relu", input_shape=input_shape),
            Trap(at, action),
            engine.layers.Dense(1, activation="sigmoid"),
        ]
    )
