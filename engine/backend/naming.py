"""Unique default names for layers and models, as Keras gives them."""

from __future__ import annotations

import re
from collections import defaultdict

_counts: dict[str, int] = defaultdict(int)


def to_snake_case(name: str) -> str:
    """`"Conv2DTranspose"` -> `"conv2d_transpose"`."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(base: str) -> str:
    """Return `base`, then `base_1`, `base_2`, ... on later calls."""
    n = _counts[base]
    _counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def clear_session() -> None:
    """Reset the default-name counters, so new layers are named `dense`, `dense_1`, ... again."""
    _counts.clear()
