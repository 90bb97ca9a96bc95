"""The gradient tape and every op in engine.ops.numpy / engine.ops.linalg, checked numerically."""

from __future__ import annotations

import numpy as np
import pytest

from engine import ops
from engine.backend import GradientTape, Tensor, Variable, stop_recording
from tests.engine.gradcheck import check_gradients

rng = np.random.default_rng(0)


def r(*shape: int, positive: bool = False) -> np.ndarray:
    a = rng.normal(size=shape)
    return np.abs(a) + 0.5 if positive else a


BINARY = [
    ("add", ops.add, r(3, 4), r(4)),
    ("subtract", ops.subtract, r(3, 1), r(3, 4)),
    ("multiply", ops.multiply, r(2, 3, 4), r(3, 1)),
    ("divide", ops.divide, r(3, 4), r(3, 4, positive=True)),
    ("power", ops.power, r(3, 4, positive=True), r(3, 4)),
    ("maximum", ops.maximum, r(3, 4), r(3, 4)),
    ("minimum", ops.minimum, r(3, 4), r(4)),
    ("matmul_2d", ops.matmul, r(3, 4), r(4, 5)),
    ("matmul_batched", ops.matmul, r(2, 3, 4), r(2, 4, 5)),
    ("matmul_broadcast_rhs", ops.matmul, r(2, 3, 4), r(4, 5)),
    ("matmul_vec", ops.matmul, r(3, 4), r(4)),
    ("matmul_vecvec", ops.matmul, r(4), r(4)),
    ("tensordot_1", lambda a, b: ops.tensordot(a, b, axes=1), r(2, 3), r(3, 4)),
    (
        "tensordot_axes",
        lambda a, b: ops.tensordot(a, b, axes=([0, 2], [1, 0])),
        r(2, 3, 4),
        r(4, 2, 5),
    ),
    ("einsum", lambda a, b: ops.einsum("bij,jk->bik", a, b), r(2, 3, 4), r(4, 5)),
    ("einsum_reduce", lambda a, b: ops.einsum("ij,ij->i", a, b), r(3, 4), r(3, 4)),
    ("where", lambda a, b: ops.where(a > 0, a, b), r(3, 4), r(3, 4)),
]


@pytest.mark.parametrize("name,op,a,b", BINARY, ids=[b[0] for b in BINARY])
def test_binary_op_gradients(name, op, a, b, float64):
    check_gradients(op, a, b)


