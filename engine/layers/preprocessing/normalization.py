"""`Normalization`: `(inputs - mean) / sqrt(variance)` with statistics given or adapted."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from engine.backend.config import epsilon
from engine.backend.tensor import Tensor, unwrap
from engine.layers.layer import Layer
from engine.ops import numpy as onp
from engine.ops.core import as_array, record


def _first_of(batch: Any) -> Any:
    """The inputs of a batch given as `(x, y)` or `(x, y, sample_weight)`."""
    return batch[0] if isinstance(batch, tuple) else batch


class Normalization(Layer):
    """Shifts and scales inputs to zero mean and unit variance per feature.

    The statistics are either passed in (`mean` and `variance`) or learned
    from data with `adapt()` before training; they are then fixed (kept as
    non-trainable weights `mean`, `variance` and `count`, so they are saved
    with the model). The layer computes `(inputs - mean) / max(sqrt(variance),
    epsilon)`, or the inverse with `invert=True`.

    Args:
        axis: the axis or axes that keep a separate mean and variance per
            index (`-1`: one per feature of the last axis); None for one scalar
            mean and variance over everything.
        mean: the mean(s), broadcast to the kept axes; set with `variance`.
        variance: the variance(s), broadcast like `mean`.
        invert: apply the inverse transformation (turn normalized values back).

    Example:
        >>> layer = Normalization(axis=None)
        >>> layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0], "float32"))
        >>> [round(v, 4) for v in layer(np.array([1.0, 2.0, 3.0], "float32")).numpy().tolist()]
        [-1.4142, -0.7071, 0.0]
    """

    def __init__(
        self,
        axis: int | tuple[int, ...] | list[int] | None = -1,
        mean: Any = None,
        variance: Any = None,
        invert: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        else:
            axis = tuple(axis)
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(
                "Normalization needs both mean and variance, or neither (to adapt them), "
                f"got mean={mean!r} and variance={variance!r}."
            )
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    f"Normalization mean and variance must have the same shape, got "
                    f"{np.shape(mean)} and {np.shape(variance)}."
                )
            if np.ndim(mean) > len(self.axis):
                raise ValueError(
                    f"Normalization mean of shape {np.shape(mean)} has more dimensions than "
                    f"the {len(self.axis)} kept axes {self.axis}; pass one value per kept index."
                )
        self.input_mean = mean
        self.input_variance = variance
        self.invert = invert
        self.supports_masking = True
        self._fixed_mean: np.ndarray | None = None
        self._fixed_variance: np.ndarray | None = None

    def build(self, input_shape: Any) -> None:
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(
                f"Normalization axis {self.axis} is out of range for inputs of rank {ndim}."
            )
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError(
                    f"Normalization keeps axis {d}, so its size must be known; got input "
                    f"shape {tuple(input_shape)}."
                )
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = tuple(
            input_shape[d] if d in self._keep_axis else 1 for d in range(ndim)
        )
        self._mean_and_var_shape = tuple(input_shape[d] for d in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(
                name="mean", shape=self._mean_and_var_shape, initializer="zeros", trainable=False
            )
            self.adapt_variance = self.add_weight(
                name="variance",
                shape=self._mean_and_var_shape,
                initializer="ones",
                trainable=False,
            )
            # Kept for compatibility with Keras's weight list; adapt() records the count.
            self.count = self.add_weight(
                name="count", shape=(), dtype="int64", initializer="zeros", trainable=False
            )
        else:
            self._fixed_mean = self._broadcast_statistic(self.input_mean, ndim)
            self._fixed_variance = self._broadcast_statistic(self.input_variance, ndim)
        self.built = True

    def _broadcast_statistic(self, value: Any, ndim: int) -> np.ndarray:
        """A given mean/variance aligned right-to-left with the kept axes, broadcast."""
        arr = np.asarray(unwrap(value), dtype=self.dtype)
        expanded = [1] * ndim
        for i in range(1, arr.ndim + 1):
            expanded[self._keep_axis[-i]] = arr.shape[-i]
        try:
            return np.broadcast_to(arr.reshape(expanded), self._broadcast_shape)
        except ValueError as err:
            raise ValueError(
                f"Normalization statistics of shape {arr.shape} do not broadcast to the kept "
                f"axes' shape {self._mean_and_var_shape}."
            ) from err

    def _statistics(self) -> tuple[np.ndarray, np.ndarray]:
        if self._fixed_mean is not None and self._fixed_variance is not None:
            return self._fixed_mean, self._fixed_variance
        return (
            self.adapt_mean.value.reshape(self._broadcast_shape),
            self.adapt_variance.value.reshape(self._broadcast_shape),
        )

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Compute the mean and variance of `data` and store them in the layer.

        The variance is the biased (population) variance, as in Keras. Batches
        are merged exactly: the result equals the statistics of all the data
        at once.

        Args:
            data: an array or tensor (the first axis is the batch), or an
                iterable of batches (arrays, or `(x, y)` tuples whose `x` is used).
            batch_size: for array data, process it in batches of this size
                (e.g. to bound memory); the statistics do not change.
            steps: read at most this many batches.

        Example:
            >>> layer = Normalization()
            >>> layer.adapt(np.array([[0.0, 7.0], [2.0, 9.0]], "float32"))
            >>> layer.adapt_mean.numpy().tolist(), layer.adapt_variance.numpy().tolist()
            ([1.0, 8.0], [1.0, 1.0])
        """
        if self.input_mean is not None:
            raise ValueError(
                "This Normalization layer was given mean and variance, so it cannot adapt; "
                "create it without them to learn the statistics from data."
            )
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"adapt batch_size must be a positive integer, got {batch_size!r}.")
        if steps is not None and (not isinstance(steps, int) or steps < 1):
            raise ValueError(f"adapt steps must be a positive integer, got {steps!r}.")
        batches = self._batches(data, batch_size)
        if steps is not None:
            batches = itertools.islice(batches, steps)
        first = next(batches, None)
        if first is None:
            raise ValueError("adapt received no data; pass an array or a non-empty iterable.")
        shape = first.shape
        if not self.built:
            self._build_input_shape = shape
            self.build(shape)
        total_mean = total_var = None
        total_count = 0
        for batch in itertools.chain([first], batches):
            self._check_adapt_shape(batch.shape)
            batch_mean = batch.mean(axis=self._reduce_axis)
            batch_var = batch.var(axis=self._reduce_axis)
            batch_count = math.prod(batch.shape[d] for d in self._reduce_axis)
            if total_mean is None:
                total_mean, total_var, total_count = batch_mean, batch_var, batch_count
                continue
            total_count += batch_count
            batch_weight = batch_count / total_count
            existing_weight = 1.0 - batch_weight
            new_mean = total_mean * existing_weight + batch_mean * batch_weight
            # Lack-of-fit sum of squares: each part's variance about the new mean.
            total_var = (total_var + (total_mean - new_mean) ** 2) * existing_weight + (
                batch_var + (batch_mean - new_mean) ** 2
            ) * batch_weight
            total_mean = new_mean
        self.adapt_mean.assign(np.asarray(total_mean).reshape(self._mean_and_var_shape))
        self.adapt_variance.assign(np.asarray(total_var).reshape(self._mean_and_var_shape))
        self.count.assign(np.asarray(total_count, dtype=np.int64))

    def _batches(self, data: Any, batch_size: int | None) -> Iterator[np.ndarray]:
        """The data as float64 batches (float64 so the sums of large sets stay exact)."""
        if isinstance(data, (np.ndarray, Tensor)):
            arr = np.asarray(unwrap(data), dtype=np.float64)
            if arr.ndim == 0:
                raise ValueError("adapt needs data with a batch axis, got a scalar.")
            step = batch_size or max(len(arr), 1)
            return (arr[i : i + step] for i in range(0, len(arr), step))
        if isinstance(data, Iterable) and not isinstance(data, (str, bytes, dict)):
            return (np.asarray(unwrap(_first_of(b)), dtype=np.float64) for b in data)
        raise TypeError(
            f"adapt accepts an array, a tensor or an iterable of batches, got "
            f"{type(data).__name__}."
        )

    def _check_adapt_shape(self, shape: tuple[int, ...]) -> None:
        build_shape = self._build_input_shape
        if build_shape is None:
            return
        if len(shape) != len(build_shape) or any(
            shape[d] != build_shape[d] for d in self._keep_axis
        ):
            raise ValueError(
                f"adapt got a batch of shape {shape}, incompatible with the input shape "
                f"{tuple(build_shape)} the layer was built for."
            )

    def call(self, inputs: Any) -> Any:
        if unwrap(inputs).dtype != np.dtype(self.dtype):
            inputs = onp.cast(inputs, self.dtype)
        mean, variance = self._statistics()
        std = np.maximum(np.sqrt(variance), np.asarray(epsilon(), dtype=self.dtype))
        x = as_array(inputs)
        if self.invert:
            return record(mean + x * std, (inputs,), lambda g, n: (g * std if n[0] else None,))
        return record((x - mean) / std, (inputs,), lambda g, n: (g / std if n[0] else None,))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "invert": self.invert,
                "mean": np.array(unwrap(self.input_mean)).tolist(),
                "variance": np.array(unwrap(self.input_variance)).tolist(),
            }
        )
        return config
