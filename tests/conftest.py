"""Shared fixtures: float64 mode for gradient checks, fresh names and seeds per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.backend import config, naming
from engine.backend import random as engine_random


@pytest.fixture
def float64() -> Iterator[None]:
    """Run a test with floatx float64 (for numerical gradient checks)."""
    previous = config.floatx()
    config.set_floatx("float64")
    try:
        yield
    finally:
        config.set_floatx(previous)


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    naming.clear_session()
    engine_random.set_seed(1234)
    yield
    config.set_floatx("float32")
