"""engine.utils: to_categorical, normalize, set_random_seed, pad_sequences (Keras behaviour)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from engine import ops, utils
from engine.backend import GradientTape, Tensor
from engine.backend import random as engine_random


# to_categorical --------------------------------------------------------------------------
def test_to_categorical_keras_docstring_example():
    out = utils.to_categorical([0, 1, 2, 3], num_classes=4)
    np.testing.assert_array_equal(out, np.eye(4))
    assert out.dtype == np.float32


def test_to_categorical_infers_classes_and_drops_a_trailing_unit_axis():
    out = utils.to_categorical(np.array([[1], [0], [2]]))
    assert out.shape == (3, 3)
    np.testing.assert_array_equal(out, [[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    assert utils.to_categorical(np.array([[0, 1], [1, 0]]), 2).shape == (2, 2, 2)
    assert utils.to_categorical(np.array([3]), 5).shape == (1, 5)
    assert utils.to_categorical(np.array(2), 3).tolist() == [0, 0, 1]


def test_to_categorical_accepts_integral_floats_and_tensors():
    np.testing.assert_array_equal(utils.to_categorical(np.array([1.0, 0.0])), [[0, 1], [1, 0]])
    out = utils.to_categorical(Tensor(np.array([[2], [0]])), 3)
    assert isinstance(out, Tensor) and out.shape == (2, 3)


def test_to_categorical_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match="outside"):
        utils.to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="outside"):
        utils.to_categorical([-1, 1])
    with pytest.raises(ValueError, match="cannot infer num_classes"):
        utils.to_categorical([])
    with pytest.raises(ValueError, match="integer class indices"):
        utils.to_categorical(["a", "b"])


# normalize -------------------------------------------------------------------------------
def test_normalize_numpy():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x), [[0.6, 0.8], [0, 0], [1, 0]])
    np.testing.assert_allclose(utils.normalize(x, order=1), [[3 / 7, 4 / 7], [0, 0], [1, 0]])
    np.testing.assert_allclose(utils.normalize(x, axis=0), x / np.array([[np.sqrt(10), 4.0]]))
    assert utils.normalize(x.astype("float32")).dtype == np.float32


def test_normalize_tensor_is_differentiable():
    t = Tensor(np.array([[3.0, 4.0]], dtype="float32"))
    with GradientTape() as tape:
        tape.watch(t)
        y = utils.normalize(t)
        loss = ops.sum(ops.multiply(y, np.array([[1.0, 0.0]], dtype="float32")))
    np.testing.assert_allclose(y.numpy(), [[0.6, 0.8]], rtol=1e-6)
    # d(x / |x|)_0 / dx = (|x|^2 - x0 * x) / |x|^3 = [16, -12] / 125.
    np.testing.assert_allclose(tape.gradient(loss, t), [[0.128, -0.096]], rtol=1e-5)


# set_random_seed -------------------------------------------------------------------------
def test_set_random_seed_reseeds_python_numpy_and_the_engine():
    utils.set_random_seed(2024)
    first = (random.random(), np.random.rand(), engine_random.global_generator().random())
    utils.set_random_seed(2024)
    second = (random.random(), np.random.rand(), engine_random.global_generator().random())
    assert first == second
    utils.set_random_seed(2025)
    assert random.random() != first[0]


def test_set_random_seed_rejects_non_integers():
    for bad in (1.5, "3", None, True, -1):
        with pytest.raises(ValueError, match="seed"):
            utils.set_random_seed(bad)
    utils.set_random_seed(np.int64(3))


# pad_sequences ---------------------------------------------------------------------------
SEQ = [[1], [2, 3], [4, 5, 6]]


def test_pad_sequences_keras_docstring_examples():
    np.testing.assert_array_equal(utils.pad_sequences(SEQ), [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(
        utils.pad_sequences(SEQ, value=-1), [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]]
    )
    np.testing.assert_array_equal(
        utils.pad_sequences(SEQ, padding="post"), [[1, 0, 0], [2, 3, 0], [4, 5, 6]]
    )
    np.testing.assert_array_equal(utils.pad_sequences(SEQ, maxlen=2), [[0, 1], [2, 3], [5, 6]])
    assert utils.pad_sequences(SEQ).dtype == np.int32


def test_pad_sequences_truncating_and_dtype():
    np.testing.assert_array_equal(
        utils.pad_sequences(SEQ, maxlen=2, truncating="post"), [[0, 1], [2, 3], [4, 5]]
    )
    out = utils.pad_sequences([[0.5], [1.5, 2.5]], dtype="float32", value=-1.0)
    np.testing.assert_array_equal(out, [[-1.0, 0.5], [1.5, 2.5]])
    # The default int32 dtype truncates floats, as in Keras.
    np.testing.assert_array_equal(utils.pad_sequences([[0.5, 1.7]]), [[0, 1]])


def test_pad_sequences_empty_items_and_feature_axes():
    np.testing.assert_array_equal(utils.pad_sequences([[], [1, 2]]), [[0, 0], [1, 2]])
    features = [np.ones((1, 2)), np.ones((3, 2)) * 2]
    out = utils.pad_sequences(features, dtype="float32")
    assert out.shape == (2, 3, 2)
    np.testing.assert_array_equal(out[0], [[0, 0], [0, 0], [1, 1]])
    assert utils.pad_sequences(SEQ, maxlen=0).shape == (3, 0)
    assert utils.pad_sequences([], maxlen=4).shape == (0, 4)


def test_pad_sequences_strings():
    out = utils.pad_sequences([["a"], ["b", "c"]], dtype=object, value="<pad>")
    assert out.tolist() == [["<pad>", "a"], ["b", "c"]]
    out = utils.pad_sequences([["ab"], ["c", "d"]], dtype="<U5", value="")
    assert out.tolist() == [["", "ab"], ["c", "d"]]
    with pytest.raises(ValueError, match="You should set `dtype=object`"):
        utils.pad_sequences([["a"]], value="<pad>")


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="must be iterable"):
        utils.pad_sequences(5)
    with pytest.raises(ValueError, match="Found non-iterable: 3"):
        utils.pad_sequences([[1], 3])
    with pytest.raises(ValueError, match='Padding type "middle" not understood'):
        utils.pad_sequences(SEQ, padding="middle")
    with pytest.raises(ValueError, match='Truncating type "middle" not understood'):
        utils.pad_sequences(SEQ, truncating="middle")
    with pytest.raises(ValueError, match="different from expected shape"):
        utils.pad_sequences([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="no sequences and no maxlen"):
        utils.pad_sequences([])


def test_atomic_write_keeps_permissions_follows_links_and_refuses_overwrite(tmp_path):
    import os
    import stat

    from engine.utils.file_utils import atomic_write

    def mode(p):
        return stat.S_IMODE(os.stat(p).st_mode)

    old_umask = os.umask(0o022)
    try:
        fresh = atomic_write(tmp_path / "sub" / "new.toml", "a = 1\n")
        assert fresh.read_text() == "a = 1\n" and mode(fresh) == 0o644
        shared = tmp_path / "shared.toml"
        shared.write_text("old")
        os.chmod(shared, 0o664)
        atomic_write(shared, b"new")
        assert shared.read_bytes() == b"new" and mode(shared) == 0o664
        link = tmp_path / "link.toml"
        link.symlink_to(shared)
        atomic_write(link, "through the link")
        assert link.is_symlink() and shared.read_text() == "through the link"
        with pytest.raises(FileExistsError):
            atomic_write(shared, "x", overwrite=False)
        assert shared.read_text() == "through the link"
        assert not [p for p in tmp_path.rglob(".*.tmp")]
    finally:
        os.umask(old_umask)
