"""Recurrent layers: SimpleRNN, LSTM, GRU, their cells, the generic RNN and stacked cells.

Gradients are checked numerically in float64 for every option; the fused ops
are checked against the step-by-step RNN loop (the Keras cell formulas run
through the tape) and against PyTorch; masks against trimming the padding.
"""

from __future__ import annotations

import contextlib
import threading
import warnings

import numpy as np
import pytest

import engine
from engine import activations, layers, ops
from engine.backend import GradientTape, Tensor, tree
from engine.backend.random import SeedGenerator
from tests.engine.layer_checks import assert_config_round_trip, check_layer_gradients

rng = np.random.default_rng(0)


def data(*shape: int) -> np.ndarray:
    return rng.normal(size=shape).astype("float32")


def stepwise_tanh(x):
    """tanh as a user function: cells with it run step by step through the tape."""
    return activations.tanh(x)


def stepwise_sigmoid(x):
    return activations.sigmoid(x)


def make(kind: str, units: int = 3, step: bool = False, **kwargs):
    """A recurrent layer; `step=True` forces the step-by-step loop with the same maths."""
    if step:
        kwargs["activation"] = stepwise_tanh
        if kind != "simple":
            kwargs["recurrent_activation"] = stepwise_sigmoid
    if kind == "simple":
        return layers.SimpleRNN(units, **kwargs)
    if kind == "lstm":
        return layers.LSTM(units, **kwargs)
    if kind == "gru_after":
        return layers.GRU(units, reset_after=True, **kwargs)
    return layers.GRU(units, reset_after=False, **kwargs)


KINDS = ["simple", "lstm", "gru_after", "gru_before"]
N_STATES = {"simple": 1, "lstm": 2, "gru_after": 1, "gru_before": 1}


def flat_outputs(out) -> Tensor:
    """All outputs of a recurrent call concatenated per sample (one tensor to differentiate)."""
    parts = tree.flatten(out) if isinstance(out, (list, tuple)) else [out]
    return ops.concatenate([ops.reshape(p, (p.shape[0], -1)) for p in parts], axis=1)


class Flat(layers.Layer):
    """Calls `inner` on `[x, *initial_states]` (or `x`) and flattens every output."""

    def __init__(self, inner, mask=None, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner
        self.mask = mask

    def call(self, inputs, training=False):
        x, *states = inputs if isinstance(inputs, list) else [inputs]
        out = self.inner(x, initial_state=states or None, mask=self.mask, training=training)
        return flat_outputs(out)


def padded_mask(batch: int = 3, steps: int = 5) -> np.ndarray:
    mask = np.ones((batch, steps), dtype=bool)
    mask[0, 3:] = False
    mask[1, :2] = False
    mask[-1, steps // 2] = False
    return mask


# Weights -------------------------------------------------------------------------------
def test_weight_layouts_and_names_match_keras():
    expected = {
        "simple": [(5, 3), (3, 3), (3,)],
        "lstm": [(5, 12), (3, 12), (12,)],
        "gru_after": [(5, 9), (3, 9), (2, 9)],
        "gru_before": [(5, 9), (3, 9), (9,)],
    }
    for kind, shapes in expected.items():
        layer = make(kind)
        layer(data(2, 4, 5))
        assert [w.shape for w in layer.get_weights()] == shapes, kind
        assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
        assert all(w.dtype == np.float32 for w in layer.get_weights())
    no_bias = layers.LSTM(3, use_bias=False)
    no_bias(data(2, 4, 5))
    assert [w.name for w in no_bias.weights] == ["kernel", "recurrent_kernel"]


def test_lstm_unit_forget_bias_and_orthogonal_recurrent_kernel():
    layer = layers.LSTM(4)
    layer(data(2, 3, 5))
    np.testing.assert_array_equal(
        layer.cell.bias.numpy(), np.r_[np.zeros(4), np.ones(4), np.zeros(8)]
    )
    plain = layers.LSTM(4, unit_forget_bias=False, bias_initializer="ones")
    plain(data(2, 3, 5))
    np.testing.assert_array_equal(plain.cell.bias.numpy(), np.ones(16))
    r = layer.cell.recurrent_kernel.numpy()
    np.testing.assert_allclose(r @ r.T, np.eye(4), atol=1e-5)


def test_invalid_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="units"):
        layers.LSTM(0)
    with pytest.raises(ValueError, match="cuDNN"):
        layers.GRU(3, use_cudnn=True)
    with pytest.raises(ValueError, match="timesteps"):
        layers.LSTM(3)(data(2, 5))
    with pytest.raises(ValueError, match="state_size"):
        layers.RNN(layers.Dense(3))


# Fused op == step-by-step cell loop -------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_fused_matches_step_by_step_cells_for_every_option(kind):
    x = data(3, 5, 4)
    mask = padded_mask()
    options = [
        {},
        {"return_sequences": True},
        {"go_backwards": True, "return_sequences": True},
        {"return_state": True},
        {"return_sequences": True, "zero_output_for_mask": True},
    ]
    for opts in options:
        for m in (None, mask):
            fused = make(kind, **opts)
            step = make(kind, step=True, **opts)
            fused(x[:1])
            step(x[:1])
            step.set_weights(fused.get_weights())
            a = flat_outputs(fused(x, mask=m)).numpy()
            b = flat_outputs(step(x, mask=m)).numpy()
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"{kind} {opts}")


