"""The word-index encoding shared by the IMDB and Reuters loaders, as Keras applies it.

Words are stored as frequency ranks (1 = most frequent). A loader shifts them
by `index_from`, prepends `start_char`, drops sequences not shorter than
`maxlen`, and replaces ranks outside `[skip_top, num_words)` with `oov_char`
(or drops them when `oov_char` is None).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

KERAS_DATASETS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def fetch(path: str | os.PathLike[str], filename: str, file_hash: str | None) -> str:
    """The local file for a Keras dataset: a file the caller points at, or a cached download.

    A `path` with a folder part (`"data/imdb.npz"`, `"/tmp/imdb.npz"`) that
    exists is used as it is: a copy made earlier, or a small file in the same
    format. A bare name is looked up in the shared data cache
    (`engine.datasets.download`, `KERASTUI_DATA_DIR`), which downloads it from
    the Keras URL when missing and checks it against `file_hash`.

    Args:
        path: a file path, or a name in the data cache.
        filename: the file's name at the Keras origin, e.g. `"imdb.npz"`.
        file_hash: its SHA-256, or None where Keras publishes only an MD5.

    Raises:
        engine.datasets.download.DownloadError: not cached and not downloadable
            (e.g. offline); the message names the URL and where to save the file.

    Example:
        >>> fetch("imdb.npz", "imdb.npz", IMDB_SHA256)  # doctest: +SKIP
        PosixPath('/home/me/.keras/datasets/imdb.npz')
    """
    if os.path.dirname(os.fspath(path)) and os.path.isfile(path):
        return os.fspath(path)
    from engine.datasets.download import get_file

    return os.fspath(get_file(os.fspath(path), KERAS_DATASETS_ORIGIN + filename, file_hash))


def read_word_index(path: str | os.PathLike[str]) -> dict[str, int]:
    """Parse a Keras word-index JSON file, checking it maps words to integer ranks."""
    with open(path, encoding="utf-8") as fh:
        index = json.load(fh)
    if not isinstance(index, dict) or not all(
        isinstance(k, str) and isinstance(v, int) for k, v in index.items()
    ):
        raise ValueError(f"{path} is not a word index (a JSON object of word -> rank).")
    return index


def shift_indices(
    sequences: Iterable[Sequence[int]], start_char: int | None, index_from: int
) -> list[list[int]]:
    """Add `index_from` to every word and prepend `start_char` (when not None)."""
    if start_char is not None:
        return [[start_char] + [int(w) + index_from for w in seq] for seq in sequences]
    return [[int(w) + index_from for w in seq] for seq in sequences]


def remove_long_sequences(
    maxlen: int, sequences: Sequence[list[int]], labels: Sequence[Any]
) -> tuple[list[list[int]], list[Any]]:
    """Keep the sequences strictly shorter than `maxlen` and their labels, as Keras does."""
    kept = [(seq, label) for seq, label in zip(sequences, labels) if len(seq) < maxlen]
    return [s for s, _ in kept], [lbl for _, lbl in kept]


def limit_vocabulary(
    sequences: Sequence[list[int]], num_words: int | None, skip_top: int, oov_char: int | None
) -> list[list[int]]:
    """Replace (or drop, when `oov_char` is None) words outside `[skip_top, num_words)`.

    Args:
        sequences: encoded sequences.
        num_words: the exclusive upper bound; the largest index in the data when falsy.
        skip_top: the inclusive lower bound.
        oov_char: the replacement, or None to drop such words.
    """
    if not num_words:
        num_words = max((max(seq) for seq in sequences if seq), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in seq] for seq in sequences]
    return [[w for w in seq if skip_top <= w < num_words] for seq in sequences]


def object_array(sequences: Sequence[list[int]]) -> np.ndarray:
    """A 1-D object array of the lists (1-D even when all have the same length)."""
    out = np.empty(len(sequences), dtype=object)
    for i, seq in enumerate(sequences):
        out[i] = seq
    return out


def check_no_extra_kwargs(loader: str, kwargs: dict[str, Any]) -> None:
    """Refuse unknown keyword arguments instead of ignoring a misspelt option."""
    if kwargs:
        raise TypeError(
            f"{loader} got unexpected keyword argument(s) {', '.join(sorted(kwargs))}; "
            "check the spelling against its signature."
        )
