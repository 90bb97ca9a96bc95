"""Differentiable ops over NumPy arrays, mirroring `keras.ops`.

Example:
    >>> from engine import ops
    >>> y = ops.relu(ops.matmul(x, w) + b)
"""

from engine.backend.tensor import convert_to_tensor
from engine.ops.conv import *  # noqa: F403
from engine.ops.conv import __all__ as _conv_all
from engine.ops.linalg import dense, residual_feed_forward
from engine.ops.nn import *  # noqa: F403
from engine.ops.nn import __all__ as _nn_all
from engine.ops.normalization import *  # noqa: F403
from engine.ops.normalization import __all__ as _norm_all
from engine.ops.numpy import *  # noqa: F403
from engine.ops.numpy import __all__ as _np_all
from engine.ops.pooling import *  # noqa: F403
from engine.ops.pooling import __all__ as _pool_all

__all__ = [
    "convert_to_tensor",
    "dense",
    "residual_feed_forward",
    *_np_all,
    *_nn_all,
    *_norm_all,
    *_conv_all,
    *_pool_all,
]