@pytest.mark.parametrize("kind", KINDS)
def test_saturated_gates_match_the_cell_loop_without_overflow_warnings(kind):
    # Preactivations near +-300: the fused ops' sigmoid, 1 / (1 + exp(-x)), overflows
    # exp to inf on purpose and must give the exact limits 0 and 1, silently.
    x = np.concatenate([data(2, 4, 4), -data(2, 4, 4)]) * 100
    fused = make(kind, return_sequences=True)
    step = make(kind, step=True, return_sequences=True)
    fused(x[:1])
    step(x[:1])
    step.set_weights([np.sign(w) * 3 for w in fused.get_weights()])
    fused.set_weights(step.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = flat_outputs(fused(x)).numpy()
    b = flat_outputs(step(x)).numpy()
    assert np.isfinite(a).all()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru_after", "gru_before", "simple"])
def test_dropout_masks_are_per_sequence_and_match_the_cell_loop(kind):
    x = data(3, 6, 4)
    for rec in (0.0, 0.3):
        fused = make(kind, dropout=0.4, recurrent_dropout=rec, seed=7, return_sequences=True)
        step = make(
            kind, step=True, dropout=0.4, recurrent_dropout=rec, seed=7, return_sequences=True
        )
        fused(x)
        step(x)
        step.set_weights(fused.get_weights())
        fused.cell.seed_generator = SeedGenerator(3)
        step.cell.seed_generator = SeedGenerator(3)
        a = fused(x, training=True).numpy()
        b = step(x, training=True).numpy()
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        assert not np.allclose(a, fused(x).numpy()), "dropout had no effect in training"
        np.testing.assert_array_equal(fused(x).numpy(), fused(x, training=False).numpy())


def test_input_dropout_mask_is_constant_over_time():
    # A linear SimpleRNN with zero recurrence shows the input mask at each step directly.
    layer = layers.SimpleRNN(
        6, activation=None, dropout=0.5, seed=1, return_sequences=True, use_bias=False
    )
    layer(np.ones((2, 4, 6), "float32"))
    layer.set_weights([np.eye(6, dtype="float32"), np.zeros((6, 6), "float32")])
    out = layer(np.ones((2, 4, 6), "float32"), training=True).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0}
    np.testing.assert_array_equal(out, np.repeat(out[:, :1], 4, axis=1))


# Gradients ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_gradients_for_every_option(kind, float64):
    x = rng.normal(size=(3, 5, 2))
    mask = padded_mask()
    options = [
        {"return_sequences": True},
        {"go_backwards": True},
        {"go_backwards": True, "return_sequences": True, "return_state": True},
        {"return_state": True, "mask": mask},
        {"return_sequences": True, "mask": mask, "zero_output_for_mask": True},
        {"return_sequences": True, "go_backwards": True, "mask": mask},
    ]
    for opts in options:
        opts = dict(opts)
        m = opts.pop("mask", None)
        check_layer_gradients(Flat(make(kind, units=2, **opts), mask=m), x)


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_reach_initial_states(kind, float64):
    x = rng.normal(size=(2, 4, 2))
    states = [rng.normal(size=(2, 2)) for _ in range(N_STATES[kind])]
    layer = Flat(
        make(kind, units=2, return_sequences=True, return_state=True), mask=padded_mask(2, 4)
    )
    check_layer_gradients(layer, [x, *states], as_list=True)


