"""The quickstart job: train a small MLP on the built-in two-spirals data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import engine
from engine.datasets import spirals


@dataclass(frozen=True)
class QuickstartResult:
    """What the quickstart run produced."""

    history: dict[str, list[float]]
    test_loss: float
    test_accuracy: float
    model: Any


def build_model(hidden: int = 64) -> engine.Model:
    """A 2-64-64-1 ReLU MLP with a sigmoid output."""
    return engine.Sequential(
        [
            engine.layers.Dense(hidden, activation="relu", input_shape=(2,)),
            engine.layers.Dense(hidden, activation="relu"),
            engine.layers.Dense(1, activation="sigmoid"),
        ],
        name="spirals_mlp",
    )


def run_quickstart(epochs: int = 60, seed: int = 0, verbose: int = 1) -> QuickstartResult:
    """Train the spirals MLP and evaluate it on held-out points.

    Args:
        epochs: training epochs.
        seed: the seed for data, weights and shuffling.
        verbose: 0 silent, 1 progress bars, 2 one line per epoch.
    """
    engine.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = spirals.load_data(seed=seed)
    model = build_model()
    model.compile(
        optimizer=engine.optimizers.Adam(learning_rate=0.01),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    if verbose:
        model.summary()
    history = model.fit(
        x_train, y_train, batch_size=32, epochs=epochs, validation_split=0.1, verbose=verbose
    )
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    return QuickstartResult(history.history, float(test_loss), float(test_accuracy), model)
