"""Real data: a CNN trained on 8,000 real MNIST test images scores >= 97% on the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine
from engine import layers
from engine.datasets.mnist import load_idx

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "mnist"
IMAGES = MNIST / "t10k-images-idx3-ubyte.gz"
LABELS = MNIST / "t10k-labels-idx1-ubyte.gz"


@pytest.mark.skipif(
    not (IMAGES.exists() and LABELS.exists()),
    reason=f"the real MNIST test set is not at {MNIST} (it lies beside the repo in ../shared)",
)
def test_cnn_on_real_mnist_reaches_97_percent():
    x, y = load_idx(IMAGES, LABELS)
    assert x.shape == (10000, 28, 28) and y.shape == (10000,)
    x = (x.astype("float32") / 255.0)[..., None]
    engine.utils.set_random_seed(0)
    model = engine.Sequential(
        [
            layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=engine.optimizers.Adam(0.001),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x[:8000], y[:8000], batch_size=64, epochs=4, verbose=0)
    _, accuracy = model.evaluate(x[8000:], y[8000:], verbose=0)
    assert accuracy >= 0.97
    assert np.isfinite(model.evaluate(x[:100], y[:100], verbose=0)[0])
