"""Turning what users pass to `fit`/`evaluate`/`predict` into batches.

Accepted: NumPy arrays (or lists/dicts of them, for several inputs/outputs),
engine tensors, a Python generator or iterable yielding `(x, y)` or
`(x, y, sample_weight)` batches, and `PyDataset`-like objects with `__len__`
and `__getitem__` returning batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from engine.backend import tree
from engine.backend.config import floatx
from engine.backend.random import global_generator
from engine.backend.tensor import Tensor

Batch = tuple[Any, Any, Any]


def _as_array(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, Tensor):
        x = x.value
    arr = np.asarray(x)
    if arr.dtype == np.float64 and floatx() != "float64":
        arr = arr.astype(floatx())
    return arr


def is_array_data(x: Any) -> bool:
    """Whether `x` is arrays (or lists/dicts of them) rather than a batch source."""
    leaves = tree.flatten(x)
    return (
        bool(leaves)
        and all(isinstance(v, (np.ndarray, Tensor, list, int, float, np.generic)) for v in leaves)
        and not _is_batch_source(x)
    )


def _is_batch_source(x: Any) -> bool:
    if isinstance(x, (np.ndarray, Tensor, list, tuple, dict)):
        return False
    return hasattr(x, "__iter__") or (hasattr(x, "__getitem__") and hasattr(x, "__len__"))


def _num_samples(structure: Any) -> int:
    sizes = {int(np.shape(a)[0]) for a in tree.flatten(structure) if a is not None}
    if len(sizes) > 1:
        raise ValueError(
            f"All input and target arrays must have the same number of samples; got sizes "
            f"{sorted(sizes)}. Check that x, y and sample_weight line up."
        )
    if not sizes:
        raise ValueError("No data was given: pass x (and y) as arrays.")
    return sizes.pop()


def _take(structure: Any, idx: Any) -> Any:
    return tree.map_structure(lambda a: None if a is None else a[idx], structure)


def split_validation(
    x: Any, y: Any, sample_weight: Any, validation_split: float
) -> tuple[Batch, Batch]:
    """Split arrays Keras's way: the LAST `validation_split` fraction, before any shuffling."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"validation_split must be between 0 and 1, got {validation_split}.")
    n = _num_samples((x, y))
    cut = math.floor(n * (1.0 - validation_split))
    if cut == 0 or cut == n:
        raise ValueError(
            f"validation_split={validation_split} leaves no training or no validation samples "
            f"out of {n}; use a value that keeps both non-empty."
        )
    head, tail = slice(0, cut), slice(cut, n)
    return (
        (_take(x, head), _take(y, head), _take(sample_weight, head)),
        (_take(x, tail), _take(y, tail), _take(sample_weight, tail)),
    )


def class_weight_to_sample_weight(
    y: Any, class_weight: dict[int, float], sample_weight: Any
) -> np.ndarray:
    """Per-sample weights from a `{class: weight}` dict (one-hot or integer targets)."""
    if tree.is_nested(y):
        raise ValueError("class_weight is only supported for models with a single output.")
    y = np.asarray(y)
    labels = (
        np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
    )
    labels = np.round(labels).astype(np.int64)
    lookup = np.ones(int(max(max(class_weight), labels.max(initial=0))) + 1, dtype=floatx())
    for cls, w in class_weight.items():
        lookup[int(cls)] = w
    weights = lookup[labels]
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight, dtype=floatx())
    return weights


