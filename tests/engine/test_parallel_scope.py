"""`parallel_scope`: BLAS at one thread inside training steps, work split over the engine's threads.

Each split path must give the results of the unsplit one: the tests force
splitting (every size above the threshold, three threads, tiny chunks) and
compare against the same work outside any scope.
"""

from __future__ import annotations

import contextlib
import os
import threading

import numpy as np
import pytest

import engine
from engine import layers, ops
from engine.backend import GradientTape, Tensor
from engine.ops import batch_parallel, linalg, rnn
from engine.trainers import trainer as trainer_module

rng = np.random.default_rng(0)


def data(*shape: int) -> np.ndarray:
    return rng.normal(size=shape).astype("float32")


def blas_threads() -> list[int]:
    return [c.num_threads for c in batch_parallel._blas_controllers()]


def test_scope_holds_blas_at_one_thread_and_restores_it(forced_split):
    before = blas_threads()
    assert not batch_parallel.in_parallel_scope()
    with batch_parallel.parallel_scope():
        assert batch_parallel.in_parallel_scope()
        if before:
            assert set(blas_threads()) == {1}
        with batch_parallel.parallel_scope():  # nested: no change, no early restore
            assert batch_parallel.in_parallel_scope()
        assert batch_parallel.in_parallel_scope()
        if before:
            assert set(blas_threads()) == {1}
    assert not batch_parallel.in_parallel_scope()
    assert blas_threads() == before
    with pytest.raises(RuntimeError), batch_parallel.parallel_scope():
        raise RuntimeError("a failing step")
    assert not batch_parallel.in_parallel_scope()
    assert blas_threads() == before


def test_scope_is_a_no_op_with_one_thread(forced_split):
    batch_parallel.set_split_threads(1)
    before = blas_threads()
    with batch_parallel.parallel_scope():
        assert not batch_parallel.in_parallel_scope()
        assert blas_threads() == before


def test_split_threads_first_asked_while_blas_is_held_counts_blas_own_threads(monkeypatch):
    # A recurrent layer's loop holds BLAS at one thread and then asks for the
    # engine's threads (Pipeline): the default must still follow BLAS's own setting,
    # not the temporary one, or every later parallel_scope and Pipeline runs inline.
    before = blas_threads()
    if not before or max(before) < 2:
        pytest.skip("needs a BLAS with at least two threads to tell the settings apart")
    expected = max(1, min(4, max(before), os.cpu_count() or 1))
    monkeypatch.setattr(batch_parallel, "_split_threads", None)
    with batch_parallel.single_threaded_blas():
        assert set(blas_threads()) == {1}
        assert batch_parallel.split_threads() == expected
    assert blas_threads() == before
    monkeypatch.setattr(batch_parallel, "_split_threads", None)
    assert batch_parallel.split_threads() == expected


def test_changing_the_thread_count_leaves_a_running_pipeline_working(forced_split):
    # A recurrent layer's Pipeline on one thread, set_split_threads on another:
    # the pipeline keeps its pool and finishes; the next split gets a new pool.
    started, changed, gate = threading.Event(), threading.Event(), threading.Event()
    outcome = {}

    def slow(i: int) -> int:
        started.set()
        gate.wait(5)
        return i

    def layer() -> None:
        try:
            with batch_parallel.Pipeline() as pipeline:
                pipeline.submit(slow, 0)
                assert changed.wait(5)
                pipeline.submit(lambda i: 10 * i, 1)
                gate.set()
                outcome["results"] = pipeline.results()
        except Exception as error:  # reported by the assertion below
            outcome["error"] = error

    old_pool = batch_parallel._split_pool_and_parts(2)[0]
    worker = threading.Thread(target=layer)
    worker.start()
    assert started.wait(5)
    batch_parallel.set_split_threads(2)
    changed.set()
    worker.join(10)
    assert outcome == {"results": [0, 10]}
    new_pool = batch_parallel._split_pool_and_parts(2)[0]
    assert new_pool is not None and new_pool is not old_pool