@pytest.mark.parametrize("kind", ["lstm", "gru_after", "gru_before"])
def test_gradients_with_dropout_and_other_activations(kind, float64):
    x = rng.normal(size=(2, 4, 3))
    layer = make(kind, units=2, dropout=0.3, recurrent_dropout=0.3, seed=5, return_sequences=True)
    check_layer_gradients(
        layer,
        x,
        training=True,
        before_call=lambda: setattr(layer.cell, "seed_generator", SeedGenerator(9)),
    )
    for act, rec in (("softsign", "hard_sigmoid"), ("elu", "sigmoid"), ("tanh", "softsign")):
        check_layer_gradients(
            make(kind, units=2, activation=act, recurrent_activation=rec, return_sequences=True),
            x,
        )


def test_simple_rnn_gradients_with_dropout_and_relu(float64):
    x = rng.normal(size=(2, 4, 3))
    layer = layers.SimpleRNN(2, dropout=0.3, recurrent_dropout=0.3, seed=5, return_sequences=True)
    check_layer_gradients(
        layer,
        x,
        training=True,
        before_call=lambda: setattr(layer.cell, "seed_generator", SeedGenerator(9)),
    )
    check_layer_gradients(layers.SimpleRNN(2, activation="selu"), x)


def test_fused_op_is_one_tape_entry():
    layer = layers.LSTM(4, return_sequences=True)
    x = Tensor(data(2, 30, 3))
    layer(x)
    with GradientTape() as tape:
        tape.watch(x)
        out = layer(x)
        assert len(tape._entries) == 1
        total = ops.sum(out)
    assert out.dtype == np.float32
    grads = tape.gradient(total, [x, *layer.trainable_weights])
    assert all(g is not None and g.dtype == np.float32 for g in grads)


# One step's preactivations in block_gradients: batch 3, gates * 5 units, float32.
STEP_BYTES = {
    "simple": 3 * 5 * 4,
    "lstm": 3 * 20 * 4,
    "gru_after": 3 * 15 * 4,
    "gru_before": 3 * 15 * 4,
}
BLOCK_OPTIONS = [
    {"return_sequences": True},
    {"return_sequences": True, "go_backwards": True, "mask": True},
    {"return_state": True, "mask": True, "dropout": 0.3, "recurrent_dropout": 0.3},
    {"return_sequences": True, "activation": "softsign", "recurrent_activation": "hard_sigmoid"},
]


def block_gradients(kind, options, monkeypatch, block_bytes, threads=2, in_scope=False):
    """Outputs and gradients of a 7-step layer whose ops work in blocks of `block_bytes`.

    `in_scope` runs it inside a `parallel_scope` where any work would split, with
    the engine's pool thread kept busy, so the caller runs every pipelined call.
    """
    from engine.ops import batch_parallel
    from engine.ops import rnn as rnn_ops

    options = dict(options)
    mask = padded_mask(3, 7) if options.pop("mask", False) else None
    if kind == "simple":
        options.pop("recurrent_activation", None)
    monkeypatch.setattr(rnn_ops, "_BLOCK_BYTES", block_bytes)
    batch_parallel.set_split_threads(threads)
    x = Tensor(np.random.default_rng(1).normal(size=(3, 7, 4)).astype("float32"))
    layer = make(kind, units=5, seed=3, **options)
    layer(x)
    layer.set_weights([np.random.default_rng(2).normal(size=w.shape) for w in layer.get_weights()])
    layer.cell.seed_generator = SeedGenerator(4)
    busy = contextlib.nullcontext()
    release = threading.Event()
    if in_scope:
        monkeypatch.setattr(batch_parallel, "MIN_SPLIT_FLOPS", 0)
        monkeypatch.setattr(batch_parallel, "MIN_PARALLEL_FLOPS", 0)
        pool = batch_parallel._split_pool_and_parts(2)[0]
        pool.submit(release.wait, 30)
        busy = batch_parallel.parallel_scope()
    try:
        with busy, GradientTape() as tape:
            tape.watch(x)
            out = flat_outputs(layer(x, mask=mask, training=True))
            total = ops.sum(ops.square(out))
            grads = tape.gradient(total, [x, *layer.trainable_weights])
    finally:
        release.set()
    return [out.numpy(), *(np.asarray(g) for g in grads)]


