"""The `Initializer` base class and the shape helpers every initializer shares."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backend.config import standardize_dtype


class Initializer(abc.ABC):
    """Base class of weight initializers: `initializer(shape, dtype)` returns an array.

    Subclasses implement `__call__`; when the constructor arguments match the
    keys of `get_config()`, the inherited `from_config` rebuilds them.

    Example:
        >>> class Halves(Initializer):
        ...     def __call__(self, shape, dtype=None):
        ...         return np.full(shape, 0.5, dtype=standardize_dtype(dtype))
        >>> Halves()((2,)).tolist()
        [0.5, 0.5]
    """

    @abc.abstractmethod
    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        """Return an array of `shape` and `dtype` (floatx when None)."""

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-able dict."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        """Rebuild an initializer from `get_config()` output."""
        return cls(**config)

    def clone(self) -> Initializer:
        """A new initializer with the same configuration."""
        return type(self).from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def standardize_shape(shape: Sequence[int] | int) -> tuple[int, ...]:
    """`shape` as a tuple of non-negative ints; a bare int is a 1-D shape."""
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    for d in dims:
        if d is None or isinstance(d, bool) or int(d) != d or d < 0:
            raise ValueError(
                f"An initializer needs a fully known shape of non-negative ints, got {shape!r}."
            )
    return tuple(int(d) for d in dims)


def float_dtype(dtype: Any, who: str) -> np.dtype:
    """The requested dtype (floatx when None), which must be a float type."""
    dt = standardize_dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"{who} draws floating-point values; it cannot fill dtype {dt}.")
    return dt
