"""Two interleaved spirals: a small, offline, deterministic classification set.

A classic test of whether a network learns a non-linear boundary: a linear
model gets about 50%, a small MLP with ReLU reaches nearly 100%.
"""

from __future__ import annotations

import numpy as np


def make_spirals(
    n_samples: int = 1000, noise: float = 0.1, turns: float = 1.75, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Points of two spirals and their labels.

    Args:
        n_samples: the number of points (half per spiral).
        noise: the standard deviation of Gaussian noise added to the points.
        turns: how many turns each spiral makes.
        seed: the random seed (same seed, same data).

    Returns:
        `x` of shape `(n_samples, 2)` float32 and `y` of shape `(n_samples,)` int64 in {0, 1}.

    Example:
        >>> x, y = make_spirals(200)
        >>> x.shape, y.shape
        ((200, 2), (200,))
    """
    if n_samples < 2:
        raise ValueError(f"make_spirals needs at least 2 samples, got {n_samples}.")
    rng = np.random.default_rng(seed)
    half = n_samples // 2
    counts = (half, n_samples - half)
    xs, ys = [], []
    for label, count in enumerate(counts):
        t = np.sqrt(rng.random(count)) * turns * 2 * np.pi
        r = t / (turns * 2 * np.pi)
        angle = t + label * np.pi
        pts = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
        xs.append(pts + rng.normal(0.0, noise * 0.1, pts.shape))
        ys.append(np.full(count, label, dtype=np.int64))
    x = np.concatenate(xs).astype(np.float32)
    y = np.concatenate(ys)
    order = rng.permutation(n_samples)
    return x[order], y[order]


def load_data(
    n_train: int = 1600, n_test: int = 400, noise: float = 0.1, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`((x_train, y_train), (x_test, y_test))` like the Keras loaders, generated offline."""
    x, y = make_spirals(n_train + n_test, noise=noise, seed=seed)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