@pytest.fixture
def restore_split_threads():
    from engine.ops import batch_parallel

    before = batch_parallel.split_threads()
    yield
    batch_parallel.set_split_threads(before)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("options", BLOCK_OPTIONS)
def test_blocks_of_steps_give_the_same_results(kind, options, monkeypatch, restore_split_threads):
    # The ops project the inputs, and sum the weight gradients, a block of steps at a
    # time (on another thread beside the loop over steps). Outputs, input gradients and
    # everything the loops compute are the same for any block size; the weight
    # gradients are sums over blocks, equal up to rounding.
    step_bytes = STEP_BYTES[kind]
    whole = block_gradients(kind, options, monkeypatch, 1 << 30)
    for size in (1, 2, 3):
        got = block_gradients(kind, options, monkeypatch, size * step_bytes)
        np.testing.assert_array_equal(got[0], whole[0])
        np.testing.assert_array_equal(got[1], whole[1])
        for a, b in zip(got[2:], whole[2:]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("options", BLOCK_OPTIONS)
def test_blocks_give_identical_results_with_and_without_a_thread(
    kind, options, monkeypatch, restore_split_threads
):
    # Pipeline runs the blocks on an engine thread, or inline with one thread: the
    # numbers must not depend on which.
    step_bytes = STEP_BYTES[kind]
    threaded = block_gradients(kind, options, monkeypatch, 2 * step_bytes, threads=2)
    inline = block_gradients(kind, options, monkeypatch, 2 * step_bytes, threads=1)
    for a, b in zip(threaded, inline):
        np.testing.assert_array_equal(a, b)
    # In a parallel_scope, with the pool busy: the caller runs every call itself,
    # and must neither split them (other numbers) nor wait for the pool.
    here = block_gradients(kind, options, monkeypatch, 2 * step_bytes, threads=2, in_scope=True)
    for a, b in zip(here, inline):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("groups", [None, 1, 4])
@pytest.mark.parametrize("scaled", [False, True])
def test_gate_major_projection_matches_the_per_gate_products(
    groups, scaled, monkeypatch, restore_split_threads
):
    # The LSTM keeps each step's gates gate-major, (T, 4, B, units): gate g of step t
    # is (x_t * mask_g) @ (kernel * scale)[:, g] + (bias * scale)[g], in blocks of two
    # steps on a thread beside the caller; and the recurrent GEMM likewise.
    from engine.ops import batch_parallel, rnn

    batch_parallel.set_split_threads(2)
    monkeypatch.setattr(rnn, "_BLOCK_BYTES", 2 * 4 * 3 * 4 * 4)  # two steps a block
    x, w, r = data(3, 7, 5), data(5, 16), data(4, 16)
    masks = None if groups is None else (rng.random((groups, 3, 5)) > 0.4) / 0.6
    seq = rnn._Sequence(x, None, False, w, r, None, masks, None)
    bias = data(16) if scaled else None
    scale = np.repeat(np.float32([-1, -1, -1, -2]), 4) if scaled else None
    with rnn.Pipeline() as ahead:
        gates, blocks = seq.project_gates_ahead(ahead, bias, scale, 4)
        assert list(blocks) == [(0, 2), (2, 4), (4, 6), (6, 7)]
    assert gates.shape == (7, 4, 3, 4)
    w_s = w * (1 if scale is None else scale)
    for g in range(4):
        xg = x.transpose(1, 0, 2) * (1 if masks is None else masks[g % len(masks)])
        want = xg @ w_s[:, 4 * g : 4 * g + 4]
        if bias is not None:
            want = want + (bias * scale)[4 * g : 4 * g + 4]
        np.testing.assert_allclose(gates[:, g], want, rtol=1e-5, atol=1e-5)
    h = data(3, 4)
    out = np.empty((4, 3, 4), np.float32)
    rmasks = None if groups is None else (rng.random((groups, 3, 4)) > 0.4) / 0.6
    rnn._rec_forward_gates(h, rnn._gate_kernels(r, 4), rmasks, out)
    for g in range(4):
        hg = h * (1 if rmasks is None else rmasks[g % len(rmasks)])
        np.testing.assert_allclose(out[g], hg @ r[:, 4 * g : 4 * g + 4], rtol=1e-5, atol=1e-5)


def test_dropout_masks_other_than_one_or_one_per_gate_are_refused():
    from engine.ops import rnn

    x, h0 = data(2, 3, 5), np.zeros((2, 4), "float32")
    with pytest.raises(ValueError, match=r"one per gate \(k = 1 or 4\), got k = 2"):
        rnn.lstm(x, [h0, h0], data(5, 16), data(4, 16), dropout_mask=np.ones((2, 2, 5)))


def test_a_batch_of_one_gets_its_own_output_array():
    # With one sequence the time-major outputs transposed are contiguous already; the
    # returned array must still be a copy, or writing into it would change the
    # states the backward pass reads (the recurrent kernel's gradient uses them).
    x, g = data(1, 4, 3), data(1, 4, 2)
    layer = layers.LSTM(2, return_sequences=True)
    layer.build(x.shape)

    def grads(overwrite: bool) -> list[np.ndarray]:
        with GradientTape() as tape:
            y = layer(x)
        if overwrite:
            y.value[...] = 0
        return tape.gradient(y, layer.trainable_weights, output_gradients=g)

    for got, want in zip(grads(True), grads(False)):
        np.testing.assert_array_equal(got, want)


# Masks --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_masks_equal_trimming_the_padding(kind):
    lengths = [5, 2, 4]
    x = data(3, 5, 3)
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    x[~mask] = 7.0  # garbage in the padding must not leak into the results
    for go_backwards in (False, True):
        layer = make(
            kind, units=4, return_sequences=True, return_state=True, go_backwards=go_backwards
        )
        seq, *states = layer(x, mask=mask)
        for i, n in enumerate(lengths):
            ref_seq, *ref_states = layer(x[i : i + 1, :n])
            for s, r in zip(states, ref_states):
                np.testing.assert_allclose(s.numpy()[i], r.numpy()[0], rtol=1e-5, atol=1e-6)
            if go_backwards:
                # The padded steps come first and keep the zero state; then the real ones.
                np.testing.assert_allclose(seq.numpy()[i, 5 - n :], ref_seq.numpy()[0], atol=1e-6)
                np.testing.assert_array_equal(seq.numpy()[i, : 5 - n], 0)
            else:
                np.testing.assert_allclose(seq.numpy()[i, :n], ref_seq.numpy()[0], atol=1e-6)
                # Masked steps repeat the previous output.
                np.testing.assert_allclose(
                    seq.numpy()[i, n:], np.repeat(ref_seq.numpy()[0, -1:], 5 - n, 0), atol=1e-6
                )


def test_embedding_mask_reaches_the_lstm_and_pre_padding_keeps_the_initial_state():
    ids = np.array([[0, 0, 3, 4], [5, 6, 7, 8]])
    emb = layers.Embedding(10, 3, mask_zero=True)
    lstm = layers.LSTM(2, return_sequences=True)
    seq = lstm(emb(ids))
    np.testing.assert_array_equal(seq.numpy()[0, :2], 0)
    np.testing.assert_array_equal(seq._keras_mask, ids != 0)
    last = layers.LSTM(2)
    last(emb(ids))
    last.set_weights(lstm.get_weights())
    np.testing.assert_allclose(last(emb(ids)).numpy(), seq.numpy()[:, -1], atol=1e-6)
    assert getattr(last(emb(ids)), "_keras_mask", None) is None


# PyTorch oracle ------------------------------------------------------------------------------
def _torch_compare(layer, module, x, to_engine_grads, rtol=1e-4, atol=1e-5):
    torch = pytest.importorskip("torch")
    r = data(*layer(x).shape)
    xt = torch.from_numpy(x).requires_grad_(True)
    out = module(xt)[0]
    out = out if layer.return_sequences else out[:, -1]
    (out * torch.from_numpy(r)).sum().backward()
    xe = Tensor(x)
    with GradientTape() as tape:
        tape.watch(xe)
        y = layer(xe)
        total = ops.sum(ops.multiply(y, r))
    grads = tape.gradient(total, [xe, *layer.trainable_weights])
    np.testing.assert_allclose(y.numpy(), out.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(grads[0], xt.grad.numpy(), rtol=rtol, atol=atol)
    for g, expected in zip(grads[1:], to_engine_grads()):
        np.testing.assert_allclose(g, expected, rtol=rtol, atol=atol)


@pytest.fixture(params=[True, False], ids=["tanh-form", "exp-form"])
def lstm_gate_form(request, monkeypatch):
    """The fused LSTM activates its gates in the tanh form where NumPy's tanh is
    AVX-512 and in the exp form elsewhere: a test taking this runs with each."""
    from engine.ops import rnn as rnn_ops

    monkeypatch.setattr(rnn_ops, "_LSTM_TANH_GATES", request.param)
    return request.param


def test_lstm_matches_torch_forward_and_backward(lstm_gate_form):
    torch = pytest.importorskip("torch")
    x = data(4, 7, 5)
    layer = layers.LSTM(6, return_sequences=True)
    layer(x)
    k, r, b = layer.get_weights()
    module = torch.nn.LSTM(5, 6, batch_first=True)
    with torch.no_grad():
        # Keras gates i, f, c, o are torch's i, f, g, o; torch keeps a second bias.
        module.weight_ih_l0.copy_(torch.from_numpy(k.T))
        module.weight_hh_l0.copy_(torch.from_numpy(r.T))
        module.bias_ih_l0.copy_(torch.from_numpy(b))
        module.bias_hh_l0.zero_()
    _torch_compare(
        layer,
        module,
        x,
        lambda: [
            module.weight_ih_l0.grad.numpy().T,
            module.weight_hh_l0.grad.numpy().T,
            module.bias_ih_l0.grad.numpy(),
        ],
    )


def test_lstm_gate_forms_match_the_cell_loop(lstm_gate_form):
    x, mask = data(3, 5, 4), padded_mask()
    saturated = np.concatenate([data(2, 5, 4), -data(1, 5, 4)]) * 100
    for opts in ({"return_sequences": True}, {"go_backwards": True, "return_state": True}):
        fused, step = make("lstm", **opts), make("lstm", step=True, **opts)
        fused(x[:1])
        step(x[:1])
        step.set_weights(fused.get_weights())
        for inputs, m in ((x, None), (x, mask), (saturated, None)):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                a = flat_outputs(fused(inputs, mask=m)).numpy()
            b = flat_outputs(step(inputs, mask=m)).numpy()
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=str(opts))


def test_lstm_gate_forms_gradients(lstm_gate_form, float64):
    x, mask = rng.normal(size=(3, 5, 2)), padded_mask()
    check_layer_gradients(Flat(make("lstm", units=2, return_sequences=True), mask=mask), x)
    check_layer_gradients(Flat(make("lstm", units=2, go_backwards=True)), x)


def test_gru_matches_torch_forward_and_backward():
    torch = pytest.importorskip("torch")
    x = data(4, 7, 5)
    layer = layers.GRU(6)
    layer(x)
    k, r, b = layer.get_weights()
    b = b + data(*b.shape)
    layer.set_weights([k, r, b])
    u = 6
    to_torch = np.r_[u : 2 * u, 0:u, 2 * u : 3 * u]  # Keras z, r, h -> torch r, z, n
    module = torch.nn.GRU(5, 6, batch_first=True)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(k[:, to_torch].T))
        module.weight_hh_l0.copy_(torch.from_numpy(r[:, to_torch].T))
        module.bias_ih_l0.copy_(torch.from_numpy(b[0, to_torch]))
        module.bias_hh_l0.copy_(torch.from_numpy(b[1, to_torch]))
    back = np.argsort(to_torch)
    _torch_compare(
        layer,
        module,
        x,
        lambda: [
            module.weight_ih_l0.grad.numpy().T[:, back],
            module.weight_hh_l0.grad.numpy().T[:, back],
            np.stack([module.bias_ih_l0.grad.numpy()[back], module.bias_hh_l0.grad.numpy()[back]]),
        ],
    )


