"""Datasets for a run, built from a spec's `[data]` table.

The dataset is loaded with its `engine.datasets` module's `load_data(**options)`,
cut to `limit` training samples (the first ones, so the same spec always
trains on the same samples), given a validation set (the test set, unless
`fit.validation_split` holds out training data or `validation = "none"`), and
preprocessed: sequences padded to `sequence_length`, inputs scaled to [0, 1],
flattened, and labels one-hot encoded.

Generated datasets (loaders taking `n_train` and `n_test`, such as `shapes`)
are asked for only `limit` training and `validation_limit` test samples,
unless the options set those counts: generating 60,000 images to keep 512
would take most of a short run's time.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.utils import pad_sequences, to_categorical
from experiments.spec.names import dataset_loaders
from experiments.spec.schema import DataTable


@dataclass(frozen=True)
class PreparedData:
    """Arrays ready for `model.fit`.

    Args:
        x_train: training inputs.
        y_train: training targets.
        x_val: validation inputs (the test set), or None.
        y_val: validation targets, or None.
        num_classes: the number of classes when the labels are class indices, else None.

    Example:
        >>> data = prepare_data(DataTable(name="spirals", limit=100))
        >>> data.x_train.shape, data.input_shape
        ((100, 2), (2,))
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    num_classes: int | None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one input sample."""
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def validation_data(self) -> tuple[np.ndarray, np.ndarray] | None:
        """`(x_val, y_val)` for `fit`, or None without a validation set."""
        if self.x_val is None or self.y_val is None:
            return None
        return self.x_val, self.y_val


def _split_pairs(result: Any, name: str) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    try:
        (x_train, y_train), (x_test, y_test) = result
    except (TypeError, ValueError):
        raise ValueError(
            f"engine.datasets.{name}.load_data() must return ((x_train, y_train), (x_test, "
            "y_test)) like the Keras loaders."
        ) from None
    return (x_train, y_train), (x_test, y_test)


def _as_sequences(x: Any, data: DataTable) -> np.ndarray:
    """Pad ragged sequences (lists of token ids) into one array when `sequence_length` is set."""
    if data.sequence_length is not None:
        return pad_sequences(
            list(x), maxlen=data.sequence_length, padding=data.padding, truncating=data.truncating
        )
    array = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if array.dtype == object:
        raise ValueError(
            f"dataset {data.name!r} has samples of different lengths; set data.sequence_length "
            "to pad or truncate them to one length."
        )
    return array


class _Scaler:
    """Scaling to [0, 1]: 8-bit images by 255, anything else by the training set's range."""

    def __init__(self, x_train: np.ndarray) -> None:
        if x_train.dtype == np.uint8:
            self.low, self.span = 0.0, 255.0
        else:
            self.low = float(x_train.min()) if x_train.size else 0.0
            high = float(x_train.max()) if x_train.size else 1.0
            self.span = high - self.low if high > self.low else 1.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = x.astype(np.float32)
        if self.low:
            out -= np.float32(self.low)
        out /= np.float32(self.span)
        return out


def _num_classes(*labels: np.ndarray) -> int | None:
    """The class count of integer labels (one column at most), else None."""
    present = [y for y in labels if y is not None and np.asarray(y).size]
    if not present:
        return None
    arrays = [np.asarray(y) for y in present]
    if any(not np.issubdtype(a.dtype, np.integer) for a in arrays):
        return None
    if any(a.ndim > 2 or (a.ndim == 2 and a.shape[1] != 1) for a in arrays):
        return None
    return int(max(int(a.max()) for a in arrays)) + 1


def prepare_data(data: DataTable, validation_split: float = 0.0) -> PreparedData:
    """Load and preprocess the dataset a `[data]` table describes.

    Args:
        data: the validated `[data]` table.
        validation_split: `fit.validation_split`; when > 0, `fit` holds out the
            last fraction of the training data and the test set is not used.

    Raises:
        ValueError: the loader's result or the samples do not fit the options
            (for example ragged sequences without `sequence_length`).
    """
    loader = dataset_loaders()[data.name]
    use_test = data.validation != "none" and validation_split == 0.0
    options = dict(data.options)
    accepted = inspect.signature(loader).parameters
    if data.limit is not None and "n_train" in accepted:
        options.setdefault("n_train", data.limit)
    if use_test and data.validation_limit is not None and "n_test" in accepted:
        options.setdefault("n_test", data.validation_limit)
    (x_train, y_train), (x_test, y_test) = _split_pairs(loader(**options), data.name)
    num_classes = _num_classes(np.asarray(y_train), np.asarray(y_test))

    if data.limit is not None:
        x_train, y_train = x_train[: data.limit], y_train[: data.limit]
    if use_test and data.validation_limit is not None:
        x_test, y_test = x_test[: data.validation_limit], y_test[: data.validation_limit]

    x_train = _as_sequences(x_train, data)
    x_val = _as_sequences(x_test, data) if use_test else None
    y_train = np.asarray(y_train)
    y_val = np.asarray(y_test) if use_test else None

    if data.scale:
        scale = _Scaler(x_train)
        x_train = scale(x_train)
        x_val = scale(x_val) if x_val is not None else None
    elif np.issubdtype(x_train.dtype, np.floating) and x_train.dtype != np.float32:
        # float64 inputs would promote every op of a float32 model and halve its speed.
        x_train = x_train.astype(np.float32)
        x_val = x_val.astype(np.float32) if x_val is not None else None
    if data.flatten:
        x_train = x_train.reshape(len(x_train), -1)
        x_val = x_val.reshape(len(x_val), -1) if x_val is not None else None
    if data.one_hot:
        if num_classes is None:
            raise ValueError(
                f"data.one_hot needs integer class labels, but dataset {data.name!r} has "
                f"targets of dtype {y_train.dtype} and shape {y_train.shape}."
            )
        y_train = to_categorical(y_train, num_classes).astype(np.float32)
        y_val = to_categorical(y_val, num_classes).astype(np.float32) if y_val is not None else None
    return PreparedData(x_train, y_train, x_val, y_val, num_classes)
