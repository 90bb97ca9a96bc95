"""The IMDB movie review sentiment dataset, with Keras's `load_data` and `get_word_index`.

25,000 training and 25,000 test reviews labelled positive (1) or negative (0),
each a list of word indices ranked by frequency. The files are Keras's own
(`imdb.npz`, `imdb_word_index.json`), downloaded once into the data cache
(`KERASTUI_DATA_DIR`); the ragged sequences are read by
`engine.datasets.restricted_npz`, never by an unrestricted unpickler.

Example:
    >>> (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=10000)
    >>> x = engine.utils.pad_sequences(x_train, maxlen=200)
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from engine.datasets.restricted_npz import load_npz
from engine.datasets.word_sequences import (
    check_no_extra_kwargs,
    fetch,
    limit_vocabulary,
    object_array,
    read_word_index,
    remove_long_sequences,
    shift_indices,
)

IMDB_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"


def load_data(
    path: str | os.PathLike[str] = "imdb.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    **kwargs: Any,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load the IMDB reviews as lists of word indices, exactly as `keras.datasets.imdb` does.

    Both splits are shuffled with `numpy.random.RandomState(seed)` (train
    first, then test, from the same generator), word ranks are shifted by
    `index_from` after a `start_char`, sequences of `maxlen` words or more are
    dropped, and words outside `[skip_top, num_words)` become `oov_char`.

    Args:
        path: an existing `.npz` file in Keras's format, or a file name in the
            data cache (downloaded from the Keras URL when missing).
        num_words: keep the most frequent words, up to index `num_words - 1`;
            all words when None.
        skip_top: words with an index below this become `oov_char`.
        maxlen: drop sequences of this length or longer; no limit when None.
        seed: the shuffling seed.
        start_char: the index marking a sequence's start (None: no marker).
        oov_char: the index of removed words (None: drop them instead).
        index_from: the offset added to every word rank.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: 1-D object arrays of int lists
        and int label arrays.

    Raises:
        ValueError: when `maxlen` leaves no sequence in a split.
        ConnectionError: offline without a cached copy (from the downloader).
    """
    check_no_extra_kwargs("imdb.load_data", kwargs)
    arrays = load_npz(fetch(path, "imdb.npz", IMDB_SHA256))
    x_train, labels_train = arrays["x_train"], arrays["y_train"]
    x_test, labels_test = arrays["x_test"], arrays["y_test"]

    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]

    train = shift_indices(x_train, start_char, index_from)
    test = shift_indices(x_test, start_char, index_from)
    if maxlen:
        train, labels_train = remove_long_sequences(maxlen, train, labels_train)
        test, labels_test = remove_long_sequences(maxlen, test, labels_test)
        if not train or not test:
            raise ValueError(
                f"After dropping sequences of maxlen={maxlen} words or more, a split is "
                "empty; increase maxlen."
            )
    xs = limit_vocabulary(train + test, num_words, skip_top, oov_char)
    labels = np.concatenate([np.asarray(labels_train), np.asarray(labels_test)])
    idx = len(train)
    return (object_array(xs[:idx]), labels[:idx]), (object_array(xs[idx:]), labels[idx:])


def get_word_index(path: str | os.PathLike[str] = "imdb_word_index.json") -> dict[str, int]:
    """The word -> frequency rank dict of the IMDB data (add `index_from` to match `load_data`).

    Args:
        path: an existing JSON file, or a file name in the data cache
            (downloaded from the Keras URL when missing).

    Example:
        >>> index = imdb.get_word_index()
        >>> words = {i + 3: w for w, i in index.items()}
    """
    # Keras publishes only an MD5 of this file and the downloader checks SHA-256, so the
    # JSON is validated by parsing instead.
    return read_word_index(fetch(path, "imdb_word_index.json", None))
