"""fit / evaluate / predict semantics, convergence and reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import layers
from engine.datasets import spirals


def small_model(out: int = 1, activation: str | None = "sigmoid", inputs: int = 2) -> engine.Model:
    return engine.Sequential(
        [
            layers.Dense(16, activation="relu", input_shape=(inputs,)),
            layers.Dense(out, activation=activation),
        ]
    )


def test_xor_reaches_full_training_accuracy():
    engine.utils.set_random_seed(3)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
    y = np.array([[0], [1], [1], [0]], dtype="float32")
    model = small_model()
    model.compile(
        optimizer=engine.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"]
    )
    history = model.fit(x, y, epochs=300, batch_size=4, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    np.testing.assert_array_equal((model.predict(x, verbose=0) > 0.5).astype(int), y.astype(int))


def test_two_spirals_reach_97_percent_training_accuracy():
    engine.utils.set_random_seed(0)
    (x, y), _ = spirals.load_data(n_train=1000, n_test=10)
    model = engine.Sequential(
        [
            layers.Dense(64, activation="relu", input_shape=(2,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=engine.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"]
    )
    model.fit(x, y, epochs=120, batch_size=32, verbose=0)
    _, acc = model.evaluate(x, y, verbose=0)
    assert acc >= 0.97


def test_functional_residual_two_input_model_trains():
    engine.utils.set_random_seed(1)
    a = engine.Input(shape=(3,))
    b = engine.Input(shape=(3,))
    h = layers.Dense(3, activation="relu")(layers.Concatenate()([a, b]))
    h = layers.Add()([h, a])
    out = layers.Dense(1)(h)
    model = engine.Model([a, b], out)
    rng = np.random.default_rng(0)
    xa, xb = (
        rng.normal(size=(256, 3)).astype("float32"),
        rng.normal(size=(256, 3)).astype("float32"),
    )
    y = (xa.sum(1, keepdims=True) - xb[:, :1]).astype("float32")
    model.compile(optimizer=engine.optimizers.Adam(0.02), loss="mse")
    hist = model.fit([xa, xb], y, epochs=40, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < 0.1 * hist.history["loss"][0]


def test_freezing_a_layer_leaves_its_weights_unchanged():
    model = small_model()
    model.layers[0].trainable = False
    before = [w.copy() for w in model.layers[0].get_weights()]
    other_before = model.layers[1].get_weights()[0].copy()
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.random.rand(64, 2), np.random.rand(64, 1), epochs=2, verbose=0)
    for a, b in zip(before, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(other_before, model.layers[1].get_weights()[0])


def fit_once(seed: int) -> tuple[dict, list[np.ndarray]]:
    engine.backend.clear_session()
    engine.utils.set_random_seed(seed)
    x = np.random.default_rng(0).normal(size=(200, 2)).astype("float32")
    y = (x[:, 0] > x[:, 1]).astype("float32")
    model = engine.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(2,)),
            layers.Dropout(0.3),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.2, verbose=0)
    return hist.history, model.get_weights()


def test_same_seed_gives_bit_identical_history_and_weights():
    h1, w1 = fit_once(7)
    h2, w2 = fit_once(7)
    assert h1 == h2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    h3, _ = fit_once(8)
    assert h3 != h1


def test_history_keys_val_prefix_and_epochs():
    model = small_model(3, "softmax")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.random.rand(50, 2), np.random.randint(0, 3, 50)
    hist = model.fit(x, y, epochs=3, validation_data=(x, y), verbose=0)
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert hist.epoch == [0, 1, 2] and len(hist.history["val_loss"]) == 3
    assert model.history is hist


def test_validation_split_takes_the_last_fraction_before_shuffling():
    seen: list[np.ndarray] = []

    class Spy(engine.layers.Layer):
        def call(self, x, training=None):
            if training:
                seen.append(np.asarray(x.numpy()).copy())
            return x

    model = engine.Sequential([Spy(input_shape=(1,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.arange(10, dtype="float32").reshape(10, 1)
    hist = model.fit(x, x, epochs=1, batch_size=4, validation_split=0.3, verbose=0)
    trained = np.sort(np.concatenate(seen).ravel())
    np.testing.assert_array_equal(trained, np.arange(7))
    val_loss = model.evaluate(x[7:], x[7:], verbose=0)
    assert hist.history["val_loss"][0] == pytest.approx(val_loss, rel=1e-6)


def test_sample_weight_and_class_weight_change_the_loss():
    model = small_model()
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    x = np.random.rand(8, 2).astype("float32")
    y = np.array([0, 1] * 4, dtype="float32")
    base = model.evaluate(x, y, verbose=0)
    zero_half = model.evaluate(x, y, sample_weight=np.array([1, 0] * 4, "float32"), verbose=0)
    per_sample = model.predict(x, verbose=0).ravel()
    bce = -(y * np.log(per_sample) + (1 - y) * np.log(1 - per_sample))
    assert base == pytest.approx(bce.mean(), rel=1e-4)
    assert zero_half == pytest.approx(bce[::2].sum() / 8, rel=1e-4)
    w0 = model.get_weights()
    model.fit(x, y, class_weight={0: 0.0, 1: 0.0}, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(w0, model.get_weights()):
        np.testing.assert_allclose(a, b)


def test_generator_input_with_steps_per_epoch_and_initial_epoch():
    def batches():
        rng = np.random.default_rng(0)
        while True:
            x = rng.random((16, 2)).astype("float32")
            yield x, x.sum(1, keepdims=True)

    model = small_model(activation=None)
    model.compile(optimizer="adam", loss="mse")
    hist = model.fit(batches(), steps_per_epoch=5, epochs=4, initial_epoch=2, verbose=0)
    assert hist.epoch == [2, 3]
    loss = model.evaluate(batches(), steps=3, verbose=0)
    assert np.isfinite(loss)


def test_evaluate_predict_return_shapes_and_dicts():
    model = small_model(3, "softmax")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy", "mae"])
    x = np.random.rand(70, 2)
    y = engine.utils.to_categorical(np.random.randint(0, 3, 70), 3)
    result = model.evaluate(x, y, batch_size=16, verbose=0)
    assert isinstance(result, list) and len(result) == 3
    as_dict = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert list(as_dict) == ["loss", "accuracy", "mae"]
    assert as_dict["loss"] == pytest.approx(result[0])
    assert model.metrics_names == ["loss", "accuracy", "mae"]
    preds = model.predict(x, batch_size=16, verbose=0)
    assert preds.shape == (70, 3) and preds.dtype == np.float32
    np.testing.assert_allclose(preds.sum(1), 1.0, rtol=1e-5)


def test_single_batch_methods():
    model = small_model()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x, y = np.random.rand(8, 2), np.random.rand(8, 1)
    loss, mae = model.train_on_batch(x, y)
    assert np.isfinite(loss) and np.isfinite(mae)
    logs = model.test_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "mae"}
    assert model.predict_on_batch(x).shape == (8, 1)


def test_multi_output_losses_weights_and_metrics_are_logged():
    inp = engine.Input(shape=(4,))
    h = layers.Dense(8, activation="relu")(inp)
    reg = layers.Dense(1, name="reg")(h)
    cls = layers.Dense(2, activation="softmax", name="cls")(h)
    model = engine.Model(inp, [reg, cls])
    model.compile(
        optimizer="adam",
        loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
        loss_weights={"reg": 0.5, "cls": 1.0},
        metrics={"cls": ["accuracy"]},
    )
    x = np.random.rand(32, 4)
    ys = {"reg": np.random.rand(32, 1), "cls": np.random.randint(0, 2, 32)}
    logs = model.evaluate(x, ys, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}
    assert logs["loss"] == pytest.approx(0.5 * logs["reg_loss"] + logs["cls_loss"], rel=1e-5)
    hist = model.fit(x, [ys["reg"], ys["cls"]], epochs=2, verbose=0)
    assert "cls_accuracy" in hist.history


def test_regularization_losses_are_added_to_the_training_loss():
    model = engine.Sequential(
        [
            layers.Dense(
                2,
                input_shape=(3,),
                kernel_regularizer=engine.regularizers.L2(0.5),
                kernel_initializer="ones",
            )
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((4, 3)), np.zeros((4, 2))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(0.5 * 6, rel=1e-6)


def test_accuracy_resolves_by_shapes():
    for out, act, loss, y in [
        (1, "sigmoid", "binary_crossentropy", np.random.randint(0, 2, (20, 1))),
        (3, "softmax", "sparse_categorical_crossentropy", np.random.randint(0, 3, 20)),
        (3, "softmax", "categorical_crossentropy", np.eye(3)[np.random.randint(0, 3, 20)]),
    ]:
        model = small_model(out, act)
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
        acc = model.evaluate(np.random.rand(20, 2), y, verbose=0, return_dict=True)["accuracy"]
        preds = model.predict(np.random.rand(0 + 20, 2), verbose=0)
        assert 0.0 <= acc <= 1.0 and preds.shape[1] == out


def test_bad_usage_messages():
    model = small_model()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.ones((2, 2)), np.ones((2, 1)), verbose=0)
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(np.ones((4, 2)), np.ones((3, 1)), verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(np.ones((4, 2)), np.ones((4, 1)), validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(np.ones((4, 2)), np.ones((4, 1)), batch_size=0, verbose=0)


def test_training_stays_float32():
    model = small_model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.random.rand(16, 2), np.random.rand(16, 1), epochs=1, verbose=0)
    assert all(w.dtype == np.float32 for w in model.get_weights())
    assert model.predict(np.random.rand(3, 2), verbose=0).dtype == np.float32
