"""Walking nested structures of lists, tuples and dicts (inputs, outputs, logs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def is_nested(x: Any) -> bool:
    """Whether `x` is a list, tuple or dict."""
    return isinstance(x, (list, tuple, dict))


def flatten(structure: Any) -> list[Any]:
    """The leaves of `structure` in order (dicts by sorted key, as Keras does)."""
    if isinstance(structure, dict):
        return [leaf for k in sorted(structure) for leaf in flatten(structure[k])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    """Apply `fn` to every leaf, keeping the nesting."""
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, v) for v in structure)
    if isinstance(structure, list):
        return [map_structure(fn, v) for v in structure]
    return fn(structure)


def pack_sequence_as(structure: Any, flat: list[Any]) -> Any:
    """Rebuild `structure` with the leaves taken from `flat` in order."""
    it = iter(flat)

    def take(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: take(node[k]) for k in sorted(node)}
        if isinstance(node, tuple):
            return tuple(take(v) for v in node)
        if isinstance(node, list):
            return [take(v) for v in node]
        return next(it)

    packed = take(structure)
    if isinstance(structure, dict):
        packed = {k: packed[k] for k in structure}
    return packed
