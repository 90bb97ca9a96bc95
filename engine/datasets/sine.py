"""Sine-wave forecasting: windows of noisy sine mixtures and the values that follow them.

Every sample is its own signal, a sum of two or three sines with random
amplitudes, periods (8 to 40 steps) and phases. The input is a window of the
signal plus Gaussian noise; the target is the next `horizon` values of the
clean signal, so a model has to filter the noise and extrapolate the waves.
"""

from __future__ import annotations

import numpy as np


def make_sine_windows(
    n_samples: int, window: int = 50, horizon: int = 1, noise: float = 0.05, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy input windows and their clean continuations.

    Args:
        n_samples: the number of windows.
        window: the number of input steps.
        horizon: the number of future steps to predict.
        noise: the standard deviation of the noise on the inputs.
        seed: the random seed (same seed, same data).

    Returns:
        `x` float32 `(n_samples, window, 1)` and `y` float32 `(n_samples, horizon)`.

    Example:
        >>> x, y = make_sine_windows(8, window=30, horizon=5)
        >>> x.shape, y.shape
        ((8, 30, 1), (8, 5))
    """
    if n_samples < 1 or window < 1 or horizon < 1:
        raise ValueError(
            "make_sine_windows needs n_samples, window and horizon >= 1, got "
            f"{n_samples}, {window}, {horizon}."
        )
    if noise < 0:
        raise ValueError(f"make_sine_windows needs noise >= 0, got {noise}.")
    rng = np.random.default_rng(seed)
    components = 3
    t = np.arange(window + horizon, dtype=np.float64)
    amplitude = rng.uniform(0.2, 1.0, (n_samples, components, 1))
    # Two or three components: the third is switched off for about half of the signals.
    amplitude[:, 2] *= rng.random((n_samples, 1)) < 0.5
    period = rng.uniform(8.0, 40.0, (n_samples, components, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (n_samples, components, 1))
    signal = (amplitude * np.sin(2 * np.pi * t / period + phase)).sum(axis=1)
    signal /= np.abs(amplitude).sum(axis=1)
    x = signal[:, :window] + rng.normal(0.0, noise, (n_samples, window))
    y = signal[:, window:]
    return x[..., None].astype(np.float32), y.astype(np.float32)


def load_data(
    n_train: int = 4000,
    n_test: int = 1000,
    window: int = 50,
    horizon: int = 1,
    noise: float = 0.05,
    seed: int = 0,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`((x_train, y_train), (x_test, y_test))` of sine forecasting windows, generated offline.

    Args:
        n_train: the number of training windows.
        n_test: the number of test windows.
        window: the number of input steps.
        horizon: the number of future steps to predict.
        noise: the standard deviation of the input noise.
        seed: the random seed.

    Example:
        >>> (x_train, y_train), _ = load_data(n_train=100, n_test=10, horizon=3)
        >>> x_train.shape, y_train.shape
        ((100, 50, 1), (100, 3))
    """
    x, y = make_sine_windows(n_train + n_test, window, horizon, noise, seed)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
