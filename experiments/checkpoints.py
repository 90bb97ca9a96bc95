"""What a checkpoint holds, and putting it back into a model to resume training.

A checkpoint is three parts, as the store keeps them: the model's weights
(`.npz` bytes of `model.get_weights()`), the optimizer's variables (`.npz`
bytes, in `optimizer.variables` order: iterations, learning rate, slots), and a
JSON state: the epoch, the global step, whether the epoch was complete, the
engine's global random state and the state of every seeded generator held by a
layer. Restoring all of it after a complete epoch lets training continue exactly
as an uninterrupted run would (same shuffles, same dropout masks, same updates).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.backend import random as engine_random
from engine.backend.random import SeedGenerator
from experiments.store.npz import arrays_to_npz, npz_to_arrays

STATE_VERSION = 1


@dataclass(frozen=True)
class CheckpointParts:
    """The three parts of a checkpoint, ready for `Store.save_checkpoint`.

    Args:
        weights: `.npz` bytes of `model.get_weights()`.
        optimizer_state: `.npz` bytes of the optimizer's variables (None before it is built).
        state: JSON-ready resume state.

    Example:
        >>> parts = capture(model, epoch=2, step=32, complete=True)
        >>> parts.state["epoch"]
        2
    """

    weights: bytes
    optimizer_state: bytes | None
    state: dict[str, Any]


def _seeded_generators(model: Any) -> Iterator[tuple[str, np.random.Generator]]:
    """`(key, generator)` of each seeded `SeedGenerator` held by the model's layers.

    Keys are paths of sublayer indices and attribute names, not layer names, so
    a model rebuilt in another process matches the one that saved them.
    """
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [("", model)]
    while stack:
        prefix, layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        for attr, value in sorted(vars(layer).items()):
            # A seeded SeedGenerator owns its generator; an unseeded one follows the global one.
            if isinstance(value, SeedGenerator) and value.seed is not None:
                yield f"{prefix}{attr}", value.generator
        for i, sub in reversed(list(enumerate(getattr(layer, "_layers", [])))):
            stack.append((f"{prefix}{i}/", sub))


def _rng_json(state: dict[str, Any]) -> str:
    # Generator states hold 128-bit integers; as JSON text they survive any database's JSON type.
    return json.dumps(state)


def capture(
    model: Any, *, epoch: int, step: int, complete: bool, batch: int = 0
) -> CheckpointParts:
    """A checkpoint of a model, its optimizer and the random state, as they are now.

    Args:
        model: a compiled, built model.
        epoch: the 1-based epoch the weights belong to.
        step: the run's global batch counter.
        complete: whether `epoch` finished (a run resumes only from complete epochs;
            a cancelled run also saves where it stopped inside an epoch).
        batch: batches done in `epoch` when it is not complete.
    """
    optimizer = getattr(model, "optimizer", None)
    opt_vars = list(optimizer.variables) if optimizer is not None and optimizer.built else []
    state = {
        "version": STATE_VERSION,
        "epoch": epoch,
        "step": step,
        "complete": complete,
        "batch": batch,
        "optimizer": type(optimizer).__name__ if optimizer is not None else None,
        "optimizer_variables": len(opt_vars),
        # The input shape lets an export rebuild the model without loading the data.
        "input_shapes": [list(t.shape[1:]) for t in getattr(model, "inputs", [])],
        "global_rng": _rng_json(engine_random.get_state()),
        "layer_rngs": {k: _rng_json(g.bit_generator.state) for k, g in _seeded_generators(model)},
    }
    weights = arrays_to_npz(model.get_weights())
    optimizer_state = arrays_to_npz([np.asarray(v.value) for v in opt_vars]) if opt_vars else None
    return CheckpointParts(weights, optimizer_state, state)


def restore(
    model: Any, weights: bytes, optimizer_state: bytes | None, state: dict[str, Any]
) -> None:
    """Put a checkpoint back: weights, optimizer variables and random state.

    Args:
        model: a compiled model built like the one that saved the checkpoint.
        weights: the checkpoint's weights bytes.
        optimizer_state: its optimizer bytes (None to keep a fresh optimizer).
        state: its JSON state.

    Raises:
        ValueError: the checkpoint does not fit the model or its optimizer (another
            architecture or optimizer: rerun instead of resuming).
    """
    model.set_weights(npz_to_arrays(weights))
    optimizer = getattr(model, "optimizer", None)
    if optimizer_state is not None and optimizer is not None:
        arrays = npz_to_arrays(optimizer_state)
        if state.get("optimizer") != type(optimizer).__name__:
            raise ValueError(
                f"the checkpoint holds the state of a {state.get('optimizer')} optimizer but the "
                f"model is compiled with {type(optimizer).__name__}; rerun instead of resuming"
            )
        if not optimizer.built:
            # Slot variables exist only once the optimizer is built on what it updates.
            optimizer.build(model.trainable_weights)
        optimizer.set_weights(arrays)
    engine_random.set_state(json.loads(state["global_rng"]))
    saved = state.get("layer_rngs", {})
    for key, generator in _seeded_generators(model):
        if key in saved:
            generator.bit_generator.state = json.loads(saved[key])