def test_simple_rnn_matches_torch_forward_and_backward():
    torch = pytest.importorskip("torch")
    x = data(4, 7, 5)
    layer = layers.SimpleRNN(6, return_sequences=True)
    layer(x)
    k, r, b = layer.get_weights()
    module = torch.nn.RNN(5, 6, batch_first=True)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(k.T))
        module.weight_hh_l0.copy_(torch.from_numpy(r.T))
        module.bias_ih_l0.copy_(torch.from_numpy(b))
        module.bias_hh_l0.zero_()
    _torch_compare(
        layer,
        module,
        x,
        lambda: [
            module.weight_ih_l0.grad.numpy().T,
            module.weight_hh_l0.grad.numpy().T,
            module.bias_ih_l0.grad.numpy(),
        ],
    )


# The generic RNN, custom and stacked cells ------------------------------------------------------
@engine.saving.register_keras_serializable(package="test_rnn")
class MinimalCell(layers.Layer):
    """A custom cell: `h = tanh(x W + h U)` with two states, the second a running sum of h."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, units]

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent = self.add_weight(shape=(self.units, self.units), name="recurrent")

    def call(self, inputs, states):
        h = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent))
        return h, [h, states[1] + h]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_custom_cell_runs_step_by_step_with_keras_semantics():
    x = data(2, 4, 3)
    rnn = layers.RNN(MinimalCell(5), return_sequences=True, return_state=True)
    seq, h, total = rnn(x)
    w, u = rnn.cell.kernel.numpy(), rnn.cell.recurrent.numpy()
    state, acc = np.zeros((2, 5)), np.zeros((2, 5))
    for t in range(4):
        state = np.tanh(x[:, t] @ w + state @ u)
        acc = acc + state
        np.testing.assert_allclose(seq.numpy()[:, t], state, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h.numpy(), state, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(total.numpy(), acc, rtol=1e-5, atol=1e-5)
    assert rnn.compute_output_shape((None, 4, 3)) == [(None, 4, 5), (None, 5), (None, 5)]


def test_custom_cell_gradients_with_masks_and_go_backwards(float64):
    x = rng.normal(size=(3, 5, 2))
    for opts in ({}, {"go_backwards": True, "return_sequences": True}):
        check_layer_gradients(Flat(layers.RNN(MinimalCell(2), **opts), mask=padded_mask()), x)
    check_layer_gradients(Flat(layers.RNN(MinimalCell(2), return_state=True)), x)


def test_stacked_cells_equal_stacked_layers_and_have_gradients(float64):
    x = rng.normal(size=(2, 4, 3))
    stacked = layers.RNN([layers.LSTMCell(3), layers.GRUCell(2)], return_sequences=True)
    stacked(x)
    first = layers.LSTM(3, return_sequences=True)
    second = layers.GRU(2, return_sequences=True)
    second(first(x))
    weights = stacked.get_weights()
    first.set_weights(weights[:3])
    second.set_weights(weights[3:])
    np.testing.assert_allclose(stacked(x).numpy(), second(first(x)).numpy(), rtol=1e-10)
    check_layer_gradients(
        Flat(
            layers.RNN(
                layers.StackedRNNCells([layers.SimpleRNNCell(2), layers.LSTMCell(2)]),
                return_state=True,
            ),
            mask=padded_mask(2, 4),
        ),
        x,
    )


def test_cells_step_alone():
    cell = layers.GRUCell(3)
    h, states = cell(data(2, 4), [np.zeros((2, 3), "float32")])
    assert h.shape == (2, 3) and states[0] is h
    lstm_cell = layers.LSTMCell(3)
    h, (h2, c) = lstm_cell(data(2, 4), lstm_cell.get_initial_state(2))
    assert h is h2 and h.shape == c.shape == (2, 3)


# Stateful ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["lstm", "gru_after", "simple"])
def test_stateful_carries_states_across_batches_until_reset(kind):
    x = data(2, 6, 3)
    full = make(kind, return_sequences=True)
    stateful = make(kind, return_sequences=True, stateful=True)
    full(x)
    stateful(x[:, :3])
    stateful.set_weights(full.get_weights())
    stateful.reset_states()
    whole = full(x).numpy()
    halves = np.concatenate([stateful(x[:, :3]).numpy(), stateful(x[:, 3:]).numpy()], axis=1)
    np.testing.assert_allclose(halves, whole, rtol=1e-5, atol=1e-6)
    stateful.reset_state()
    np.testing.assert_allclose(stateful(x[:, :3]).numpy(), whole[:, :3], rtol=1e-5, atol=1e-6)
    assert stateful.get_weights()[0].shape == full.get_weights()[0].shape  # states are not weights
    with pytest.raises(ValueError, match="batch"):
        stateful(x[:1, :3])


# Shapes, configs, saving -----------------------------------------------------------------------
def test_symbolic_shapes_and_masks_in_a_functional_model():
    ids = engine.Input((None,), dtype="int32")
    h = layers.Embedding(20, 4, mask_zero=True)(ids)
    seq, state_h, state_c = layers.LSTM(3, return_sequences=True, return_state=True)(h)
    assert seq.shape == (None, None, 3) and state_h.shape == state_c.shape == (None, 3)
    out = layers.GRU(2)(seq)
    model = engine.Model(ids, out)
    assert model.output_shape == (None, 2)
    batch = np.array([[1, 2, 0, 0], [3, 4, 5, 6]])
    direct = model.predict(batch, verbose=0)
    np.testing.assert_allclose(direct[:1], model.predict(batch[:1, :2], verbose=0), atol=1e-6)


def test_configs_round_trip_with_keras_keys():
    for layer in [
        layers.SimpleRNN(3, activation="relu", dropout=0.1, return_sequences=True, seed=2),
        layers.LSTM(3, recurrent_activation="hard_sigmoid", unit_forget_bias=False, stateful=True),
        layers.GRU(3, reset_after=False, go_backwards=True, recurrent_dropout=0.2),
        layers.LSTMCell(3, dropout=0.5),
        layers.GRUCell(3),
        layers.SimpleRNNCell(3),
        layers.RNN(layers.LSTMCell(4), return_state=True, zero_output_for_mask=True),
        layers.RNN([layers.GRUCell(2), MinimalCell(3)]),
    ]:
        clone = assert_config_round_trip(layer)
        assert clone.get_config() == layer.get_config()
    config = layers.LSTM(3).get_config()
    for key in (
        "units",
        "activation",
        "recurrent_activation",
        "use_bias",
        "unit_forget_bias",
        "kernel_initializer",
        "recurrent_initializer",
        "bias_initializer",
        "dropout",
        "recurrent_dropout",
        "seed",
        "return_sequences",
        "return_state",
        "go_backwards",
        "stateful",
        "unroll",
        "zero_output_for_mask",
        "activity_regularizer",
    ):
        assert key in config, key
    assert "cell" not in config
    assert layers.GRU(3).get_config()["reset_after"] is True


def test_save_and_load_give_identical_predictions(tmp_path):
    ids = engine.Input((6,), dtype="int32")
    h = layers.Embedding(30, 5, mask_zero=True)(ids)
    h = layers.Bidirectional(layers.LSTM(4, return_sequences=True))(h)
    h = layers.GRU(3, reset_after=False, return_sequences=True)(h)
    h = layers.SimpleRNN(2)(h)
    model = engine.Model(ids, layers.Dense(1)(h))
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(1).integers(0, 30, (8, 6))
    model.fit(x, np.ones((8, 1), "float32"), epochs=1, verbose=0)
    path = tmp_path / "rnn.keras"
    model.save(path)
    loaded = engine.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# Training --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "epochs"), [("lstm", 8), ("gru", 5)])
def test_lstm_and_gru_solve_the_adding_problem(kind, epochs):
    from engine.datasets import adding

    engine.utils.set_random_seed(0)
    (x, y), (x_test, y_test) = adding.load_data(n_train=1500, n_test=500, length=30)
    recurrent = layers.LSTM(16) if kind == "lstm" else layers.GRU(16)
    model = engine.Sequential([engine.Input((30, 2)), recurrent, layers.Dense(1)])
    model.compile(optimizer=engine.optimizers.Adam(0.02), loss="mse")
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
    mse = float(np.mean((model.predict(x_test, verbose=0) - y_test) ** 2))
    assert mse < 0.05 < adding.BASELINE_MSE, mse
