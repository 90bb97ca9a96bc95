"""Model builders named by specs: the Transformer text classifier and its position embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine
from experiments.builders import PositionEmbedding, transformer_classifier
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients


def test_position_embedding_adds_one_learned_vector_per_position() -> None:
    layer = PositionEmbedding(5)
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    out = np.asarray(layer(x))
    assert layer.embeddings.shape == (5, 3)
    np.testing.assert_allclose(out, x + np.asarray(layer.embeddings.value)[:4], rtol=1e-6)
    assert_config_round_trip(layer)


def test_position_embedding_gradients(float64: None) -> None:
    x = np.random.default_rng(1).normal(size=(2, 3, 4))
    check_layer_gradients(PositionEmbedding(3), x)


def test_position_embedding_rejects_longer_sequences() -> None:
    with pytest.raises(ValueError, match="holds 3 positions but got sequences of length 4"):
        PositionEmbedding(3)(np.zeros((1, 4, 2), "float32"))
    with pytest.raises(ValueError, match="sequence_length must be a positive integer"):
        PositionEmbedding(0)


def test_transformer_classifier_saves_and_loads_with_identical_predictions(
    tmp_path: Path,
) -> None:
    model = transformer_classifier((6,), vocab_size=20, embed_dim=8, num_heads=2, ff_dim=16)
    assert model.output_shape == (None, 1)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(2).integers(0, 20, size=(16, 6)).astype("int32")
    y = (x[:, 0] > 10).astype("float32")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = engine.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
