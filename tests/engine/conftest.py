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


@pytest.fixture
def fused_calls(monkeypatch):
    """The fused ops models call, in order: the number of inputs of each
    `add_layer_normalization`, "feed-forward" for each `residual_feed_forward`."""
    from engine.models import fusion

    calls: list = []
    add_norm, feed_forward = fusion.add_layer_normalization, fusion.residual_feed_forward

    def spy_add_norm(inputs, *args, **kwargs):
        calls.append(len(inputs))
        return add_norm(inputs, *args, **kwargs)

    def spy_feed_forward(*args, **kwargs):
        calls.append("feed-forward")
        return feed_forward(*args, **kwargs)

    monkeypatch.setattr(fusion, "add_layer_normalization", spy_add_norm)
    monkeypatch.setattr(fusion, "residual_feed_forward", spy_feed_forward)
    return calls
