"""Activations and the nn ops behind them: values, gradients, stability, lookup."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from engine import activations, ops
from engine.backend import GradientTape, Tensor, set_floatx
from engine.saving import register_keras_serializable

RNG = np.random.default_rng(1234)


@pytest.fixture
def float64():
    set_floatx("float64")
    yield
    set_floatx("float32")


def _weights(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return np.cos(np.arange(math.prod(shape)) * 0.7 + 0.3).reshape(shape).astype(dtype)


def analytic_and_numeric(fn, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of sum(fn(x) * w) for fixed weights w: from the tape and by central differences."""
    out_shape = np.shape(fn(Tensor(x)).numpy())
    w = _weights(out_shape, "float64")
    t = Tensor(x)
    with GradientTape() as tape:
        tape.watch(t)
        loss = ops.sum(ops.multiply(fn(t), w))
    analytic = tape.gradient(loss, t)
    h = 1e-6
    numeric = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        numeric[i] = (np.sum(fn(Tensor(xp)).numpy() * w) - np.sum(fn(Tensor(xm)).numpy() * w)) / (
            2 * h
        )
    return analytic, numeric


def elementwise_analytic_and_numeric(fn, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Like `analytic_and_numeric` for an elementwise `fn`: each entry is differenced on its own,
    with a step relative to its magnitude, so large outputs elsewhere add no rounding error."""
    w = _weights(x.shape, "float64")
    t = Tensor(x)
    with GradientTape() as tape:
        tape.watch(t)
        loss = ops.sum(ops.multiply(fn(t), w))
    analytic = tape.gradient(loss, t)
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    numeric = (fn(Tensor(x + h)).numpy() - fn(Tensor(x - h)).numpy()) / (2 * h) * w
    return analytic, numeric


def away_from(points: tuple[float, ...], x: np.ndarray, margin: float = 1e-3) -> np.ndarray:
    """Nudge entries of `x` that sit within `margin` of a kink."""
    x = x.copy()
    for p in points:
        close = np.abs(x - p) < margin
        x[close] = p + 3 * margin
    return x


# name, function, kinks (where the derivative jumps)
ELEMENTWISE = [
    ("relu", activations.relu, (0.0,)),
    ("relu6", activations.relu6, (0.0, 6.0)),
    ("leaky_relu", activations.leaky_relu, (0.0,)),
    ("leaky_relu_0.05", lambda t: activations.leaky_relu(t, negative_slope=0.05), (0.0,)),
    ("elu", activations.elu, (0.0,)),
    ("elu_0.5", lambda t: activations.elu(t, alpha=0.5), (0.0,)),
    ("selu", activations.selu, (0.0,)),
    ("celu", lambda t: activations.celu(t, alpha=0.7), (0.0,)),
    ("gelu", activations.gelu, ()),
    ("gelu_tanh", lambda t: activations.gelu(t, approximate=True), ()),
    ("silu", activations.silu, ()),
    ("swish", activations.swish, ()),
    ("softplus", activations.softplus, ()),
    ("softsign", activations.softsign, (0.0,)),
    ("hard_sigmoid", activations.hard_sigmoid, (-3.0, 3.0)),
    ("hard_silu", activations.hard_silu, (-3.0, 3.0)),
    ("hard_swish", activations.hard_swish, (-3.0, 3.0)),
    ("hard_tanh", activations.hard_tanh, (-1.0, 1.0)),
    ("hard_shrink", activations.hard_shrink, (-0.5, 0.5)),
    ("soft_shrink", activations.soft_shrink, (-0.5, 0.5)),
    ("tanh_shrink", activations.tanh_shrink, ()),
    ("sparse_plus", activations.sparse_plus, (-1.0, 1.0)),
    ("sparse_sigmoid", activations.sparse_sigmoid, (-1.0, 1.0)),
    ("squareplus", activations.squareplus, ()),
    ("squareplus_b1", lambda t: activations.squareplus(t, b=1), ()),
    ("threshold", lambda t: activations.threshold(t, 0.3, -2.0), (0.3,)),
    ("mish", activations.mish, ()),
    ("sigmoid", activations.sigmoid, ()),
    ("log_sigmoid", activations.log_sigmoid, ()),
    ("tanh", activations.tanh, ()),
    ("exponential", activations.exponential, ()),
    ("relu_capped", lambda t: activations.relu(t, max_value=4.0), (0.0, 4.0)),
    ("relu_max6", lambda t: activations.relu(t, max_value=6.0), (0.0, 6.0)),
    ("relu_threshold", lambda t: activations.relu(t, threshold=1.5), (1.5,)),
    ("relu_leaky_capped", lambda t: activations.relu(t, 0.1, 4.0), (0.0, 4.0)),
    (
        "relu_all",
        lambda t: activations.relu(t, negative_slope=0.3, max_value=5.0, threshold=-1.0),
        (-1.0, 0.0, 5.0),
    ),
]
AXIS_OPS = [
    ("softmax", lambda t: activations.softmax(t)),
    ("softmax_axis0", lambda t: activations.softmax(t, axis=0)),
    ("log_softmax", lambda t: activations.log_softmax(t)),
    ("log_softmax_axis0", lambda t: activations.log_softmax(t, axis=0)),
    ("glu", lambda t: activations.glu(t)),
    ("glu_axis0", lambda t: activations.glu(t, axis=0)),
    ("sparsemax", lambda t: activations.sparsemax(t)),
    ("normalize", lambda t: ops.normalize(t)),
    ("normalize_l1_axis0", lambda t: ops.normalize(t, axis=0, order=1)),
    ("normalize_l3", lambda t: ops.normalize(t, order=3)),
]


@pytest.mark.parametrize(("name", "fn", "kinks"), ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_elementwise_gradient_matches_central_differences(float64, name, fn, kinks):
    x = away_from(kinks, RNG.normal(size=(3, 7)) * 3)
    analytic, numeric = elementwise_analytic_and_numeric(fn, x)
    assert analytic.dtype == np.float64
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("name", "fn", "kinks"), ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_elementwise_gradient_close_to_kinks_and_at_large_magnitudes(float64, name, fn, kinks):
    near = [k + d for k in kinks for d in (-0.01, 0.01)]
    far = [-300.0, -40.0, -12.0, 12.0, 40.0, 300.0]
    x = np.array(near + far, dtype=np.float64)
    analytic, numeric = elementwise_analytic_and_numeric(fn, x)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("name", "fn"), AXIS_OPS, ids=[c[0] for c in AXIS_OPS])
def test_axis_op_gradient_matches_central_differences(float64, name, fn):
    x = RNG.normal(size=(4, 6)) * 2
    analytic, numeric = analytic_and_numeric(fn, x)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)


def test_gradient_of_the_plain_kinks_follows_the_keras_convention():
    x = Tensor(np.array([0.0, 6.0, -3.0, 3.0], dtype="float32"))
    for fn, expected in [
        (activations.relu, [0, 1, 0, 1]),
        (activations.relu6, [0, 0, 0, 1]),
        (activations.leaky_relu, [0.2, 1, 0.2, 1]),
        (activations.hard_sigmoid, [1 / 6, 0, 0, 0]),
    ]:
        with GradientTape() as tape:
            tape.watch(x)
            y = ops.sum(fn(x))
        np.testing.assert_allclose(tape.gradient(y, x), expected, rtol=1e-6)


EXTREMES = np.array(
    [-3e38, -1e30, -1e6, -1e3, -100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0, 1e3, 1e6, 1e30, 3e38],
    dtype=np.float32,
)
BOUNDED = {"exponential"}


@pytest.mark.parametrize(("name", "fn", "kinks"), ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_float32_extremes_stay_finite_without_overflow(name, fn, kinks):
    x = EXTREMES[np.abs(EXTREMES) <= 80] if name in BOUNDED else EXTREMES
    t = Tensor(x)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        with GradientTape() as tape:
            tape.watch(t)
            y = fn(t)
            loss = ops.sum(y)
        grad = tape.gradient(loss, t)
    assert y.dtype == np.float32 and grad.dtype == np.float32
    assert np.all(np.isfinite(y.numpy())), y.numpy()
    assert np.all(np.isfinite(grad)), grad


@pytest.mark.parametrize(("name", "fn"), AXIS_OPS, ids=[c[0] for c in AXIS_OPS])
def test_axis_ops_stay_finite_on_float32_extremes(name, fn):
    # Entries differ by less than the float32 range, so every true value is finite.
    x = np.array([[1.5e38, -1.5e38, 1.0, 0.0], [1e30, 1e30, -1e30, 5.0]], dtype=np.float32)
    t = Tensor(x)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        with GradientTape() as tape:
            tape.watch(t)
            y = fn(t)
            loss = ops.sum(ops.multiply(y, _weights(y.shape, "float32")))
        grad = tape.gradient(loss, t)
    assert y.dtype == np.float32 and grad.dtype == np.float32
    assert np.all(np.isfinite(y.numpy())) and np.all(np.isfinite(grad))


def test_known_values_at_extremes():
    x = np.array([-1e30, -100.0, 100.0, 1e30], dtype=np.float32)

    def close(y, expected):
        # float32 values below 1e-38 are subnormal, with absolute resolution 1.4e-45.
        np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6, atol=1e-43)

    e100 = math.exp(-100)
    close(ops.softplus(x), [0.0, e100, 100.0, 1e30])
    close(ops.log_sigmoid(x), [-1e30, -100.0, -e100, 0.0])
    close(ops.softsign(x), [-1.0, -100 / 101, 100 / 101, 1.0])
    close(ops.silu(x), [0.0, -100 * e100, 100.0, 1e30])
    close(ops.gelu(x), [0.0, 0.0, 100.0, 1e30])
    close(ops.gelu(x, approximate=False), [0.0, 0.0, 100.0, 1e30])
    close(ops.squareplus(x), [1e-30, 4 / (2 * (100 + math.sqrt(10004))), 100.0099990, 1e30])
    close(ops.elu(x), [-1.0, -1.0, 100.0, 1e30])
    close(ops.mish(x), [0.0, -100 * e100, 100.0, 1e30])
    # The gelu tail keeps relative precision: Phi(-10) = 7.6198530241605e-24.
    tail = ops.gelu(np.array([-10.0]), approximate=False).numpy()
    np.testing.assert_allclose(tail, [-10 * 7.6198530241605e-24], rtol=1e-6)


def test_exact_gelu_matches_the_error_function():
    x = np.linspace(-8, 8, 2001)
    expected = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x])
    np.testing.assert_allclose(activations.gelu(x.astype("float32")).numpy(), expected, atol=2e-7)
    np.testing.assert_allclose(
        ops.gelu(x, approximate=False).numpy(), expected, rtol=1e-12, atol=1e-15
    )


def test_gelu_defaults_differ_between_ops_and_activations():
    x = np.array([1.0], dtype="float32")
    assert ops.gelu(x).numpy()[0] == pytest.approx(0.8411920, abs=1e-6)  # tanh form
    assert activations.gelu(x).numpy()[0] == pytest.approx(0.8413447, abs=1e-6)  # exact


def test_relu_keras_docstring_examples():
    x = [-10.0, -5.0, 0.0, 5.0, 10.0]
    np.testing.assert_array_equal(activations.relu(x).numpy(), [0, 0, 0, 5, 10])
    np.testing.assert_array_equal(
        activations.relu(x, negative_slope=0.5).numpy(), [-5, -2.5, 0, 5, 10]
    )
    np.testing.assert_array_equal(activations.relu(x, max_value=5.0).numpy(), [0, 0, 0, 5, 5])
    np.testing.assert_array_equal(activations.relu(x, threshold=5.0).numpy(), [0, 0, 0, 0, 10])


def test_relu_general_form_values():
    x = np.array([-3.0, -1.5, -0.5, 0.5, 2.0, 7.0], dtype="float32")
    # slope 0.3 below threshold -1, x kept above it but clipped to [0, 5].
    out = activations.relu(x, negative_slope=0.3, max_value=5.0, threshold=-1.0).numpy()
    np.testing.assert_allclose(out, [-0.6, -0.15, 0.0, 0.5, 2.0, 5.0], rtol=1e-6)
    assert out.dtype == np.float32


def test_simple_values():
    x = np.array([-4.0, -2.0, 0.0, 2.0, 4.0], dtype="float32")
    np.testing.assert_allclose(ops.hard_sigmoid(x).numpy(), [0, 1 / 6, 0.5, 5 / 6, 1], rtol=1e-6)
    np.testing.assert_allclose(ops.hard_silu(x).numpy(), [0, -1 / 3, 0, 5 / 3, 4], rtol=1e-6)
    np.testing.assert_allclose(ops.relu6(x * 2).numpy(), [0, 0, 0, 4, 6])
    np.testing.assert_allclose(ops.sparse_plus(x / 4).numpy(), [0, 0.0625, 0.25, 0.5625, 1.0])
    np.testing.assert_allclose(ops.sparse_sigmoid(x / 4).numpy(), [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(ops.threshold(x, 1.0, 0.0).numpy(), [0, 0, 0, 2, 4])
    assert activations.linear(x) is x


def test_sparsemax_projects_onto_the_simplex():
    x = np.array([[1.0, 0.8, -1.0], [0.0, 0.0, 0.0], [3.0, 0.1, 0.2]], dtype="float32")
    out = activations.sparsemax(x).numpy()
    np.testing.assert_allclose(out, [[0.6, 0.4, 0.0], [1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0]], 1e-6)
    np.testing.assert_allclose(activations.sparsemax(x.T, axis=0).numpy(), out.T, rtol=1e-6)
    assert out.dtype == np.float32


def test_parameter_validation_and_degenerate_parameters():
    np.testing.assert_array_equal(ops.squareplus([-2.0, 0.0, 3.0], b=0).numpy(), [0.0, 0.0, 3.0])
    with pytest.raises(ValueError, match="b >= 0"):
        ops.squareplus([1.0], b=-1)
    with pytest.raises(ValueError, match="non-zero alpha"):
        ops.celu([1.0], alpha=0)


def test_glu_rejects_odd_axis():
    with pytest.raises(ValueError, match="odd size 3"):
        activations.glu(np.ones((2, 3)))


def test_normalize_values_and_zero_vectors():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], dtype="float32")
    np.testing.assert_allclose(ops.normalize(x).numpy(), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(ops.normalize(x, order=1).numpy(), [[3 / 7, 4 / 7], [0, 0]], 1e-6)
    with pytest.raises(ValueError, match="int order >= 1"):
        ops.normalize(x, order=0)


def test_one_hot():
    out = ops.one_hot(np.array([0, 2, -1, 3]), 3).numpy()
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]])
    assert out.dtype == np.float32
    assert ops.one_hot(np.array([[1, 0]]), 2, axis=0).shape == (2, 1, 2)
    with pytest.raises(ValueError, match="integer class indices"):
        ops.one_hot(np.array([0.5]), 2)


def test_sigmoid_and_softmax_remember_their_logits():
    logits = Tensor(np.array([[1.0, 2.0]], dtype="float32"))
    assert activations.softmax(logits)._keras_logits is logits
    assert activations.sigmoid(logits)._keras_logits is logits
    assert ops.softmax(logits)._keras_logits is logits
    assert activations.relu(logits)._keras_logits is None
    # Which function of the logits they are: what the fused crossentropy losses check.
    assert activations.softmax(logits)._keras_activation == "softmax"
    assert ops.softmax(logits, axis=1)._keras_activation == "softmax"
    assert ops.softmax(logits, axis=0)._keras_activation is None  # not over the classes
    assert activations.sigmoid(logits)._keras_activation == "sigmoid"
    assert activations.relu(logits)._keras_activation is None


def test_crossentropy_fuses_only_the_activation_it_names():
    from engine import losses
    from engine.losses.fused import activation_logits

    logits = Tensor(np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]], dtype="float32"))
    probs = ops.softmax(logits)
    assert activation_logits(probs, "softmax") is logits
    assert activation_logits(probs, "sigmoid") is None
    assert activation_logits(ops.sigmoid(logits), "softmax") is None
    assert activation_logits(ops.softmax(logits, axis=0), "softmax") is None
    # A softmax over the batch axis is an ordinary table of scores: the loss is Keras's
    # formula on it (each row rescaled to sum to one, clipped, then the log).
    y = np.eye(3, dtype="float32")[[2, 1]]
    p = ops.softmax(logits, axis=0)
    rows = p.value / p.value.sum(axis=-1, keepdims=True)
    expected = -np.sum(y * np.log(np.clip(rows, 1e-7, 1 - 1e-7)), axis=-1).mean()
    value = losses.CategoricalCrossentropy()(y, p)
    np.testing.assert_allclose(float(value.value), expected, rtol=1e-5)


def test_integer_inputs_become_floatx():
    for fn in (activations.sigmoid, activations.softmax, activations.elu, activations.gelu):
        assert fn(np.array([1, 2, 3])).dtype == np.float32


def test_no_gradient_work_without_a_tape():
    # Outside a tape nothing is recorded: the result is a plain Tensor.
    y = activations.mish(np.ones(3, "float32"))
    assert isinstance(y, Tensor) and not y._tracked


# PyTorch oracle ---------------------------------------------------------------------


def _torch_cases(torch):
    f = torch.nn.functional
    return [
        ("relu", activations.relu, f.relu),
        ("relu6", activations.relu6, f.relu6),
        ("leaky_relu", activations.leaky_relu, lambda t: f.leaky_relu(t, 0.2)),
        ("elu", lambda x: activations.elu(x, 1.3), lambda t: f.elu(t, 1.3)),
        ("selu", activations.selu, f.selu),
        ("celu", lambda x: activations.celu(x, 0.7), lambda t: f.celu(t, 0.7)),
        ("gelu_exact", activations.gelu, f.gelu),
        ("gelu_tanh", ops.gelu, lambda t: f.gelu(t, approximate="tanh")),
        ("silu", activations.silu, f.silu),
        ("softplus", activations.softplus, f.softplus),
        ("softsign", activations.softsign, f.softsign),
        ("hard_sigmoid", activations.hard_sigmoid, f.hardsigmoid),
        ("hard_silu", activations.hard_silu, f.hardswish),
        ("hard_tanh", activations.hard_tanh, f.hardtanh),
        ("hard_shrink", activations.hard_shrink, f.hardshrink),
        ("soft_shrink", activations.soft_shrink, f.softshrink),
        ("tanh_shrink", activations.tanh_shrink, f.tanhshrink),
        (
            "threshold",
            lambda x: activations.threshold(x, 0.3, -2.0),
            lambda t: f.threshold(t, 0.3, -2.0),
        ),
        ("mish", activations.mish, f.mish),
        ("sigmoid", activations.sigmoid, torch.sigmoid),
        ("log_sigmoid", activations.log_sigmoid, f.logsigmoid),
        ("tanh", activations.tanh, torch.tanh),
        ("exponential", activations.exponential, torch.exp),
        ("softmax", activations.softmax, lambda t: f.softmax(t, dim=-1)),
        ("softmax_axis0", lambda x: activations.softmax(x, 0), lambda t: f.softmax(t, dim=0)),
        ("log_softmax", activations.log_softmax, lambda t: f.log_softmax(t, dim=-1)),
        ("glu", activations.glu, f.glu),
        ("normalize", ops.normalize, lambda t: f.normalize(t, dim=-1, eps=1e-7)),
    ]


def test_forward_and_backward_match_pytorch():
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(5, 8)) * 3
    # Keep clear of every kink used by the piecewise activations.
    x = away_from((-3.0, -1.0, -0.5, 0.0, 0.3, 0.5, 1.0, 3.0, 6.0), x, margin=1e-2).astype(
        "float32"
    )
    for name, ours, theirs in _torch_cases(torch):
        t = Tensor(x)
        with GradientTape() as tape:
            tape.watch(t)
            y = ours(t)
            w = _weights(y.shape, "float32")
            loss = ops.sum(ops.multiply(y, w))
        grad = tape.gradient(loss, t)
        tt = torch.tensor(x, requires_grad=True)
        ty = theirs(tt)
        (ty * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(
            y.numpy(), ty.detach().numpy(), rtol=2e-6, atol=2e-6, err_msg=name
        )
        np.testing.assert_allclose(grad, tt.grad.numpy(), rtol=2e-5, atol=2e-6, err_msg=name)
        assert y.dtype == np.float32 and grad.dtype == np.float32, name


# Lookup and serialization --------------------------------------------------------------


def test_get_resolves_names_none_and_callables():
    assert activations.get("relu") is activations.relu
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu
    assert activations.get(None) is activations.linear

    def custom(x):
        return x

    assert activations.get(custom) is custom


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown activation 'relux'\. Known activations: celu"):
        activations.get("relux")
    with pytest.raises(ValueError, match="Could not interpret activation identifier"):
        activations.get(42)


def test_serialize_gives_builtin_names():
    assert activations.serialize(activations.relu) == "relu"
    assert activations.serialize(activations.swish) == "silu"
    assert activations.serialize(activations.get(None)) == "linear"
    for name in activations.ALL_OBJECTS_DICT:
        fn = activations.get(name)
        assert activations.deserialize(activations.serialize(fn)) is fn


def test_custom_activation_round_trip():
    @register_keras_serializable(package="test_activations")
    def doubled(x):
        return ops.multiply(x, 2.0)

    config = activations.serialize(doubled)
    assert isinstance(config, dict)
    json.dumps(config)
    assert activations.deserialize(config) is doubled
    assert activations.get(config) is doubled

    def unregistered(x):
        return x

    assert activations.deserialize(
        "unregistered", custom_objects={"unregistered": unregistered}
    ) is (unregistered)
    with pytest.raises(ValueError, match="lambda"):
        activations.serialize(lambda x: x)


def test_no_warnings_on_ordinary_inputs():
    x = RNG.normal(size=(50,)).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in activations.ALL_OBJECTS_DICT:
            if name == "threshold":
                continue
            activations.get(name)(x)


@pytest.mark.parametrize("size", [5, 8192, 8192 * 3 + 7])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_relu_into_equals_maximum_with_zero(size, dtype):
    from engine.ops.core import relu_into

    x = RNG.normal(size=size).astype(dtype)
    x[:3] = [np.nan, -0.0, 0.0]
    expected = np.maximum(x, 0)
    out = relu_into(x, np.empty_like(x))
    np.testing.assert_array_equal(out, expected)
    assert np.array_equal(np.signbit(out), np.signbit(expected))
    # In place, on a 2-D array and on a strided view (the plain path).
    grid = x[: size - size % 4].reshape(-1, 4).copy()
    assert relu_into(grid, grid) is grid
    np.testing.assert_array_equal(grid, np.maximum(x[: size - size % 4].reshape(-1, 4), 0))
    view = x[::2]
    np.testing.assert_array_equal(relu_into(view, np.empty_like(view)), np.maximum(view, 0))
    ints = np.arange(-3, 3)
    np.testing.assert_array_equal(relu_into(ints, np.empty_like(ints)), [0, 0, 0, 0, 1, 2])
