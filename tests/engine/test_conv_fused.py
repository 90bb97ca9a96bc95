"""`ops.conv_relu_max_pool` and the Conv2D(relu) -> MaxPooling2D fusion in models.

The fused op must equal `max_pool(relu(conv(x) + b), 2)` exactly, forward and
backward, in every geometry the fusion accepts; models must give the same
predictions, gradients and training histories whether or not they fuse.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import layers, ops
from engine.backend import GradientTape, Tensor
from engine.ops import batch_parallel
from tests.engine.gradcheck import check_gradients

rng = np.random.default_rng(7)

GEOMETRIES = [
    # (input shape, kernel shape, strides, padding, dilation)
    ((2, 8, 8, 3), (3, 3, 3, 4), 1, "valid", 1),  # even conv output
    ((2, 7, 9, 2), (3, 3, 2, 3), 1, "valid", 1),  # odd rows and columns are dropped
    ((3, 9, 8, 2), (3, 2, 2, 5), 2, "same", 1),
    ((1, 10, 10, 2), (3, 3, 2, 2), 1, "same", 2),
    ((2, 6, 7, 4), (1, 1, 4, 3), 1, "valid", 1),  # pointwise: no im2col copy
]


def unfused(x, kernel, bias, strides, padding, dilation):
    y = ops.conv(x, kernel, strides=strides, padding=padding, dilation_rate=dilation, bias=bias)
    return ops.max_pool(ops.relu(y), 2, 2, "valid")


def run_with_gradients(fn, x, kernel, bias, g):
    tensors = [Tensor(x), Tensor(kernel), Tensor(bias)]
    with GradientTape() as tape:
        tape.watch(tensors)
        out = fn(*tensors)
        total = ops.sum(ops.multiply(out, g))
    return np.asarray(out.value), tape.gradient(total, tensors)


@pytest.fixture(params=["inline", "pool"])
def threads(request):
    """Run inline and on the thread pool with many tiny chunks."""
    saved = (
        batch_parallel.num_workers(),
        batch_parallel.MIN_PARALLEL_FLOPS,
        batch_parallel.CHUNK_BYTES,
    )
    if request.param == "pool":
        batch_parallel.set_num_workers(2)
        batch_parallel.MIN_PARALLEL_FLOPS = 0
        batch_parallel.CHUNK_BYTES = 1
    else:
        batch_parallel.set_num_workers(1)
    try:
        yield
    finally:
        batch_parallel.set_num_workers(saved[0])
        batch_parallel.MIN_PARALLEL_FLOPS = saved[1]
        batch_parallel.CHUNK_BYTES = saved[2]


@pytest.mark.parametrize("x_shape, k_shape, strides, padding, dilation", GEOMETRIES)
def test_equals_conv_relu_pool_forward_and_backward(
    x_shape, k_shape, strides, padding, dilation, threads
):
    x = rng.normal(size=x_shape).astype("float32")
    kernel = rng.normal(size=k_shape).astype("float32")
    bias = rng.normal(size=k_shape[-1:]).astype("float32")

    def fused(x, k, b):
        return ops.conv_relu_max_pool(x, k, b, strides, padding, dilation)

    def plain(x, k, b):
        return unfused(x, k, b, strides, padding, dilation)

    expected = np.asarray(plain(x, kernel, bias).value)
    g = rng.normal(size=expected.shape).astype("float32")
    y1, grads1 = run_with_gradients(fused, x, kernel, bias, g)
    y2, grads2 = run_with_gradients(plain, x, kernel, bias, g)
    np.testing.assert_allclose(y1, y2, rtol=1e-5, atol=1e-5)
    for a, b in zip(grads1, grads2):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    # Inference (no tape) gives the same output without keeping the im2col matrix.
    np.testing.assert_allclose(np.asarray(fused(x, kernel, bias).value), y2, rtol=1e-5, atol=1e-5)


def test_ties_and_dead_windows_route_like_the_separate_ops():
    # Integer-valued data makes ties common; negative windows pass no gradient.
    x = rng.integers(-2, 3, size=(2, 6, 6, 2)).astype("float64")
    kernel = rng.integers(-1, 2, size=(1, 1, 2, 3)).astype("float64")
    bias = np.array([0.0, 1.0, -1.0])
    g = rng.normal(size=(2, 3, 3, 3))
    _, fused = run_with_gradients(ops.conv_relu_max_pool, x, kernel, bias, g)
    _, plain = run_with_gradients(
        lambda x, k, b: unfused(x, k, b, 1, "valid", 1), x, kernel, bias, g
    )
    for a, b in zip(fused, plain):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("x_shape, k_shape, strides, padding, dilation", GEOMETRIES[:4])
def test_numeric_gradients(x_shape, k_shape, strides, padding, dilation, float64):
    x = rng.normal(size=x_shape)
    kernel = rng.normal(size=k_shape)
    bias = rng.normal(size=k_shape[-1:])
    check_gradients(
        lambda x, k, b: ops.conv_relu_max_pool(x, k, b, strides, padding, dilation),
        x,
        kernel,
        bias,
    )


def test_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.normal(size=(4, 15, 15, 8)).astype("float32")
    kernel = rng.normal(size=(3, 3, 8, 16)).astype("float32") * 0.3
    bias = rng.normal(size=16).astype("float32")
    g = rng.normal(size=(4, 6, 6, 16)).astype("float32")
    y, (gx, gk, gb) = run_with_gradients(ops.conv_relu_max_pool, x, kernel, bias, g)
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    tk = torch.tensor(kernel.transpose(3, 2, 0, 1).copy(), requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    ty = F.max_pool2d(F.relu(F.conv2d(tx, tk, tb)), 2)
    ty.backward(torch.tensor(g.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), atol=1e-4)
    np.testing.assert_allclose(gx, tx.grad.numpy().transpose(0, 2, 3, 1), atol=1e-4)
    np.testing.assert_allclose(gk, tk.grad.numpy().transpose(2, 3, 1, 0), atol=1e-3)
    np.testing.assert_allclose(gb, tb.grad.numpy(), atol=1e-3)


def test_rejects_what_it_cannot_fuse():
    with pytest.raises(ValueError, match="ungrouped kernel"):
        ops.conv_relu_max_pool(np.ones((1, 6, 6, 4)), np.ones((3, 3, 2, 4)))
    with pytest.raises(ValueError, match="smaller than the 2x2 pool window"):
        ops.conv_relu_max_pool(np.ones((1, 3, 3, 1)), np.ones((3, 3, 1, 1)))


# Models ---------------------------------------------------------------------------------
def cnn(**conv_kwargs):
    engine.utils.set_random_seed(3)
    model = engine.Sequential(
        [
            layers.Input((12, 12, 3)),
            layers.Conv2D(6, 3, activation="relu", **conv_kwargs),
            layers.MaxPooling2D(),
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(4, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture
def fused_calls(monkeypatch):
    from engine.models import fusion

    calls = []
    real = fusion.conv_relu_max_pool

    def spy(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(fusion, "conv_relu_max_pool", spy)
    return calls


def test_sequential_fuses_and_trains_exactly_as_unfused(fused_calls):
    from engine.models.fusion import fusion_disabled

    x = rng.normal(size=(48, 12, 12, 3)).astype("float32")
    y = rng.integers(0, 4, size=48)
    fused_model, plain_model = cnn(), cnn()
    fused_history = fused_model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
    assert len(fused_calls) == 2 * 3 * 3  # two pairs, three batches, three epochs
    with fusion_disabled():
        plain_history = plain_model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
    assert len(fused_calls) == 18
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(fused_history.history[key], plain_history.history[key], 1e-5)
    for a, b in zip(fused_model.get_weights(), plain_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    with fusion_disabled():
        expected = plain_model.predict(x, verbose=0)
    np.testing.assert_allclose(fused_model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "model_fn",
    [
        lambda: cnn(activity_regularizer="l2"),
        lambda: cnn(groups=3),
        lambda: engine.Sequential(
            [
                layers.Input((8, 8, 2)),
                layers.Conv2D(3, 3, activation="relu"),
                layers.MaxPooling2D(2, padding="same"),
            ]
        ),
        lambda: engine.Sequential(
            [
                layers.Input((8, 8, 2)),
                layers.Conv2D(3, 3, activation="tanh"),
                layers.MaxPooling2D(2),
            ]
        ),
        lambda: engine.Sequential(
            [
                layers.Input((9, 9, 2)),
                layers.Conv2D(3, 3, activation="relu"),
                layers.MaxPooling2D(3),
            ]
        ),
    ],
    ids=["activity-regularizer", "groups", "same-pool", "tanh", "pool-3"],
)
def test_pairs_that_differ_are_not_fused(model_fn, fused_calls):
    model = model_fn()
    first_conv = next(layer for layer in model.layers if isinstance(layer, layers.Conv2D))
    x = rng.normal(size=(2, *model.input_shape[1:])).astype("float32")
    out = model(x)
    assert all(k is not first_conv.kernel for k in fused_calls)
    assert np.asarray(out.value).shape[0] == 2


def test_subclassed_or_patched_layers_are_not_fused(fused_calls):
    class MyConv(layers.Conv2D):
        pass

    model = engine.Sequential(
        [layers.Input((8, 8, 2)), MyConv(3, 3, activation="relu"), layers.MaxPooling2D()]
    )
    model(np.ones((1, 8, 8, 2), "float32"))
    assert fused_calls == []
    plain = engine.Sequential(
        [layers.Input((8, 8, 2)), layers.Conv2D(3, 3, activation="relu"), layers.MaxPooling2D()]
    )
    conv = plain.layers[0]
    seen = []
    original = conv.call
    conv.call = lambda *a, **k: seen.append(1) or original(*a, **k)
    plain(np.ones((1, 8, 8, 2), "float32"))
    assert seen == [1] and fused_calls == []


def functional_cnn(extra_output: bool = False):
    engine.utils.set_random_seed(5)
    inputs = layers.Input((12, 12, 3))
    conv = layers.Conv2D(6, 3, activation="relu")(inputs)
    pooled = layers.MaxPooling2D()(conv)
    h = layers.Conv2D(8, 3, activation="relu")(pooled)
    h = layers.MaxPooling2D(2)(h)
    outputs = layers.Dense(4, activation="softmax")(layers.Flatten()(h))
    model = engine.Model(inputs, [outputs, conv] if extra_output else outputs)
    return model


def test_functional_models_fuse_only_where_the_conv_output_is_private(fused_calls):
    from engine.models.fusion import fusion_disabled

    x = rng.normal(size=(4, 12, 12, 3)).astype("float32")
    model = functional_cnn()
    out = np.asarray(model(x).value)
    assert len(fused_calls) == 2
    with fusion_disabled():
        np.testing.assert_allclose(np.asarray(model(x).value), out, rtol=1e-5, atol=1e-6)
    assert len(fused_calls) == 2
    # The first conv's output is a model output: only the second pair fuses.
    both = functional_cnn(extra_output=True)
    _probs, conv = both(x)
    assert len(fused_calls) == 3
    assert np.asarray(conv.value).shape == (4, 10, 10, 6)


def test_functional_fused_training_equals_unfused(fused_calls):
    from engine.models.fusion import fusion_disabled

    x = rng.normal(size=(32, 12, 12, 3)).astype("float32")
    y = rng.integers(0, 4, size=32)
    histories = []
    for disabled in (False, True):
        model = functional_cnn()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        if disabled:
            with fusion_disabled():
                h = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        else:
            h = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        histories.append(h.history["loss"])
    assert len(fused_calls) == 2 * 4 * 2
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-5)


@pytest.mark.parametrize("fused", [True, False], ids=["conv_relu_max_pool", "conv_relu"])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_first_layer_split_over_threads_equals_chunked(fused, padding):
    # Few input channels: element-wise work runs split over threads between
    # whole-batch GEMMs; results must equal the chunk-by-chunk path exactly.
    x = rng.normal(size=(9, 11, 10, 3)).astype("float32")
    kernel = rng.normal(size=(3, 3, 3, 5)).astype("float32")
    bias = rng.normal(size=5).astype("float32")

    def run():
        tensors = [Tensor(kernel), Tensor(bias)]
        with GradientTape() as tape:
            tape.watch(tensors)
            if fused:
                out = ops.conv_relu_max_pool(x, tensors[0], tensors[1], padding=padding)
            else:
                out = ops.conv(x, tensors[0], padding=padding, bias=tensors[1], activation="relu")
            total = ops.sum(
                ops.multiply(out, np.linspace(-1, 1, out.value.size).reshape(out.shape))
            )
        return [np.asarray(out.value), *tape.gradient(total, tensors)]

    saved = batch_parallel.split_threads()
    try:
        batch_parallel.set_split_threads(1)
        chunked = run()
        batch_parallel.set_split_threads(3)
        split = run()
    finally:
        batch_parallel.set_split_threads(saved)
    for a, b in zip(split, chunked):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
