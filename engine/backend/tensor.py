"""Eager tensors, trainable variables and the gradient tape.

A `Tensor` wraps one NumPy array. Ops (see `engine.ops`) compute on the arrays
and, while a `GradientTape` is recording, append one entry per op to the tape:
the output tensor, its parent tensors and a vector-Jacobian product (VJP)
closure. `GradientTape.gradient` walks the entries in reverse, so any layer
composed of ops trains without backward code of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from engine.backend.config import floatx

VJP = Callable[[np.ndarray, tuple[bool, ...]], Sequence[np.ndarray | None]]

_state = threading.local()


def _tape_stack() -> list[GradientTape]:
    stack = getattr(_state, "tapes", None)
    if stack is None:
        stack = _state.tapes = []
    return stack


class Tensor:
    """An eager tensor: a NumPy array that the gradient tape can track.

    Args:
        value: array-like data; kept as is when it already is an ndarray.

    Example:
        >>> t = Tensor(np.ones((2, 3), "float32"))
        >>> (t * 2).numpy().sum()
        12.0
    """

    __slots__ = (
        "__weakref__",
        "_keras_activation",
        "_keras_logits",
        "_keras_mask",
        "_tracked",
        "value",
    )
    __array_priority__ = 100

    def __init__(self, value: Any) -> None:
        self.value = value if isinstance(value, np.ndarray) else np.asarray(value)
        self._tracked = False
        self._keras_logits: Tensor | None = None
        # "softmax" (over the last axis) or "sigmoid" when this tensor is that
        # function of `_keras_logits`, for the fused crossentropy losses.
        self._keras_activation: str | None = None
        self._keras_mask: Any = None

    # Array-like surface -------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size

    def numpy(self) -> np.ndarray:
        """Return the underlying NumPy array."""
        return self.value

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is None:
            return self.value
        return self.value.astype(dtype)

    def __len__(self) -> int:
        return len(self.value)

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} shape={self.shape} dtype={self.dtype}>\n{self.value!r}"

    # Operators route through the differentiable ops -----------------------
    def __add__(self, other: Any) -> Tensor:
        from engine.ops import numpy as onp

        return onp.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        from engine.ops import numpy as onp

        return onp.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        from engine.ops import numpy as onp

        return onp.subtract(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        from engine.ops import numpy as onp

        return onp.subtract(other, self)

    def __mul__(self, other: Any) -> Tensor:
        from engine.ops import numpy as onp

        return onp.multiply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        from engine.ops import numpy as onp

        return onp.multiply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        from engine.ops import numpy as onp

        return onp.divide(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        from engine.ops import numpy as onp

        return onp.divide(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        from engine.ops import numpy as onp

        return onp.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        from engine.ops import numpy as onp

        return onp.matmul(other, self)

    def __pow__(self, other: Any) -> Tensor:
        from engine.ops import numpy as onp

        return onp.power(self, other)

    def __neg__(self) -> Tensor:
        from engine.ops import numpy as onp

        return onp.negative(self)

    def __getitem__(self, key: Any) -> Tensor:
        from engine.ops import numpy as onp

        return onp.getitem(self, key)

    def __lt__(self, other: Any) -> np.ndarray:
        return self.value < unwrap(other)

    def __le__(self, other: Any) -> np.ndarray:
        return self.value <= unwrap(other)

    def __gt__(self, other: Any) -> np.ndarray:
        return self.value > unwrap(other)

    def __ge__(self, other: Any) -> np.ndarray:
        return self.value >= unwrap(other)

    @property
    def T(self) -> Tensor:
        from engine.ops import numpy as onp

        return onp.transpose(self)


class Variable(Tensor):
    """A named, mutable tensor holding a layer's or an optimizer's state.

    Args:
        initializer: an array, or a callable `(shape, dtype) -> array`.
        shape: required when `initializer` is a callable.
        dtype: defaults to `floatx()`.
        trainable: whether the gradient tape tracks it and `fit` updates it.
        name: the short name, e.g. `"kernel"`.
        constraint: an optional callable applied after each optimizer update.

    Example:
        >>> v = Variable(np.zeros((3,)), name="bias")
        >>> v.assign(np.ones((3,)))
    """

    __slots__ = ("_trainable", "constraint", "name", "path", "regularizer")

    def __init__(
        self,
        initializer: Any,
        shape: Sequence[int] | None = None,
        dtype: Any = None,
        trainable: bool = True,
        name: str = "variable",
        constraint: Callable[[np.ndarray], np.ndarray] | None = None,
        regularizer: Any = None,
    ) -> None:
        dtype = np.dtype(dtype or floatx())
        if callable(initializer):
            if shape is None:
                raise ValueError(f"Variable {name!r}: a callable initializer needs a shape.")
            value = initializer(tuple(shape), dtype=dtype)
        else:
            value = initializer
        super().__init__(np.array(unwrap(value), dtype=dtype, copy=True))
        self._trainable = bool(trainable)
        self.name = name
        self.path = name
        self.constraint = constraint
        self.regularizer = regularizer

    @property
    def _tracked(self) -> bool:  # type: ignore[override]
        return self._trainable

    @_tracked.setter
    def _tracked(self, value: bool) -> None:
        # Tensor.__init__ sets the flag; a variable derives it from `trainable`.
        pass

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)

    def assign(self, value: Any) -> None:
        """Overwrite the value in place, keeping shape and dtype."""
        value = unwrap(value)
        if np.shape(value) != self.value.shape:
            raise ValueError(
                f"Cannot assign a value of shape {np.shape(value)} to variable "
                f"{self.path!r} of shape {self.value.shape}."
            )
        self.value[...] = value

    def assign_add(self, value: Any) -> None:
        """Add `value` in place."""
        self.value += unwrap(value)

    def assign_sub(self, value: Any) -> None:
        """Subtract `value` in place."""
        self.value -= unwrap(value)

    def __repr__(self) -> str:
        return f"<Variable path={self.path} shape={self.shape} dtype={self.dtype}>"


def unwrap(x: Any) -> Any:
    """Return the NumPy array behind a tensor, or `x` unchanged."""
    return x.value if isinstance(x, Tensor) else x


def convert_to_tensor(x: Any, dtype: Any = None) -> Tensor:
    """Return `x` as a `Tensor`; NumPy floats become `floatx()` unless `dtype` says otherwise."""
    if isinstance(x, Tensor):
        if dtype is not None and x.dtype != np.dtype(dtype):
            from engine.ops import numpy as onp

            return onp.cast(x, dtype)
        return x
    arr = np.asarray(x)
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif arr.dtype.kind == "f" and arr.dtype != np.dtype(floatx()):
        arr = arr.astype(floatx())
    return Tensor(arr)


class GradientTape:
    """Records ops so that gradients can be computed by reverse-mode autodiff.

    Trainable variables are watched automatically; other tensors with `watch`.

    Args:
        persistent: keep the entries after `gradient`, so it can be called again.

    Example:
        >>> w = Variable(np.array([2.0, 3.0]))
        >>> with GradientTape() as tape:
        ...     y = ops.sum(w * w)
        >>> tape.gradient(y, [w])[0]
        array([4., 6.], dtype=float32)
    """

    def __init__(self, persistent: bool = False) -> None:
        self.persistent = persistent
        self._entries: list[tuple[Tensor, tuple[Any, ...], tuple[bool, ...], VJP]] = []
        self._recording = False

    def __enter__(self) -> GradientTape:
        _tape_stack().append(self)
        self._recording = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._recording = False
        stack = _tape_stack()
        if stack and stack[-1] is self:
            stack.pop()
        else:
            stack.remove(self)

    def watch(self, tensors: Tensor | Iterable[Tensor]) -> None:
        """Track gradients with respect to plain tensors too."""
        for t in [tensors] if isinstance(tensors, Tensor) else tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch takes tensors, got {type(t).__name__}.")
            t._tracked = True

    def gradient(
        self,
        target: Tensor,
        sources: Sequence[Tensor] | Tensor,
        output_gradients: Any = None,
    ) -> Any:
        """Return d(target)/d(source) for each source (None where unconnected).

        Args:
            target: the tensor to differentiate, usually a scalar loss.
            sources: a tensor or a list of tensors.
            output_gradients: the upstream gradient; ones when omitted.
        """
        single = isinstance(sources, Tensor)
        src = [sources] if single else list(sources)
        if output_gradients is None:
            seed = np.ones_like(target.value)
        else:
            seed = np.asarray(unwrap(output_gradients), dtype=target.dtype)
        keep = {id(s) for s in src}
        grads: dict[int, np.ndarray] = {id(target): seed}
        for out, parents, needs, vjp in reversed(self._entries):
            key = id(out)
            g = grads.get(key) if key in keep else grads.pop(key, None)
            if g is None:
                continue
            for parent, need, pg in zip(parents, needs, vjp(g, needs)):
                if not need or pg is None:
                    continue
                pk = id(parent)
                prev = grads.get(pk)
                grads[pk] = pg if prev is None else prev + pg
        if not self.persistent:
            self._entries = []
        result = [grads.get(id(s)) for s in src]
        return result[0] if single else result


def recording() -> bool:
    """Whether a gradient tape is recording right now."""
    stack = _tape_stack()
    return bool(stack) and stack[-1]._recording


class stop_recording:
    """Suspend every active tape inside the block (inference inside training)."""

    def __enter__(self) -> None:
        self._saved = list(_tape_stack())
        _tape_stack().clear()

    def __exit__(self, *exc: object) -> None:
        _tape_stack().extend(self._saved)


def record(value: np.ndarray, parents: tuple[Any, ...], vjp: VJP) -> Tensor:
    """Wrap `value` as the output of an op and record it on the active tapes.

    Args:
        value: the op's output array.
        parents: the op's inputs (tensors or plain arrays/scalars).
        vjp: `vjp(g, needs)` returns one gradient per parent; `needs[i]` says
            whether parent i wants one, so work for the others can be skipped.
    """
    out = Tensor(value)
    stack = _tape_stack()
    if not stack:
        return out
    needs = tuple(isinstance(p, Tensor) and p._tracked for p in parents)
    if not any(needs):
        return out
    out._tracked = True
    entry = (out, parents, needs, vjp)
    for tape in stack:
        if tape._recording:
            tape._entries.append(entry)
    return out
