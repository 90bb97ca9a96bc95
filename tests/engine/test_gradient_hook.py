"""`Model.gradient_hook`: observing each step's gradients without changing training."""

from __future__ import annotations

import numpy as np

import engine
from engine.backend.tensor import GradientTape


def _model() -> engine.Model:
    model = engine.Sequential(
        [engine.layers.Dense(3, activation="tanh", input_shape=(2,)), engine.layers.Dense(1)]
    )
    model.compile(optimizer=engine.optimizers.SGD(0.1), loss="mse")
    return model


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 2)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")


def test_hook_is_unset_by_default() -> None:
    assert _model().gradient_hook is None


def test_hook_sees_the_gradients_of_each_step_before_the_update() -> None:
    x, y = _data()
    model = _model()
    calls: list[tuple[list[np.ndarray], list[np.ndarray]]] = []

    def hook(grads: list, variables: list) -> None:
        calls.append(([np.copy(g) for g in grads], [np.copy(v.value) for v in variables]))

    model.gradient_hook = hook
    before = [np.copy(w.value) for w in model.trainable_weights]
    with GradientTape() as tape:
        loss = model.compute_loss(x[:4], y[:4], model(x[:4], training=True))
    expected = tape.gradient(loss, model.trainable_weights)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)

    assert len(calls) == 2
    grads, weights = calls[0]
    assert len(grads) == len(model.trainable_weights)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    # The hook runs before the optimizer: it sees the weights the gradients belong to.
    for w, b in zip(weights, before):
        np.testing.assert_array_equal(w, b)


def test_training_is_identical_with_a_hook() -> None:
    x, y = _data()
    engine.utils.set_random_seed(3)
    plain = _model()
    plain.fit(x, y, batch_size=4, epochs=2, verbose=0)
    engine.utils.set_random_seed(3)
    hooked = _model()
    hooked.gradient_hook = lambda grads, variables: None
    hooked.fit(x, y, batch_size=4, epochs=2, verbose=0)
    for a, b in zip(plain.get_weights(), hooked.get_weights()):
        np.testing.assert_array_equal(a, b)
