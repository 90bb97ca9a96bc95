"""engine: a pure-NumPy deep-learning engine with the Keras API.

Change `keras` to `engine` in a Keras script's imports and it runs here.
Submodules load on first use, so `import engine` stays fast.

Example:
    >>> import engine
    >>> model = engine.Sequential([engine.layers.Dense(10, activation="softmax")])
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "activations",
    "backend",
    "callbacks",
    "constraints",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "optimizers",
    "regularizers",
    "saving",
    "utils",
)

_ATTRIBUTES = {
    "GradientTape": "engine.backend.tensor",
    "Variable": "engine.backend.tensor",
    "Input": "engine.layers",
    "Layer": "engine.layers",
    "Model": "engine.models",
    "Sequential": "engine.models",
    "load_model": "engine.models",
    "register_keras_serializable": "engine.saving",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"engine.{name}")
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBMODULES, *_ATTRIBUTES])


__all__ = [*_SUBMODULES, *_ATTRIBUTES]
