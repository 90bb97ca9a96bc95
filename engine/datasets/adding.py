"""The adding problem (Hochreiter & Schmidhuber, 1997): a classic long-memory test for RNNs.

Each sample is a sequence of `length` steps with two channels: a value drawn
uniformly from [0, 1) and a marker that is 1 at exactly two steps (one in each
half of the sequence) and 0 elsewhere. The target is the sum of the two marked
values. Always predicting 1 (the mean) gives a mean squared error of
1/6 ~ 0.167; a model that remembers the marked values drives it towards 0.
"""

from __future__ import annotations

import numpy as np

BASELINE_MSE = 1.0 / 6.0


def make_adding(n_samples: int, length: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Adding-problem samples.

    Args:
        n_samples: the number of sequences.
        length: the number of steps (at least 2).
        seed: the random seed (same seed, same data).

    Returns:
        `x` float32 `(n_samples, length, 2)` (values, markers) and `y` float32
        `(n_samples, 1)`.

    Example:
        >>> x, y = make_adding(4, length=10)
        >>> x.shape, y.shape, x[..., 1].sum(axis=1).tolist()
        ((4, 10, 2), (4, 1), [2.0, 2.0, 2.0, 2.0])
    """
    if n_samples < 1:
        raise ValueError(f"make_adding needs n_samples >= 1, got {n_samples}.")
    if length < 2:
        raise ValueError(f"make_adding needs length >= 2 so two steps can be marked, got {length}.")
    rng = np.random.default_rng(seed)
    values = rng.random((n_samples, length), dtype=np.float32)
    half = length // 2
    first = rng.integers(0, half, n_samples)
    second = rng.integers(half, length, n_samples)
    rows = np.arange(n_samples)
    markers = np.zeros((n_samples, length), dtype=np.float32)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1)
    y = (values[rows, first] + values[rows, second]).astype(np.float32)[:, None]
    return x, y


def load_data(
    n_train: int = 5000, n_test: int = 1000, length: int = 50, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`((x_train, y_train), (x_test, y_test))` of the adding problem, generated offline.

    Args:
        n_train: the number of training sequences.
        n_test: the number of test sequences.
        length: the number of steps of every sequence.
        seed: the random seed.

    Example:
        >>> (x_train, y_train), _ = load_data(n_train=100, n_test=10, length=20)
        >>> x_train.shape
        (100, 20, 2)
    """
    x, y = make_adding(n_train + n_test, length=length, seed=seed)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
