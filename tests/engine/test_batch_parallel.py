"""`engine.ops.batch_parallel`: chunking, ordered results, BLAS restored, scratch reuse."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from engine.ops import batch_parallel


@pytest.fixture
def two_workers():
    saved = (batch_parallel.num_workers(), batch_parallel.MIN_PARALLEL_FLOPS)
    batch_parallel.set_num_workers(2)
    batch_parallel.MIN_PARALLEL_FLOPS = 0
    try:
        yield
    finally:
        batch_parallel.set_num_workers(saved[0])
        batch_parallel.MIN_PARALLEL_FLOPS = saved[1]


@pytest.mark.parametrize(
    "batch, item_bytes, workers",
    [(64, 224_000, 2), (64, 109_000, 2), (64, 10, 2), (3, 10**9, 2), (1, 10, 1), (7, 300_000, 4)],
)
def test_chunks_cover_the_batch_evenly(batch, item_bytes, workers):
    bounds = batch_parallel.chunk_bounds(batch, item_bytes, workers)
    assert bounds[0][0] == 0 and bounds[-1][1] == batch
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    sizes = [b - a for a, b in bounds]
    assert all(n == sizes[0] for n in sizes[:-1]) and sizes[-1] <= sizes[0]
    assert sizes[0] <= max(1, batch_parallel.CHUNK_BYTES // item_bytes)
    assert len(bounds) >= min(batch, workers)


def test_map_chunks_runs_on_the_pool_in_order_and_restores_blas(two_workers):
    controllers = batch_parallel._blas_controllers()
    if not controllers:
        pytest.skip("threadpoolctl found no BLAS to control")
    before = [c.num_threads for c in controllers]
    seen_threads, seen_blas = set(), set()

    def work(a: int, b: int) -> tuple[int, int]:
        seen_threads.add(threading.current_thread().name)
        seen_blas.update(c.num_threads for c in controllers)
        return a, b

    results = batch_parallel.map_chunks(work, 64, bytes_per_item=1 << 20, flops=1e9)
    assert results == batch_parallel.chunk_bounds(64, 1 << 20, 2)
    assert all(name.startswith("engine-batch") for name in seen_threads)
    assert seen_blas == {1}
    assert [c.num_threads for c in controllers] == before


def test_small_work_runs_inline():
    names = set()
    batch_parallel.map_chunks(
        lambda a, b: names.add(threading.current_thread().name), 8, bytes_per_item=8, flops=10
    )
    assert names == {threading.current_thread().name}


def test_nested_calls_run_inline_instead_of_deadlocking(two_workers):
    def inner(a: int, b: int) -> str:
        return threading.current_thread().name

    def outer(a: int, b: int) -> list[str]:
        return batch_parallel.map_chunks(inner, 4, bytes_per_item=1 << 20, flops=1e9)

    box: dict[str, list] = {}
    caller = threading.Thread(
        target=lambda: box.update(
            results=batch_parallel.map_chunks(outer, 4, bytes_per_item=1 << 20, flops=1e9)
        ),
        daemon=True,
    )
    caller.start()
    caller.join(timeout=20)
    assert not caller.is_alive(), "nested map_chunks deadlocked on the pool"
    for names in box["results"]:
        assert len(set(names)) == 1 and names[0].startswith("engine-batch")


def test_errors_propagate_from_workers(two_workers):
    def work(a: int, b: int) -> None:
        raise RuntimeError(f"chunk {a}")

    with pytest.raises(RuntimeError, match="chunk"):
        batch_parallel.map_chunks(work, 8, bytes_per_item=1 << 20, flops=1e9)


def test_scratch_is_reused_per_slot_and_thread():
    a = batch_parallel.scratch("test_slot", (4, 5), np.float32)
    b = batch_parallel.scratch("test_slot", (2, 3), np.float64)
    assert a.shape == (4, 5) and b.dtype == np.float64
    assert np.shares_memory(a, b)
    other = batch_parallel.scratch("test_other", (4, 5), np.float32)
    assert not np.shares_memory(a, other)
    box = {}
    thread = threading.Thread(
        target=lambda: box.update(arr=batch_parallel.scratch("test_slot", (4, 5), np.float32))
    )
    thread.start()
    thread.join()
    assert not np.shares_memory(a, box["arr"])


def test_set_num_workers_rejects_non_positive():
    with pytest.raises(ValueError, match="positive integer"):
        batch_parallel.set_num_workers(0)


def test_a_forked_child_gets_a_fresh_pool(two_workers):
    multiprocessing = pytest.importorskip("multiprocessing")
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    batch_parallel.map_chunks(lambda a, b: None, 8, bytes_per_item=1 << 20, flops=1e9)
    child = multiprocessing.get_context("fork").Process(target=_chunked_sum_in_child)
    child.start()
    child.join(timeout=20)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung on the parent's thread pool")
    assert child.exitcode == 0


def _chunked_sum_in_child() -> None:
    parts = batch_parallel.map_chunks(lambda a, b: b - a, 8, bytes_per_item=1 << 20, flops=1e9)
    raise SystemExit(0 if sum(parts) == 8 else 1)


def test_ops_run_inline_unless_asked_for_threads(monkeypatch):
    monkeypatch.setattr(batch_parallel, "_workers", None)
    assert batch_parallel.num_workers() == 1
    calls = []
    batch_parallel.map_chunks(lambda a, b: calls.append(threading.current_thread()), 64, 10, 1e12)
    assert set(calls) == {threading.main_thread()}


def test_split_elementwise_covers_the_batch_once_on_several_threads():
    saved = batch_parallel.split_threads()
    try:
        batch_parallel.set_split_threads(3)
        seen = np.zeros(10, int)
        threads = set()

        def work(a, b):
            seen[a:b] += 1
            threads.add(threading.get_ident())

        batch_parallel.split_elementwise(work, 10)
        assert seen.tolist() == [1] * 10
        assert len(threads) >= 2 and threading.get_ident() in threads
        with pytest.raises(ZeroDivisionError):
            batch_parallel.split_elementwise(lambda a, b: 1 / 0 if a else None, 10)
        batch_parallel.set_split_threads(1)
        threads.clear()
        batch_parallel.split_elementwise(work, 10)
        assert threads == {threading.get_ident()}
        with pytest.raises(ValueError, match="positive integer"):
            batch_parallel.set_split_threads(0)
    finally:
        batch_parallel.set_split_threads(saved)


def test_split_threads_default_follows_blas_threads(monkeypatch):
    class Controller:
        def __init__(self, threads):
            self.num_threads = threads

    for blas, cpus, expected in ((1, 8, 1), (2, 2, 2), (16, 8, 4), (8, 2, 2)):
        monkeypatch.setattr(batch_parallel, "_split_threads", None)
        monkeypatch.setattr(batch_parallel, "_blas", [Controller(blas)])
        monkeypatch.setattr(batch_parallel.os, "cpu_count", lambda cpus=cpus: cpus)
        assert batch_parallel.split_threads() == expected
    monkeypatch.setattr(batch_parallel, "_split_threads", None)
    monkeypatch.setattr(batch_parallel, "_blas", [])
    assert batch_parallel.split_threads() == 1


def test_map_chunks_split_runs_chunks_in_order_on_threads_with_blas_held(monkeypatch):
    controllers = batch_parallel._blas_controllers()
    before = [c.num_threads for c in controllers]
    monkeypatch.setattr(batch_parallel, "MIN_PARALLEL_FLOPS", 0)
    saved = batch_parallel.split_threads()
    try:
        batch_parallel.set_split_threads(2)
        seen_threads, seen_blas = set(), set()
        covered = np.zeros(64, int)

        def work(a: int, b: int) -> tuple[int, int]:
            seen_threads.add(threading.current_thread().name)
            seen_blas.update(c.num_threads for c in controllers)
            covered[a:b] += 1
            return a, b

        results = batch_parallel.map_chunks_split(work, 64, bytes_per_item=1 << 20, flops=1e9)
        assert results == batch_parallel.chunk_bounds(64, 1 << 20, 2)
        assert covered.tolist() == [1] * 64
        assert threading.main_thread().name in seen_threads
        assert any(name.startswith("engine-split") for name in seen_threads)
        if controllers:
            assert seen_blas == {1}
            assert [c.num_threads for c in controllers] == before
        with pytest.raises(ZeroDivisionError):
            batch_parallel.map_chunks_split(lambda a, b: 1 / a, 64, 1 << 20, 1e9)
        assert [c.num_threads for c in controllers] == before
        # Small work, and one split thread, run inline on the caller.
        seen_threads.clear()
        monkeypatch.setattr(batch_parallel, "MIN_PARALLEL_FLOPS", 4e6)
        batch_parallel.map_chunks_split(work, 64, 1 << 20, flops=1e6)
        batch_parallel.set_split_threads(1)
        batch_parallel.map_chunks_split(work, 64, 1 << 20, flops=1e9)
        assert seen_threads == {threading.main_thread().name}
    finally:
        batch_parallel.set_split_threads(saved)