UNARY = [
    ("negative", ops.negative, r(3, 4)),
    ("exp", ops.exp, r(3, 4)),
    ("log", ops.log, r(3, 4, positive=True)),
    ("log1p", ops.log1p, r(3, 4, positive=True)),
    ("expm1", ops.expm1, r(3, 4)),
    ("sqrt", ops.sqrt, r(3, 4, positive=True)),
    ("rsqrt", ops.rsqrt, r(3, 4, positive=True)),
    ("square", ops.square, r(3, 4)),
    ("abs", ops.abs, r(3, 4)),
    ("tanh", ops.tanh, r(3, 4)),
    ("sin", ops.sin, r(3, 4)),
    ("cos", ops.cos, r(3, 4)),
    ("clip", lambda a: ops.clip(a, -0.5, 0.5), r(3, 4)),
    ("sum_all", ops.sum, r(3, 4)),
    ("sum_axis", lambda a: ops.sum(a, axis=1, keepdims=True), r(3, 4)),
    ("sum_axes", lambda a: ops.sum(a, axis=(0, 2)), r(2, 3, 4)),
    ("mean", lambda a: ops.mean(a, axis=-1), r(3, 4)),
    ("var", lambda a: ops.var(a, axis=0), r(3, 4)),
    ("std", lambda a: ops.std(a, axis=1), r(3, 4)),
    ("max", lambda a: ops.max(a, axis=1), r(3, 4)),
    ("min_all", ops.min, r(3, 4)),
    ("logsumexp", lambda a: ops.logsumexp(a, axis=-1), r(3, 4)),
    ("prod", lambda a: ops.prod(a, axis=0), r(3, 4, positive=True)),
    ("cumsum", lambda a: ops.cumsum(a, axis=1), r(3, 4)),
    ("cumsum_flat", ops.cumsum, r(3, 4)),
    ("reshape", lambda a: ops.reshape(a, (4, 3)), r(3, 4)),
    ("transpose", lambda a: ops.transpose(a, (2, 0, 1)), r(2, 3, 4)),
    ("swapaxes", lambda a: ops.swapaxes(a, 0, 2), r(2, 3, 4)),
    ("moveaxis", lambda a: ops.moveaxis(a, 0, -1), r(2, 3, 4)),
    ("expand_dims", lambda a: ops.expand_dims(a, 1), r(3, 4)),
    ("squeeze", lambda a: ops.squeeze(a, 1), r(3, 1, 4)),
    ("broadcast_to", lambda a: ops.broadcast_to(a, (2, 3, 4)), r(3, 1)),
    ("tile", lambda a: ops.tile(a, (2, 3)), r(2, 3)),
    ("repeat", lambda a: ops.repeat(a, 3, axis=1), r(2, 3)),
    ("repeat_flat", lambda a: ops.repeat(a, 2), r(2, 3)),
    ("getitem_slice", lambda a: a[1:, ::2], r(3, 4)),
    ("getitem_fancy_repeat", lambda a: a[[0, 0, 2]], r(3, 4)),
    ("take", lambda a: ops.take(a, np.array([[0, 2], [2, 2]]), axis=1), r(3, 4)),
    ("take_flat", lambda a: ops.take(a, np.array([0, 5, 5])), r(3, 4)),
    ("pad", lambda a: ops.pad(a, ((1, 0), (2, 1))), r(3, 4)),
    ("relu", ops.relu, r(3, 4)),
    ("sigmoid", ops.sigmoid, r(3, 4)),
    ("softmax", lambda a: ops.softmax(a, axis=-1), r(3, 4)),
    ("softmax_axis0", lambda a: ops.softmax(a, axis=0), r(3, 4)),
    ("log_softmax", ops.log_softmax, r(3, 4)),
    ("identity", ops.identity, r(3, 4)),
    ("cast", lambda a: ops.cast(a, "float64"), r(3, 4)),
    ("transpose_T", lambda a: a.T, r(3, 4)),
]


@pytest.mark.parametrize("name,op,a", UNARY, ids=[u[0] for u in UNARY])
def test_unary_op_gradients(name, op, a, float64):
    check_gradients(op, a)


def test_list_ops_gradients(float64):
    check_gradients(lambda a, b: ops.concatenate([a, b], axis=1), r(2, 3), r(2, 2))
    check_gradients(lambda a, b: ops.stack([a, b], axis=1), r(2, 3), r(2, 3))
    check_gradients(lambda a: ops.split(a, 2, axis=1)[1] * 3.0, r(2, 4))


def test_dense_op_gradients(float64):
    check_gradients(ops.dense, r(5, 3), r(3, 4), r(4))
    check_gradients(lambda x, w: ops.dense(x, w), r(2, 5, 3), r(3, 4))


def test_dense_op_skips_unneeded_input_gradient():
    x = Tensor(r(4, 3).astype("float32"))
    w = Variable(r(3, 2))
    with GradientTape() as tape:
        y = ops.sum(ops.dense(x, w))
    gx, gw = tape.gradient(y, [x, w])
    assert gx is None
    np.testing.assert_allclose(gw, np.repeat(x.value.sum(0)[:, None], 2, axis=1), rtol=1e-6)


def test_reused_tensor_gradients_accumulate():
    w = Variable(np.array([1.0, 2.0, 3.0]))
    with GradientTape() as tape:
        y = ops.sum(w * w + w)
    (g,) = tape.gradient(y, [w])
    np.testing.assert_allclose(g, 2 * w.value + 1)


def test_gradient_of_unconnected_source_is_none():
    a, b = Variable(np.ones(2)), Variable(np.ones(2))
    with GradientTape() as tape:
        y = ops.sum(a * 2.0)
    ga, gb = tape.gradient(y, [a, b])
    np.testing.assert_allclose(ga, [2.0, 2.0])
    assert gb is None


def test_frozen_variable_is_not_tracked():
    w = Variable(np.ones(3), trainable=False)
    with GradientTape() as tape:
        y = ops.sum(w * 3.0)
    assert tape.gradient(y, [w]) == [None]
    assert tape._entries == []