def test_pipeline_runs_calls_in_order_on_a_thread_or_inline(forced_split):
    calls = []

    def work(i: int) -> tuple[int, str]:
        calls.append(i)
        return i * i, threading.current_thread().name

    started = {0: threading.Event(), 1: threading.Event(), 2: threading.Event()}
    gate = threading.Event()

    def slow(i: int) -> tuple[int, str]:
        started[i].set()
        gate.wait(5)
        return work(i)

    here = threading.current_thread().name
    with batch_parallel.Pipeline() as pipeline:
        # A call a thread has started is waited for.
        pipeline.submit(slow, 0)
        assert started[0].wait(5)
        gate.set()
        assert pipeline.result(0)[0] == 0 and pipeline.result(0)[1] != here
        # Both threads busy: a result asked for before any thread started its call is
        # computed here, and so are the calls still queued when results() is called.
        gate.clear()
        pipeline.submit(slow, 1)
        pipeline.submit(slow, 2)
        assert started[1].wait(5) and started[2].wait(5)

        def opener(i: int) -> tuple[int, str]:
            gate.set()  # run here by results() after it took call 5: lets 1 and 2 finish
            return work(i)

        pipeline.submit(opener, 3)
        pipeline.submit(work, 4)
        pipeline.submit(work, 5)
        assert pipeline.result(4) == (16, here)
        results = pipeline.results()
    assert [r for r, _ in results] == [0, 1, 4, 9, 16, 25]
    assert sorted(calls) == [0, 1, 2, 3, 4, 5]
    names = [name for _, name in results]
    assert all(name.startswith("engine-split") for name in names[:3])
    assert names[3:] == [here] * 3
    batch_parallel.set_split_threads(1)
    with batch_parallel.Pipeline() as pipeline:
        pipeline.submit(work, 3)
        assert calls[-1] == 3  # ran in submit
    assert pipeline.results() == [(9, threading.current_thread().name)]
    with pytest.raises(ValueError), batch_parallel.Pipeline() as pipeline:
        pipeline.submit(int, "not a number")
        pipeline.results()
    # Leaving the block runs the calls still queued, or after an error cancels them.
    batch_parallel.set_split_threads(2)
    gate.clear()
    started[1].clear()
    calls.clear()
    with batch_parallel.Pipeline() as pipeline:
        pipeline.submit(slow, 1)
        assert started[1].wait(5)
        pipeline.submit(work, 7)
        gate.set()
    assert sorted(calls) == [1, 7]
    gate.clear()
    started[1].clear()
    calls.clear()
    with pytest.raises(RuntimeError), batch_parallel.Pipeline() as pipeline:
        pipeline.submit(slow, 1)
        assert started[1].wait(5)
        pipeline.submit(work, 8)  # queued behind the busy thread
        threading.Timer(0.3, gate.set).start()  # long after the block has cancelled it
        raise RuntimeError("the loop failed")
    assert calls == [1]


def test_split_work_splits_only_inside_the_scope(forced_split, monkeypatch):
    def work(a: int, b: int) -> tuple[int, int, str]:
        return a, b, threading.current_thread().name

    outside = batch_parallel.split_work(work, 10, flops=1e12)
    assert outside == [(0, 10, threading.current_thread().name)]
    with batch_parallel.parallel_scope():
        inside = batch_parallel.split_work(work, 10, flops=1e12)
        chunks = batch_parallel.map_chunks(work, 10, bytes_per_item=1, flops=1e12)
    assert [(a, b) for a, b, _ in inside] == [(0, 3), (3, 6), (6, 10)]
    assert inside[0][2] == threading.current_thread().name
    assert any(name.startswith("engine-split") for _, _, name in inside)
    # map_chunks runs its chunks on the split threads too, in order.
    assert [(a, b) for a, b, _ in chunks] == [(i, i + 1) for i in range(10)]
    assert len({name for _, _, name in chunks}) >= 2
    # Work below the threshold stays whole: a thread wake-up would cost more.
    monkeypatch.setattr(batch_parallel, "MIN_SPLIT_FLOPS", 100)
    with batch_parallel.parallel_scope():
        small = batch_parallel.split_work(work, 10, flops=50)
    assert small == [(0, 10, threading.current_thread().name)]


def run_both(fn, *arrays):
    """`fn`'s output and gradients outside any scope, then inside one."""
    results = []
    for scope in (contextlib.nullcontext, batch_parallel.parallel_scope):
        tensors = [Tensor(a.copy()) for a in arrays]
        with scope(), GradientTape() as tape:
            tape.watch(tensors)
            out = fn(*tensors)
            weights = np.arange(out.size, dtype=out.dtype).reshape(out.shape) % 5 - 2
            total = ops.sum(ops.multiply(out, weights))
            grads = tape.gradient(total, tensors)
        results.append([out.numpy(), *grads])
    return results


