"""One call to make a whole program's randomness reproducible."""

from __future__ import annotations

import random

import numpy as np

from engine.backend import random as engine_random


def set_random_seed(seed: int) -> None:
    """Seed Python's `random`, NumPy's global generator and the engine's generator.

    After this call, weight initialisation, dropout, noise layers and the
    shuffling in `fit` repeat exactly from run to run.

    Args:
        seed: a non-negative integer.

    Example:
        >>> set_random_seed(42)
        >>> a = engine.initializers.GlorotUniform()((2, 2))
        >>> set_random_seed(42)
        >>> bool((engine.initializers.GlorotUniform()((2, 2)) == a).all())
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(
            f"set_random_seed needs an integer seed, got {seed!r} of type {type(seed).__name__}."
        )
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"set_random_seed needs a non-negative seed, got {seed}.")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    engine_random.set_seed(seed)
