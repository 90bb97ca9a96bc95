"""Datasets built from `[data]`: limits, validation sets and preprocessing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine.datasets import spirals
from experiments import data as data_module
from experiments.data import prepare_data
from experiments.spec.schema import DataTable


def _table(**fields: Any) -> DataTable:
    # Built without validation: the fake datasets below are not in engine.datasets.
    values = {**DataTable.model_construct().model_dump(), "name": "fake", "options": {}, **fields}
    return DataTable.model_construct(**values)


def _fake(monkeypatch: pytest.MonkeyPatch, result: Any) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def load_data(n_train: int = 6, n_test: int = 4) -> Any:
        calls.append({"n_train": n_train, "n_test": n_test})
        return result

    monkeypatch.setattr(data_module, "dataset_loaders", lambda: {"fake": load_data})
    return calls


def _images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 4, 4, 3), dtype=np.uint8)
    return x, rng.integers(0, 3, size=(n, 1)).astype(np.uint8)


def test_limit_keeps_the_first_samples_and_the_test_set_validates() -> None:
    (x_train, y_train), (x_test, _) = spirals.load_data()
    data = prepare_data(DataTable(name="spirals", options={"n_train": 1600}, limit=100))
    np.testing.assert_array_equal(data.x_train, x_train[:100])
    np.testing.assert_array_equal(data.y_train, y_train[:100])
    assert data.validation_data is not None
    np.testing.assert_array_equal(data.x_val, x_test)
    assert data.num_classes == 2 and data.input_shape == (2,)


def test_validation_can_be_held_out_or_left_out() -> None:
    assert prepare_data(DataTable(name="spirals"), validation_split=0.2).validation_data is None
    assert prepare_data(DataTable(name="spirals", validation="none")).validation_data is None
    limited = prepare_data(DataTable(name="spirals", validation_limit=50))
    assert limited.x_val is not None and len(limited.x_val) == 50


def test_generated_datasets_make_only_what_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake(monkeypatch, (_images(6, 0), _images(4, 1)))
    prepare_data(_table(limit=3, validation_limit=2))
    assert calls == [{"n_train": 3, "n_test": 2}]
    # Explicit options win, and without a test set its size is left alone.
    prepare_data(_table(limit=3, validation_limit=2, options={"n_train": 5}), 0.5)
    assert calls[-1] == {"n_train": 5, "n_test": 4}


def test_images_are_scaled_flattened_and_one_hot(monkeypatch: pytest.MonkeyPatch) -> None:
    train, test = _images(6, 0), _images(4, 1)
    _fake(monkeypatch, (train, test))
    data = prepare_data(_table(scale=True, flatten=True, one_hot=True))
    assert data.x_train.dtype == np.float32 and data.x_train.shape == (6, 48)
    np.testing.assert_allclose(data.x_train, train[0].reshape(6, -1) / 255.0, rtol=1e-6)
    assert data.x_val is not None and data.x_val.shape == (4, 48)
    # Classes are counted over train and test labels.
    classes = int(max(train[1].max(), test[1].max())) + 1
    assert data.num_classes == classes and data.y_train.shape == (6, classes)
    np.testing.assert_array_equal(data.y_train.argmax(axis=1), train[1][:, 0])
    assert data.y_train.dtype == np.float32


def test_other_inputs_are_scaled_by_the_training_range(monkeypatch: pytest.MonkeyPatch) -> None:
    x_train = np.array([[2.0], [4.0], [6.0]])
    x_test = np.array([[4.0], [8.0]])
    _fake(monkeypatch, ((x_train, np.zeros(3)), (x_test, np.zeros(2))))
    data = prepare_data(_table(scale=True))
    np.testing.assert_allclose(data.x_train[:, 0], [0.0, 0.5, 1.0])
    assert data.x_val is not None
    np.testing.assert_allclose(data.x_val[:, 0], [0.5, 1.5])
    assert data.num_classes is None  # float targets are not class labels


def test_float64_inputs_become_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(monkeypatch, ((np.ones((3, 2)), np.zeros(3)), (np.ones((2, 2)), np.zeros(2))))
    data = prepare_data(_table())
    assert data.x_train.dtype == np.float32 and data.x_val is not None
    assert data.x_val.dtype == np.float32


def test_ragged_sequences_need_a_length(monkeypatch: pytest.MonkeyPatch) -> None:
    train = (np.array([[1, 2, 3], [4], [5, 6]], dtype=object), np.array([0, 1, 0]))
    test = (np.array([[7, 8], [9]], dtype=object), np.array([1, 0]))
    _fake(monkeypatch, (train, test))
    with pytest.raises(ValueError, match=r"set data\.sequence_length"):
        prepare_data(_table())
    data = prepare_data(_table(sequence_length=2, padding="post"))
    np.testing.assert_array_equal(data.x_train, [[2, 3], [4, 0], [5, 6]])
    assert data.x_val is not None
    np.testing.assert_array_equal(data.x_val, [[7, 8], [9, 0]])


def test_one_hot_needs_class_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(monkeypatch, ((np.ones((3, 2)), np.ones(3) * 0.5), (np.ones((2, 2)), np.ones(2))))
    with pytest.raises(ValueError, match=r"data\.one_hot needs integer class labels"):
        prepare_data(_table(one_hot=True))


def test_a_loader_must_return_two_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(monkeypatch, (np.ones(3), np.ones(3), np.ones(3)))
    with pytest.raises(ValueError, match=r"must return \(\(x_train, y_train\)"):
        prepare_data(_table())
