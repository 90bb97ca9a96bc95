"""`Bidirectional` and `TimeDistributed`: merging, masks, states, gradients, PyTorch, configs."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import layers, ops
from engine.backend import GradientTape, Tensor
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients
from tests.engine.test_rnn import Flat, flat_outputs, padded_mask

rng = np.random.default_rng(0)


def data(*shape: int) -> np.ndarray:
    return rng.normal(size=shape).astype("float32")


# Bidirectional ------------------------------------------------------------------------------
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_merge_modes_combine_forward_and_time_reversed_backward(merge_mode):
    x = data(2, 5, 3)
    layer = layers.Bidirectional(layers.GRU(4, return_sequences=True), merge_mode=merge_mode)
    out = layer(x)
    forward = layer.forward_layer(x).numpy()
    backward = layer.backward_layer(x).numpy()[:, ::-1]
    expected = {
        "concat": np.concatenate([forward, backward], axis=-1),
        "sum": forward + backward,
        "mul": forward * backward,
        "ave": (forward + backward) / 2,
    }
    if merge_mode is None:
        np.testing.assert_allclose(out[0].numpy(), forward, rtol=1e-6)
        np.testing.assert_allclose(out[1].numpy(), backward, rtol=1e-6)
    else:
        np.testing.assert_allclose(out.numpy(), expected[merge_mode], rtol=1e-6, atol=1e-7)
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    assert layer.forward_layer.name.startswith("forward_")
    assert layer.backward_layer.name.startswith("backward_")


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_gradients_for_every_merge_mode(merge_mode, float64):
    x = rng.normal(size=(3, 5, 2))
    inner = layers.LSTM(2, return_sequences=merge_mode != "sum")
    check_layer_gradients(
        Flat(layers.Bidirectional(inner, merge_mode=merge_mode), mask=padded_mask()), x
    )


def test_gradients_with_states_and_initial_states(float64):
    x = rng.normal(size=(2, 4, 2))
    states = [rng.normal(size=(2, 2)) for _ in range(4)]
    layer = layers.Bidirectional(layers.LSTM(2, return_state=True, return_sequences=True))
    check_layer_gradients(Flat(layer), [x, *states], as_list=True)


def test_weights_are_forward_then_backward_and_fresh():
    original = layers.LSTM(3)
    original(data(1, 2, 4))
    layer = layers.Bidirectional(original)
    layer(data(1, 2, 4))
    names = [w.path for w in layer.weights]
    assert len(names) == 6
    assert [w.shape for w in layer.get_weights()] == [(4, 12), (3, 12), (12,)] * 2
    fw = layer.forward_layer.get_weights()
    assert not np.allclose(fw[0], original.get_weights()[0])
    weights = [rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()]
    preset = layers.Bidirectional(layers.LSTM(3), weights=weights)
    preset(data(1, 2, 4))
    for a, b in zip(preset.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_return_state_order_and_shapes():
    layer = layers.Bidirectional(layers.LSTM(3, return_state=True))
    out, fh, fc, bh, bc = layer(data(2, 5, 4))
    assert out.shape == (2, 6) and fh.shape == fc.shape == bh.shape == bc.shape == (2, 3)
    np.testing.assert_allclose(out.numpy(), np.concatenate([fh.numpy(), bh.numpy()], -1))
    assert layer.compute_output_shape((None, 5, 4)) == [
        (None, 6),
        (None, 3),
        (None, 3),
        (None, 3),
        (None, 3),
    ]
    both = layers.Bidirectional(
        layers.GRU(3, return_sequences=True, return_state=True), merge_mode=None
    )
    outs = both(data(2, 5, 4))
    assert [o.shape for o in outs] == [(2, 5, 3), (2, 5, 3), (2, 3), (2, 3)]


def test_masked_steps_output_zeros_in_both_directions():
    lengths = [5, 3]
    x = data(2, 5, 3)
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    layer = layers.Bidirectional(layers.LSTM(4, return_sequences=True))
    out = layer(x, mask=mask)
    np.testing.assert_array_equal(out.numpy()[1, 3:], 0.0)
    np.testing.assert_array_equal(out._keras_mask, mask)
    trimmed = layer(x[1:, :3]).numpy()[0]
    np.testing.assert_allclose(out.numpy()[1, :3], trimmed, rtol=1e-5, atol=1e-6)
    assert layer.forward_layer.zero_output_for_mask
    last = layers.Bidirectional(layers.GRU(4))
    np.testing.assert_allclose(
        last(x, mask=mask).numpy()[1], last(x[1:, :3]).numpy()[0], rtol=1e-5, atol=1e-6
    )


def test_bidirectional_lstm_matches_torch():
    torch = pytest.importorskip("torch")
    x = data(3, 6, 4)
    layer = layers.Bidirectional(layers.LSTM(5, return_sequences=True))
    layer(x)
    module = torch.nn.LSTM(4, 5, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for suffix, sub in (("", layer.forward_layer), ("_reverse", layer.backward_layer)):
            k, r, b = sub.get_weights()
            getattr(module, f"weight_ih_l0{suffix}").copy_(torch.from_numpy(k.T))
            getattr(module, f"weight_hh_l0{suffix}").copy_(torch.from_numpy(r.T))
            getattr(module, f"bias_ih_l0{suffix}").copy_(torch.from_numpy(b))
            getattr(module, f"bias_hh_l0{suffix}").zero_()
    r = data(3, 6, 10)
    xt = torch.from_numpy(x).requires_grad_(True)
    expected = module(xt)[0]
    (expected * torch.from_numpy(r)).sum().backward()
    xe = Tensor(x)
    with GradientTape() as tape:
        tape.watch(xe)
        out = layer(xe)
        total = ops.sum(ops.multiply(out, r))
    grads = tape.gradient(total, [xe, *layer.trainable_weights])
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(grads[0], xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    torch_grads = []
    for suffix in ("", "_reverse"):
        torch_grads += [
            getattr(module, f"weight_ih_l0{suffix}").grad.numpy().T,
            getattr(module, f"weight_hh_l0{suffix}").grad.numpy().T,
            getattr(module, f"bias_ih_l0{suffix}").grad.numpy(),
        ]
    for g, t in zip(grads[1:], torch_grads):
        np.testing.assert_allclose(g, t, rtol=1e-4, atol=1e-5)


def test_custom_backward_layer_and_validation():
    forward = layers.LSTM(3, return_sequences=True)
    backward = layers.GRU(3, return_sequences=True, go_backwards=True)
    layer = layers.Bidirectional(forward, backward_layer=backward, merge_mode="sum")
    assert layer(data(2, 4, 2)).shape == (2, 4, 3)
    assert layer.backward_layer is backward
    with pytest.raises(ValueError, match="go_backwards"):
        layers.Bidirectional(forward, backward_layer=layers.GRU(3, return_sequences=True))
    with pytest.raises(ValueError, match="return_sequences"):
        layers.Bidirectional(forward, backward_layer=layers.GRU(3, go_backwards=True))
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(forward, merge_mode="max")
    with pytest.raises(ValueError, match="Layer"):
        layers.Bidirectional("lstm")


def test_stateful_bidirectional_resets():
    layer = layers.Bidirectional(layers.SimpleRNN(2, stateful=True))
    x = data(2, 3, 2)
    first = layer(x).numpy()
    assert not np.allclose(layer(x).numpy(), first)
    layer.reset_states()
    np.testing.assert_allclose(layer(x).numpy(), first, rtol=1e-6)
    with pytest.raises(AttributeError, match="stateful"):
        layers.Bidirectional(layers.SimpleRNN(2)).reset_state()


def test_bidirectional_config_round_trip():
    for layer in (
        layers.Bidirectional(layers.LSTM(3, return_sequences=True), merge_mode="ave"),
        layers.Bidirectional(
            layers.LSTM(3), backward_layer=layers.GRU(3, go_backwards=True), merge_mode=None
        ),
    ):
        clone = assert_config_round_trip(layer)
        assert clone.merge_mode == layer.merge_mode
        assert type(clone.backward_layer) is type(layer.backward_layer)


# TimeDistributed ------------------------------------------------------------------------------
def test_time_distributed_dense_equals_dense_per_step():
    x = data(2, 5, 4)
    layer = layers.TimeDistributed(layers.Dense(3, activation="relu"))
    out = layer(x).numpy()
    for t in range(5):
        np.testing.assert_allclose(out[:, t], layer.layer(x[:, t]).numpy(), rtol=1e-6)
    assert [w.shape for w in layer.get_weights()] == [(4, 3), (3,)]
    assert layer.compute_output_shape((None, 5, 4)) == (None, 5, 3)
    assert layers.TimeDistributed(layers.Dense(3))(engine.Input((None, 4))).shape == (None, None, 3)


def test_time_distributed_gradients_and_mask(float64):
    x = rng.normal(size=(2, 3, 4))
    check_layer_gradients(layers.TimeDistributed(layers.Dense(2)), x)
    check_layer_gradients(layers.TimeDistributed(layers.Flatten()), rng.normal(size=(2, 3, 2, 2)))
    masked = Tensor(x)
    masked._keras_mask = padded_mask(2, 3)
    out = layers.TimeDistributed(layers.Dense(2))(masked)
    np.testing.assert_array_equal(out._keras_mask, padded_mask(2, 3))


def test_time_distributed_passes_the_folded_mask_and_training():
    seen = {}

    class Probe(layers.Layer):
        def call(self, inputs, training=False, mask=None):
            seen.update(training=training, mask=mask)
            return inputs

    x = Tensor(data(2, 3, 4))
    x._keras_mask = padded_mask(2, 3)
    layers.TimeDistributed(Probe())(x, training=True)
    assert seen["training"] is True
    np.testing.assert_array_equal(seen["mask"], padded_mask(2, 3).reshape(6))


def test_time_distributed_over_an_rnn_and_errors():
    x = data(2, 3, 4, 5)
    out = layers.TimeDistributed(layers.LSTM(6))(x)
    assert out.shape == (2, 3, 6)
    with pytest.raises(ValueError, match="3 dimensions"):
        layers.TimeDistributed(layers.Dense(2))(data(2, 3))
    with pytest.raises(ValueError, match="Layer"):
        layers.TimeDistributed("dense")


def test_time_distributed_config_and_saving(tmp_path):
    clone = assert_config_round_trip(layers.TimeDistributed(layers.Dense(3, use_bias=False)))
    assert clone.layer.use_bias is False
    inputs = engine.Input((4, 3))
    h = layers.TimeDistributed(layers.Dense(2))(inputs)
    model = engine.Model(inputs, layers.SimpleRNN(2)(h))
    x = data(3, 4, 3)
    model.save(tmp_path / "td.keras")
    loaded = engine.models.load_model(tmp_path / "td.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_bidirectional_in_a_trained_model():
    engine.utils.set_random_seed(0)
    x = data(64, 6, 2)
    y = (x[:, 0, 0] > x[:, -1, 0]).astype("float32")[:, None]
    model = engine.Sequential(
        [
            engine.Input((6, 2)),
            layers.Bidirectional(layers.GRU(8)),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=engine.optimizers.Adam(0.02), loss="binary_crossentropy")
    losses = model.fit(x, y, epochs=15, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert flat_outputs(model(x)).shape == (64, 1)