def test_persistent_tape_gives_gradients_twice_and_plain_tape_once():
    w = Variable(np.array([3.0]))
    with GradientTape(persistent=True) as tape:
        y = ops.sum(ops.square(w))
    first = tape.gradient(y, w)
    second = tape.gradient(y, w)
    np.testing.assert_allclose(first, second)
    with GradientTape() as tape2:
        y2 = ops.sum(ops.square(w))
    tape2.gradient(y2, w)
    assert tape2.gradient(y2, w) is None


def test_watch_plain_tensor_and_intermediate_source():
    x = Tensor(np.array([1.0, 2.0], dtype="float32"))
    with GradientTape() as tape:
        tape.watch(x)
        h = x * 3.0
        y = ops.sum(h * h)
    gx, gh = tape.gradient(y, [x, h])
    np.testing.assert_allclose(gh, 2 * h.value)
    np.testing.assert_allclose(gx, 18 * x.value)


def test_stop_recording_and_stop_gradient():
    w = Variable(np.array([2.0]))
    with GradientTape() as tape:
        with stop_recording():
            frozen = w * 5.0
        y = ops.sum(frozen * w + ops.stop_gradient(w) * w)
    (g,) = tape.gradient(y, [w])
    np.testing.assert_allclose(g, [10.0 + 2.0])


def test_output_gradients_seed():
    w = Variable(np.array([1.0, 2.0]))
    with GradientTape() as tape:
        y = w * 2.0
    (g,) = tape.gradient(y, [w], output_gradients=np.array([3.0, 4.0]))
    np.testing.assert_allclose(g, [6.0, 8.0])


def test_float32_is_preserved_through_ops_and_gradients():
    w = Variable(r(3, 4))
    x = Tensor(r(5, 3).astype("float32"))
    with GradientTape() as tape:
        h = ops.relu(ops.matmul(x, w) * 0.5 + 1.0)
        y = ops.mean(ops.softmax(h) ** 2.0) / 3.0
    assert y.dtype == np.float32
    (g,) = tape.gradient(y, [w])
    assert g.dtype == np.float32


def test_softmax_output_remembers_logits():
    logits = Tensor(r(2, 3).astype("float32"))
    probs = ops.softmax(logits)
    assert probs._keras_logits is logits
    np.testing.assert_allclose(probs.value.sum(-1), 1.0, rtol=1e-6)


def test_operator_overloads_match_numpy():
    a, b = r(3, 4), r(3, 4, positive=True)
    ta, tb = Tensor(a), Tensor(b)
    np.testing.assert_allclose((ta + tb).value, a + b)
    np.testing.assert_allclose((2.0 - ta).value, 2.0 - a)
    np.testing.assert_allclose((ta / tb).value, a / b)
    np.testing.assert_allclose((1.0 / tb).value, 1.0 / b)
    np.testing.assert_allclose((ta @ tb.T).value, a @ b.T)
    np.testing.assert_allclose((-ta).value, -a)
    np.testing.assert_allclose((tb**2).value, b**2)
    assert ((ta > 0) == (a > 0)).all()


def test_variable_assign_checks_shape():
    v = Variable(np.zeros((2, 3)), name="kernel")
    v.assign(np.ones((2, 3)))
    assert v.value.sum() == 6
    with pytest.raises(ValueError, match="shape"):
        v.assign(np.ones((3, 2)))


@pytest.mark.parametrize(
    "expr",
    [
        lambda t: t * 2,
        lambda t: t + 1,
        lambda t: 0 + t,
        lambda t: t / 2,
        lambda t: 2 / t,
        lambda t: t**2,
        lambda t: t - 3,
        lambda t: ops.maximum(t, 0),
        lambda t: ops.where(t > 0, t, 0),
        lambda t: ops.clip(t, 0, 1),
    ],
)
def test_python_scalars_do_not_promote_float32(expr):
    t = Tensor(np.array([1.0, 2.0], dtype="float32"))
    assert expr(t).dtype == np.float32


def test_integer_tensors_stay_integer_with_python_ints():
    t = Tensor(np.array([1, 2], dtype="int32"))
    assert (t + 1).dtype == np.int32
