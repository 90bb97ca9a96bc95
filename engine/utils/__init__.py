"""Utilities from `keras.utils`: labels to one-hot, normalisation, padding, seeding.

Example:
    >>> from engine import utils
    >>> utils.set_random_seed(0)
    >>> utils.to_categorical([1, 0]).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
"""

from engine.utils.numerical_utils import normalize, to_categorical
from engine.utils.rng_utils import set_random_seed
from engine.utils.sequence_utils import pad_sequences

__all__ = ["normalize", "pad_sequences", "set_random_seed", "to_categorical"]