class DataAdapter:
    """Batches for one pass over the data, epoch after epoch.

    Args:
        x, y, sample_weight: arrays (or nested arrays), or `x` a batch source.
        batch_size: samples per batch for arrays (32 when None).
        steps: batches per epoch; all the data when None.
        shuffle: `True` to reshuffle every epoch, `"batch"` to shuffle batch order only.
        class_weight: optional `{class: weight}` for arrays.

    Example:
        >>> adapter = DataAdapter(x, y, batch_size=64, shuffle=True)
        >>> for xb, yb, swb in adapter.epoch(): ...
    """

    def __init__(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        batch_size: int | None = None,
        steps: int | None = None,
        shuffle: bool | str = False,
        class_weight: dict[int, float] | None = None,
    ) -> None:
        self.steps = steps
        self.shuffle = shuffle
        self._source: Any = None
        self._iterator: Iterator[Any] | None = None
        if _is_batch_source(x):
            if y is not None:
                raise ValueError(
                    "When x is a generator or dataset that yields batches, do not pass y: "
                    "yield (x, y) pairs from it instead."
                )
            self._source = x
            self.class_weight = class_weight
            self.num_samples = None
            self.batch_size = batch_size
            return
        if x is None:
            raise ValueError("No data was given: pass x (and y) as arrays.")
        if batch_size is not None and (
            not isinstance(batch_size, (int, np.integer)) or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.x = tree.map_structure(_as_array, x)
        self.y = tree.map_structure(_as_array, y) if y is not None else None
        self.sample_weight = (
            tree.map_structure(_as_array, sample_weight) if sample_weight is not None else None
        )
        if class_weight:
            self.sample_weight = class_weight_to_sample_weight(
                self.y, class_weight, self.sample_weight
            )
        self.num_samples = _num_samples((self.x, self.y, self.sample_weight))
        self.batch_size = int(batch_size or 32)

    @property
    def steps_per_epoch(self) -> int | None:
        """Batches per epoch, or None when the source has no length."""
        if self.steps is not None:
            return int(self.steps)
        if self._source is None:
            return math.ceil(self.num_samples / self.batch_size)
        if hasattr(self._source, "__len__"):
            return len(self._source)
        return None

    def epoch(self) -> Iterator[Batch]:
        """Yield `(x, y, sample_weight)` batches for one epoch."""
        if self._source is not None:
            yield from self._source_epoch()
            return
        n, bs = self.num_samples, self.batch_size
        order: np.ndarray | None = None
        if self.shuffle == "batch":
            starts = np.arange(0, n, bs)
            global_generator().shuffle(starts)
        else:
            starts = np.arange(0, n, bs)
            if self.shuffle:
                order = global_generator().permutation(n)
        limit = self.steps if self.steps is not None else len(starts)
        for i, start in enumerate(starts):
            if i >= limit:
                break
            idx: Any = (
                slice(int(start), int(min(start + bs, n)))
                if order is None
                else order[start : start + bs]
            )
            yield _take(self.x, idx), _take(self.y, idx), _take(self.sample_weight, idx)
        if self.steps is not None and self.steps > len(starts):
            raise ValueError(
                f"steps_per_epoch={self.steps} asks for more batches than the data holds "
                f"({len(starts)} of batch size {bs}); lower it or leave it unset."
            )

    def _source_epoch(self) -> Iterator[Batch]:
        src = self._source
        if hasattr(src, "__getitem__") and hasattr(src, "__len__") and not hasattr(src, "__next__"):
            count = len(src) if self.steps is None else min(self.steps, len(src))
            order = np.arange(count)
            if self.shuffle:
                global_generator().shuffle(order)
            for i in order:
                yield self._unpack(src[int(i)])
            if hasattr(src, "on_epoch_end"):
                src.on_epoch_end()
            return
        if self._iterator is None or self.steps is None:
            self._iterator = iter(src)
        produced = 0
        while self.steps is None or produced < self.steps:
            try:
                batch = next(self._iterator)
            except StopIteration:
                if self.steps is not None and produced < self.steps:
                    raise ValueError(
                        f"The data generator ran out after {produced} batches but "
                        f"steps_per_epoch={self.steps}; make it loop forever or lower the steps."
                    ) from None
                return
            produced += 1
            yield self._unpack(batch)

    def _unpack(self, batch: Any) -> Batch:
        if isinstance(batch, tuple):
            if len(batch) == 1:
                x, y, sw = batch[0], None, None
            elif len(batch) == 2:
                (x, y), sw = batch, None
            elif len(batch) == 3:
                x, y, sw = batch
            else:
                raise ValueError(
                    "A data generator must yield (x,), (x, y) or (x, y, sample_weight); "
                    f"got a tuple of {len(batch)}."
                )
        else:
            x, y, sw = batch, None, None
        x = tree.map_structure(_as_array, x)
        y = tree.map_structure(_as_array, y) if y is not None else None
        sw = _as_array(sw) if sw is not None else None
        if self.class_weight and y is not None:
            sw = class_weight_to_sample_weight(y, self.class_weight, sw)
        return x, y, sw
