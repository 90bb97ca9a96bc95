"""Fixtures shared by the engine tests."""

from __future__ import annotations

import pytest

from engine.ops import batch_parallel


@pytest.fixture
def forced_split(monkeypatch):
    """Three engine threads, every call large enough to split, chunks of one item.

    A test can change the thread count with `batch_parallel.set_split_threads`;
    the count it had is restored afterwards.
    """
    monkeypatch.setattr(batch_parallel, "MIN_PARALLEL_FLOPS", 0)
    monkeypatch.setattr(batch_parallel, "MIN_SPLIT_FLOPS", 0)
    monkeypatch.setattr(batch_parallel, "CHUNK_BYTES", 1)
    saved = batch_parallel.split_threads()
    batch_parallel.set_split_threads(3)
    yield
    batch_parallel.set_split_threads(saved)
