"""The engine's random state: one global generator that `set_random_seed` reseeds.

Everything random in the engine (initializers without a seed, dropout, noise,
shuffling in `fit`) draws from `global_generator()`, so one call to
`engine.utils.set_random_seed(seed)` makes a whole fit reproducible.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_generator = np.random.default_rng()


def global_generator() -> np.random.Generator:
    """The generator shared by everything random in the engine."""
    return _generator


def set_seed(seed: int | None) -> None:
    """Reseed the global generator (a fresh, unpredictable state when None)."""
    global _generator
    _generator = np.random.default_rng(seed)


def get_state() -> dict[str, Any]:
    """The global generator's state as a JSON-able dict (for checkpoints)."""
    return _generator.bit_generator.state


def set_state(state: dict[str, Any]) -> None:
    """Restore a state from `get_state`."""
    _generator.bit_generator.state = state


class SeedGenerator:
    """A generator of its own when seeded, else a view on the global one.

    Args:
        seed: an int for an independent, reproducible stream; None to follow
            the global generator (and so `set_random_seed`).

    Example:
        >>> gen = SeedGenerator(42)
        >>> gen.generator.random(2).shape
        (2,)
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._own = None if seed is None else np.random.default_rng(seed)

    @property
    def generator(self) -> np.random.Generator:
        return self._own if self._own is not None else _generator
