"""Layer fusion: adjacent layers a model may run as one op, with results unchanged.

`Conv2D(..., activation="relu")` followed by `MaxPooling2D(2)` is the core of
most image classifiers. Run as two layers, the full-size activation is written
to memory by the convolution, read back by the pool, and its gradient built at
full size again in the backward pass. `ops.conv_relu_max_pool` pools each chunk
while it is in cache instead (measured on the CIFAR-10 CNN: see the op), with
results equal to the separate layers. Models fuse a pair only when nothing can
observe the difference: both layers are exactly those classes (not
subclasses), built, and not patched; no activity regularizer; an ungrouped
channels-last convolution; a 2x2, stride-2, "valid" pool; an input without a
mask. `fusion_disabled()` turns fusion off, e.g. to compare or to debug.

Example:
    >>> with fusion_disabled():
    ...     unfused = model.predict(x)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from engine.backend.keras_tensor import KerasTensor
from engine.layers.convolutional.base_conv import fused_activation
from engine.layers.convolutional.conv2d import Conv2D
from engine.layers.layer import Layer, _to_tensor
from engine.layers.pooling.max_pooling2d import MaxPooling2D
from engine.ops.conv import conv_relu_max_pool

_state = threading.local()


def fusion_enabled() -> bool:
    """Whether models fuse layer pairs in this thread (on unless `fusion_disabled`)."""
    return getattr(_state, "disabled", 0) == 0


@contextlib.contextmanager
def fusion_disabled() -> Iterator[None]:
    """Run every layer on its own inside the block (results are the same, only slower)."""
    _state.disabled = getattr(_state, "disabled", 0) + 1
    try:
        yield
    finally:
        _state.disabled -= 1


def _plain(layer: Layer, cls: type) -> bool:
    return (
        type(layer) is cls
        and layer.built
        and "call" not in layer.__dict__
        and layer.activity_regularizer is None
    )


def can_fuse(first: Layer, second: Layer, inputs: Any) -> bool:
    """Whether `second(first(inputs))` may run as `conv_relu_max_pool`."""
    if not fusion_enabled() or not (_plain(first, Conv2D) and _plain(second, MaxPooling2D)):
        return False
    if isinstance(inputs, KerasTensor) or getattr(inputs, "_keras_mask", None) is not None:
        return False
    shape = getattr(inputs, "shape", None)
    if shape is None or len(shape) != 4 or shape[-1] != first.kernel.value.shape[-2]:
        return False
    try:
        out_shape = first.compute_output_shape(shape)
    except ValueError:
        return False  # the layer on its own raises its own message
    return (
        first.groups == 1
        and fused_activation(first.activation) == "relu"
        and second.pool_size == (2, 2)
        and second.strides == (2, 2)
        and second.padding == "valid"
        and all(size >= 2 for size in out_shape[1:3])
    )


def fused_call(first: Layer, second: Layer, inputs: Any) -> Any:
    """`second(first(inputs))` as one op; call only when `can_fuse` says so."""
    return conv_relu_max_pool(
        _to_tensor(inputs),
        first.kernel,
        first.bias,
        strides=first.strides,
        padding=first.padding,
        dilation_rate=first.dilation_rate,
    )


__all__ = ["can_fuse", "fused_call", "fusion_disabled", "fusion_enabled"]
