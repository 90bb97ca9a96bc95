"""Layer fusion: adjacent layers a model may run as one op, with results unchanged.

`Conv2D(..., activation="relu")` followed by `MaxPooling2D(2)` is the core of
most image classifiers. Run as two layers, the full-size activation is written
to memory by the convolution, read back by the pool, and its gradient built at
full size again in the backward pass. `ops.conv_relu_max_pool` pools each chunk
while it is in cache instead (measured on the CIFAR-10 CNN: see the op), with
results equal to the separate layers.

A Transformer block's residual `Add` followed by `LayerNormalization` is the
other pair: `ops.add_layer_normalization` sums each chunk of rows inside the
normalization, so the full-size sum is never written and read back (its
results equal the two layers', bit for bit).

A Transformer block's feed-forward sublayer, `Dense(units, relu)` then
`Dense(d)`, the residual `Add` of the sublayer's input and `LayerNormalization`,
is a chain of four: `ops.residual_feed_forward` runs each chunk of rows through
all four while it is in cache, on one hand-off to the threads each way. It
computes what the layers compute, row by row: in one chunk the results are
the layers' bit for bit. Over several chunks the weight gradients are summed
in other groups, BLAS may round a small block of rows otherwise than a large
one, and the gradient of a chain input that other layers also read is added
up in another order: results then agree to float rounding.

Models fuse layers only when nothing can observe the difference: both layers
are exactly those classes (not subclasses), built, and not patched; no
activity regularizer; inputs without masks; an ungrouped channels-last
convolution and a 2x2, stride-2, "valid" pool; inputs of one shape and one
float32 or float64 dtype, normalized over their last axes without
`rms_scaling`; for the feed-forward chain, a first `Dense` that is linear or
relu, a linear second one, inputs and weights of one float32 or float64
dtype, and a normalization over the last axis only. `fusion_disabled()` turns
fusion off, e.g. to compare or to debug.

Example:
    >>> with fusion_disabled():
    ...     unfused = model.predict(x)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from engine import activations
from engine.backend.keras_tensor import KerasTensor
from engine.backend.tensor import unwrap
from engine.layers.convolutional.base_conv import fused_activation
from engine.layers.convolutional.conv2d import Conv2D
from engine.layers.core.dense import Dense
from engine.layers.layer import Layer, _to_tensor
from engine.layers.merging.add import Add
from engine.layers.normalization.layer_normalization import LayerNormalization
from engine.layers.pooling.max_pooling2d import MaxPooling2D
from engine.ops.conv import conv_relu_max_pool
from engine.ops.linalg import residual_feed_forward
from engine.ops.normalization import add_layer_normalization

# The (first, second) layer classes that can fuse, when `can_fuse` agrees for the inputs.
FUSABLE_TYPES = frozenset({(Conv2D, MaxPooling2D), (Add, LayerNormalization)})
# The layer classes of a feed-forward chain, in order, when `can_fuse_feed_forward` agrees.
FEED_FORWARD_TYPES = (Dense, Dense, Add, LayerNormalization)

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
    """Whether `second(first(inputs))` may run as one op (`fused_call`)."""
    if not fusion_enabled():
        return False
    if _plain(first, Conv2D) and _plain(second, MaxPooling2D):
        return _conv_pool_fuses(first, second, inputs)
    if _plain(first, Add) and _plain(second, LayerNormalization):
        return _add_norm_fuses(second, inputs)
    return False


def _conv_pool_fuses(first: Conv2D, second: MaxPooling2D, inputs: Any) -> bool:
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


def _eager_array(x: Any) -> np.ndarray | None:
    """The NumPy array behind an eager, unmasked input; None for anything else."""
    if isinstance(x, KerasTensor) or getattr(x, "_keras_mask", None) is not None:
        return None
    a = unwrap(x)
    return a if isinstance(a, np.ndarray) else None


def _add_norm_fuses(norm: LayerNormalization, inputs: Any) -> bool:
    if not isinstance(inputs, (list, tuple)) or len(inputs) < 2 or norm.rms_scaling:
        return False
    arrays = [_eager_array(x) for x in inputs]
    if any(a is None for a in arrays):
        return False
    first = arrays[0]
    if first.dtype not in (np.float32, np.float64) or any(
        a.shape != first.shape or a.dtype != first.dtype for a in arrays
    ):
        return False
    ndim = first.ndim
    axes = sorted(a % ndim for a in norm.axis) if ndim else []
    return bool(axes) and axes == list(range(ndim - len(axes), ndim))


def can_fuse_feed_forward(chain: Sequence[Layer], inputs: Any) -> bool:
    """Whether `Dense -> Dense -> Add (with inputs) -> LayerNormalization`, the layers of
    `chain` in that order called on `inputs`, may run as one op (`feed_forward_call`)."""
    if not fusion_enabled() or len(chain) != 4:
        return False
    first, second, _, norm = chain
    if not all(_plain(layer, cls) for layer, cls in zip(chain, FEED_FORWARD_TYPES)):
        return False
    x = _eager_array(inputs)
    if x is None or x.dtype not in (np.float32, np.float64) or x.ndim < 1:
        return False
    if first.activation not in (activations.linear, activations.relu):
        return False
    if second.activation is not activations.linear or norm.rms_scaling:
        return False
    d = x.shape[-1]
    if first.kernel.value.shape[0] != d or second.units != d:
        return False
    if [a % x.ndim for a in norm.axis] != [x.ndim - 1]:
        return False
    weights = [first.kernel, first.bias, second.kernel, second.bias, norm.gamma, norm.beta]
    return all(w is None or w.value.dtype == x.dtype for w in weights)


def feed_forward_call(chain: Sequence[Layer], inputs: Any) -> Any:
    """The chain's output as one op; call only when `can_fuse_feed_forward` says so."""
    first, second, _, norm = chain
    return residual_feed_forward(
        _to_tensor(inputs),
        first.kernel,
        first.bias,
        second.kernel,
        second.bias,
        norm.gamma,
        norm.beta,
        epsilon=norm.epsilon,
        activation="relu" if first.activation is activations.relu else None,
    )


def fused_call(first: Layer, second: Layer, inputs: Any) -> Any:
    """`second(first(inputs))` as one op; call only when `can_fuse` says so."""
    if type(first) is Add:
        return add_layer_normalization(
            [_to_tensor(x) for x in inputs],
            second.gamma,
            second.beta,
            axis=second.axis,
            epsilon=second.epsilon,
        )
    return conv_relu_max_pool(
        _to_tensor(inputs),
        first.kernel,
        first.bias,
        strides=first.strides,
        padding=first.padding,
        dilation_rate=first.dilation_rate,
    )


__all__ = [
    "FEED_FORWARD_TYPES",
    "FUSABLE_TYPES",
    "can_fuse",
    "can_fuse_feed_forward",
    "feed_forward_call",
    "fused_call",
    "fusion_disabled",
    "fusion_enabled",
]
