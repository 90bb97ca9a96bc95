"""Backend: numeric configuration, tensors, variables and the gradient tape."""

from engine._allocator import tune_allocator
from engine.backend.config import epsilon, floatx, set_epsilon, set_floatx, standardize_dtype
from engine.backend.keras_tensor import KerasTensor, is_keras_tensor
from engine.backend.naming import clear_session
from engine.backend.tensor import (
    GradientTape,
    Tensor,
    Variable,
    convert_to_tensor,
    record,
    recording,
    stop_recording,
    unwrap,
)


def is_tensor(x: object) -> bool:
    """Whether `x` is an engine tensor."""
    return isinstance(x, Tensor)


# Every engine computation imports the backend first: see engine._allocator.
tune_allocator()

__all__ = [
    "GradientTape",
    "KerasTensor",
    "Tensor",
    "Variable",
    "clear_session",
    "convert_to_tensor",
    "epsilon",
    "floatx",
    "is_keras_tensor",
    "is_tensor",
    "record",
    "recording",
    "set_epsilon",
    "set_floatx",
    "standardize_dtype",
    "stop_recording",
    "unwrap",
]
