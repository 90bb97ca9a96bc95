"""Saving and loading: .keras zips, .weights.npz, exact resumption, clear failures."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import engine
from engine import layers


def trained_model() -> tuple[engine.Model, np.ndarray, np.ndarray]:
    engine.utils.set_random_seed(0)
    inp = engine.Input(shape=(4,))
    h = layers.Dense(8, activation="relu")(inp)
    h = layers.Dropout(0.2)(h)
    out = layers.Dense(3, activation="softmax")(h)
    model = engine.Model(inp, out)
    model.compile(
        optimizer=engine.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = rng.integers(0, 3, 64)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return model, x, y


def test_keras_file_layout_and_identical_predictions(tmp_path):
    model, x, _ = trained_model()
    path = tmp_path / "m.keras"
    model.save(path.as_posix())
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        config = json.loads(zf.read("config.json"))
        meta = json.loads(zf.read("metadata.json"))
    assert {"config.json", "metadata.json", "model.weights.npz", "optimizer.npz"} <= names
    assert config["class_name"] == "Functional" and "compile_config" in config
    assert meta["keras_version"]
    restored = engine.models.load_model(path.as_posix())
    np.testing.assert_array_equal(model.predict(x, verbose=0), restored.predict(x, verbose=0))


def test_continued_training_after_load_is_identical(tmp_path):
    model, x, y = trained_model()
    path = (tmp_path / "m.keras").as_posix()
    model.save(path)
    restored = engine.models.load_model(path)
    engine.utils.set_random_seed(42)
    h1 = model.fit(x, y, epochs=2, batch_size=16, verbose=0).history
    engine.utils.set_random_seed(42)
    h2 = restored.fit(x, y, epochs=2, batch_size=16, verbose=0).history
    assert h1 == h2
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(restored.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())


def test_sequential_round_trip_and_weights_file(tmp_path):
    model = engine.Sequential(
        [layers.Dense(5, activation="tanh", input_shape=(3,)), layers.Dense(2)]
    )
    x = np.random.rand(4, 3).astype("float32")
    model.save((tmp_path / "s.keras").as_posix())
    restored = engine.models.load_model((tmp_path / "s.keras").as_posix())
    np.testing.assert_array_equal(model.predict(x, verbose=0), restored.predict(x, verbose=0))
    assert restored.optimizer is None
    wpath = (tmp_path / "w.weights.npz").as_posix()
    model.save_weights(wpath)
    other = engine.Sequential(
        [layers.Dense(5, activation="tanh", input_shape=(3,)), layers.Dense(2)]
    )
    other.load_weights(wpath)
    np.testing.assert_array_equal(model.predict(x, verbose=0), other.predict(x, verbose=0))
    with np.load(wpath, allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)


def test_lambda_layer_fails_to_save_with_clear_message(tmp_path):
    model = engine.Sequential([layers.Dense(2, input_shape=(3,)), layers.Lambda(lambda t: t * 2)])
    path = tmp_path / "lam.keras"
    with pytest.raises(ValueError, match="Lambda"):
        model.save(path.as_posix())
    assert not path.exists()


def test_bad_paths_and_files_are_refused(tmp_path):
    model = engine.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match=r"\.keras"):
        model.save((tmp_path / "m.h5").as_posix())
    with pytest.raises(ValueError, match=r"\.weights\.npz"):
        model.save_weights((tmp_path / "m.npz").as_posix())
    bogus = tmp_path / "bogus.keras"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"not a \.keras model file"):
        engine.models.load_model(bogus.as_posix())
    with pytest.raises(FileNotFoundError):
        engine.models.load_model((tmp_path / "missing.keras").as_posix())
    other = engine.Sequential([layers.Dense(4, input_shape=(3,))])
    wpath = (tmp_path / "w.weights.npz").as_posix()
    model.save_weights(wpath)
    with pytest.raises(ValueError, match="shape"):
        other.load_weights(wpath)


def test_custom_registered_layer_round_trips(tmp_path):
    @engine.saving.register_keras_serializable(package="tests")
    class Doubler(engine.layers.Layer):
        def call(self, x):
            return x * 2.0

    model = engine.Sequential([layers.Dense(2, input_shape=(3,)), Doubler()])
    path = (tmp_path / "c.keras").as_posix()
    model.save(path)
    restored = engine.models.load_model(path)
    x = np.ones((1, 3), "float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), restored.predict(x, verbose=0))


def test_to_json_and_clone_model():
    model = engine.Sequential([layers.Dense(3, input_shape=(2,)), layers.Dense(1)])
    rebuilt = engine.models.model_from_json(model.to_json())
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]
    clone = engine.models.clone_model(model)
    assert clone.output_shape == (None, 1)