@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("shape", [(7, 5), (2, 5, 5)])
def test_dense_split_by_rows_equals_one_call(forced_split, activation, shape):
    x, w, b = data(*shape), data(shape[-1], 6), data(6)
    plain, split = run_both(lambda *t: linalg.dense(*t, activation=activation), x, w, b)
    for p, s in zip(plain, split):
        np.testing.assert_allclose(s, p, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("contract_dims", [1, 2])
def test_attention_projection_split_by_rows_equals_one_call(forced_split, contract_dims):
    from engine.ops import attention

    x = data(3, 5, 4) if contract_dims == 1 else data(3, 5, 2, 4)
    w = data(4, 2, 3) if contract_dims == 1 else data(2, 4, 6)
    b = data(2, 3) if contract_dims == 1 else data(6)
    plain, split = run_both(lambda *t: attention.projection(*t, contract_dims), x, w, b)
    for p, s in zip(plain, split):
        np.testing.assert_allclose(s, p, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("with_masks", [False, True])
@pytest.mark.parametrize("x_shape", [(5, 4, 3), (4, 3)])
def test_grouped_matmul_split_by_rows_equals_one_call(forced_split, with_masks, x_shape):
    # Dropout masks are (groups, batch, features) and repeat down a sequence's
    # steps; split points fall inside a step's rows.
    x, w = data(*x_shape), data(3, 8)
    masks = (rng.random((4, 4, 3)) < 0.6).astype("float32") / 0.6 if with_masks else None
    dy = data(*x_shape[:-1], 8)
    results = []
    for scope in (contextlib.nullcontext, batch_parallel.parallel_scope):
        with scope():
            out = rnn._grouped_matmul(x, w, masks)
            dx, dw = rnn._grouped_matmul_grads(x, w, masks, dy, True, True)
        results.append((out, dx, dw))
    expected = np.concatenate(
        [
            (x * (1 if masks is None else masks[g])) @ w[:, 2 * g : 2 * g + 2]
            for g in range(4 if with_masks else 1)
        ],
        axis=-1,
    ) if with_masks else x @ w  # fmt: skip
    np.testing.assert_allclose(results[0][0], expected, rtol=1e-5, atol=1e-6)
    for plain, split in zip(*results):
        np.testing.assert_allclose(split, plain, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_in_blocks_equals_a_whole_update(forced_split, monkeypatch, amsgrad):
    monkeypatch.setattr(batch_parallel, "CHUNK_BYTES", 7 * 20)  # blocks of a few elements
    start = data(13, 11)
    grads = [data(13, 11) for _ in range(3)]
    results = []
    for scope in (contextlib.nullcontext, batch_parallel.parallel_scope):
        var = engine.Variable(start.copy())
        opt = engine.optimizers.Adam(0.01, amsgrad=amsgrad)
        for g in grads:
            with scope():
                opt.apply([g], [var])
        results.append(var.numpy())
    m = v = v_max = np.zeros_like(start, dtype="float64")
    expected = start.astype("float64")
    for step, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g.astype("float64") ** 2
        v_max = np.maximum(v_max, v)
        alpha = 0.01 * np.sqrt(1 - 0.999**step) / (1 - 0.9**step)
        expected = expected - alpha * m / (np.sqrt(v_max if amsgrad else v) + 1e-7)
    np.testing.assert_allclose(results[0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6, atol=1e-7)


def test_adam_updates_a_non_contiguous_gradient(forced_split):
    var = engine.Variable(np.zeros((4, 6), "float32"))
    opt = engine.optimizers.Adam(0.1)
    with batch_parallel.parallel_scope():
        opt.apply([np.ones((6, 4), "float32").T], [var])
    np.testing.assert_allclose(var.numpy(), -0.1, rtol=1e-5)


class ScopeProbe(layers.Layer):
    """Records whether each call ran inside a parallel scope."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen: list[bool] = []

    def call(self, x):
        self.seen.append(batch_parallel.in_parallel_scope())
        return x


@pytest.mark.parametrize("chunked", [True, False])
def test_steps_run_in_the_scope_when_a_layer_splits_its_work(forced_split, chunked):
    # A model with a layer whose ops chunk NumPy work (here LayerNormalization,
    # inside a nested model) trains in the scope; a Dense-only one keeps BLAS's threads.
    probe = ScopeProbe()
    inner_layers = [layers.LayerNormalization()] if chunked else [layers.Dense(3)]
    inner = engine.Sequential([engine.Input((3,)), *inner_layers])
    model = engine.Sequential([engine.Input((3,)), probe, inner, layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    probe.seen.clear()  # the symbolic call that built the model
    x, y = data(8, 3), data(8, 2)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, validation_data=(x, y))
    model.evaluate(x, y, batch_size=4, verbose=0)
    model.predict(x, batch_size=4, verbose=0)
    model.train_on_batch(x, y)
    model.test_on_batch(x, y)
    model.predict_on_batch(x)
    assert (
        len(probe.seen) == 2 + 2 + 2 + 2 + 3
    )  # fit (with validation), evaluate, predict, 3 x on_batch
    assert set(probe.seen) == {chunked}
    probe.seen.clear()
    model(x)
    assert probe.seen == [False]


def small_model():
    engine.utils.set_random_seed(3)
    inputs = engine.Input((6, 6, 2))
    h = layers.Conv2D(4, 3, activation="relu", padding="same")(inputs)
    h = layers.MaxPooling2D(2)(h)
    h = layers.Reshape((9, 4))(h)
    h = layers.LayerNormalization()(layers.Add()([h, layers.MultiHeadAttention(2, 3)(h, h)]))
    h = layers.LSTM(5, dropout=0.2, recurrent_dropout=0.2)(h)
    outputs = layers.Dense(3, activation="softmax")(layers.Dense(8, activation="relu")(h))
    model = engine.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_training_in_the_scope_equals_training_without_it(forced_split, monkeypatch):
    # Conv, pooling, attention, normalization, a recurrent layer with dropout,
    # Dense and Adam: every split path in one model, trained both ways.
    x = data(16, 6, 6, 2)
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 16)]
    runs = []
    for scope in (contextlib.nullcontext, batch_parallel.parallel_scope):
        monkeypatch.setattr(trainer_module, "parallel_scope", scope)
        model = small_model()
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        runs.append((history.history["loss"], [w.numpy() for w in model.weights]))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-5)
    for split, plain in zip(runs[1][1], runs[0][1]):
        np.testing.assert_allclose(split, plain, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("vocabulary, threaded", [(1000, True), (10, False)])
def test_large_updates_run_in_the_scope_whatever_the_model(forced_split, vocabulary, threaded):
    # An embedding table of a million weights (no chunking layer in the model):
    # its optimizer update spreads over the engine's threads; a small one does not.
    seen: list[bool] = []

    class ProbeSGD(engine.optimizers.SGD):
        def update_step(self, gradient, variable, learning_rate):
            seen.append(batch_parallel.in_parallel_scope())
            super().update_step(gradient, variable, learning_rate)

    model = engine.Sequential(
        [engine.Input((3,), dtype="int64"), layers.Embedding(vocabulary, 1000), layers.Dense(1)]
    )
    model.compile(optimizer=ProbeSGD(0.1), loss="mse")
    model.fit(rng.integers(0, 10, (4, 3)), data(4, 3, 1), batch_size=4, epochs=1, verbose=0)
    assert seen and set(seen) == {threaded}


def test_a_large_update_applied_by_hand_runs_in_the_scope(forced_split):
    # The threshold lives in the optimizer, so a custom training loop gets it too.
    seen: list[bool] = []

    class ProbeSGD(engine.optimizers.SGD):
        def update_step(self, gradient, variable, learning_rate):
            seen.append(batch_parallel.in_parallel_scope())
            super().update_step(gradient, variable, learning_rate)

    big, small = engine.Variable(np.zeros(1_000_000, "float32")), engine.Variable(np.zeros(3))
    opt = ProbeSGD(0.5)
    opt.apply([np.ones(1_000_000, "float32"), np.ones(3)], [big, small])
    opt.apply([np.ones(3)], [small])
    assert seen == [True, True, False]
    np.testing.assert_allclose(big.numpy()[:3], -0.5)
