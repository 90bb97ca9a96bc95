"""The Reuters newswire topic dataset with Keras's `load_data`, `get_word_index` and labels.

11,228 newswires over 46 topics, each a list of word indices ranked by
frequency. The files are Keras's own (`reuters.npz`,
`reuters_word_index.json`), downloaded once into the data cache
(`KERASTUI_DATA_DIR`) and read without an unrestricted unpickler.

Example:
    >>> (x_train, y_train), (x_test, y_test) = reuters.load_data(num_words=10000)
"""

from __future__ import annotations

import os

import numpy as np

from engine.datasets.restricted_npz import load_npz
from engine.datasets.word_sequences import (
    fetch,
    limit_vocabulary,
    object_array,
    read_word_index,
    remove_long_sequences,
    shift_indices,
)

REUTERS_SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"

_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)  # fmt: skip


def load_data(
    path: str | os.PathLike[str] = "reuters.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    test_split: float = 0.2,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load the Reuters newswires as lists of word indices, exactly as `keras.datasets.reuters`.

    All samples are shuffled with `numpy.random.RandomState(seed)`, encoded
    like `imdb.load_data` (start marker, `index_from` shift, `maxlen` filter,
    `[skip_top, num_words)` vocabulary with `oov_char`), then the last
    `test_split` fraction becomes the test set.

    Args:
        path: an existing `.npz` file in Keras's format, or a file name in the
            data cache (downloaded from the Keras URL when missing).
        num_words: keep words up to index `num_words - 1`; all when None.
        skip_top: words with an index below this become `oov_char`.
        maxlen: drop sequences of this length or longer; no limit when None.
        test_split: the fraction of samples held out for testing.
        seed: the shuffling seed.
        start_char: the index marking a sequence's start (None: no marker).
        oov_char: the index of removed words (None: drop them instead).
        index_from: the offset added to every word rank.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: 1-D object arrays of int lists
        and int label arrays (topic indices, see `get_label_names`).
    """
    if not 0.0 <= test_split <= 1.0:
        raise ValueError(f"reuters.load_data test_split must be in [0, 1], got {test_split}.")
    arrays = load_npz(fetch(path, "reuters.npz", REUTERS_SHA256))
    xs, labels = arrays["x"], arrays["y"]
    rng = np.random.RandomState(seed)
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    xs, labels = xs[indices], labels[indices]

    seqs = shift_indices(xs, start_char, index_from)
    if maxlen:
        seqs, labels = remove_long_sequences(maxlen, seqs, labels)
    seqs = limit_vocabulary(seqs, num_words, skip_top, oov_char)
    labels = np.asarray(labels)
    idx = int(len(seqs) * (1 - test_split))
    return (object_array(seqs[:idx]), labels[:idx]), (object_array(seqs[idx:]), labels[idx:])


def get_word_index(path: str | os.PathLike[str] = "reuters_word_index.json") -> dict[str, int]:
    """The word -> frequency rank dict of the Reuters data (add `index_from` to match).

    Args:
        path: an existing JSON file, or a file name in the data cache.

    Example:
        >>> reuters.get_word_index()["the"]
        1
    """
    # Keras publishes only an MD5 of this file and the downloader checks SHA-256, so the
    # JSON is validated by parsing instead.
    return read_word_index(fetch(path, "reuters_word_index.json", None))


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, indexed like the labels.

    Example:
        >>> reuters.get_label_names()[3]
        'earn'
    """
    return _LABEL_NAMES
