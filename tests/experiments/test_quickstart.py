"""The quickstart job learns the two spirals."""

from __future__ import annotations

from experiments.quickstart import run_quickstart


def test_quickstart_reaches_high_test_accuracy():
    result = run_quickstart(epochs=40, seed=0, verbose=0)
    assert result.test_accuracy >= 0.95
    assert len(result.history["loss"]) == 40
    assert result.history["loss"][-1] < result.history["loss"][0]
