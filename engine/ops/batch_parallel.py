"""Run the per-chunk work of a batched op on a small thread pool, BLAS held at one thread.

NumPy's element-wise work (im2col copies, col2im adds, bias adds) runs on one
core, and BLAS's own threads spin and stall when a core is busy elsewhere. A
batched op instead splits its batch into chunks small enough to stay in cache
and runs the chunks on a pool of threads (NumPy and BLAS release the GIL), each
calling BLAS single-threaded, so copies and GEMMs alike use every core.

Example:
    >>> out = np.empty((64, 10), "float32")
    >>> def work(start, stop):
    ...     np.matmul(x[start:stop], w, out=out[start:stop])
    >>> map_chunks(work, 64, bytes_per_item=x[0].nbytes, flops=2 * x.size * 10)
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

# A chunk's scratch (its im2col matrix and gradient blocks): about two L2 caches of this
# machine; on the thread pool the CIFAR-10 CNN ran 0.81x PyTorch with 1 MB chunks, 0.86x
# with 2 MB and 0.92x with 4 MB (inline, chunk size barely matters).
CHUNK_BYTES = 4 << 20
# Below this many floating-point operations a call runs inline: handing work to
# the pool costs tens of microseconds.
MIN_PARALLEL_FLOPS = 4e6
# `split_work` splits only GEMMs above this: waking an idle core costs 100-300 us
# on a VM, measured on 2 cores with BLAS at one thread: a 128x784x256 GEMM took
# 762 us whole and 473 us split by rows; a 64x1024x64 one 136 us whole, 431 us split.
MIN_SPLIT_FLOPS = 2e7
# Scratch buffers larger than this are not kept between calls.
_MAX_CACHED_SCRATCH = 64 << 20

_lock = threading.Lock()
_local = threading.local()
_pool: ThreadPoolExecutor | None = None
# Threads for element-wise work only (no BLAS calls), next to BLAS's own threads.
_split_pool: ThreadPoolExecutor | None = None
_split_threads: int | None = None
_workers: int | None = None
_blas: list[Any] | None = None
_blas_depth = 0
_blas_saved: list[int] = []


def num_workers() -> int:
    """The number of threads batched ops split their work over (1 unless `set_num_workers`).

    Inline (1) is the default because it wins on an idle machine, measured on
    the CIFAR-10 CNN against PyTorch in one process: fit 0.81x inline vs 0.64x
    on a 2-thread pool, predict 1.18x vs 0.92x. On a machine whose cores are
    busy with other work the pool wins instead (fit 0.92x vs 0.71x at load 3
    on 2 cores), because BLAS's own threads stall waiting for each other;
    `set_num_workers(2)` is then the better choice.
    """
    global _workers
    if _workers is None:
        _workers = 1
    return _workers


def set_num_workers(count: int) -> None:
    """Use `count` threads for batched ops from now on (1 runs everything inline).

    Args:
        count: a positive number of threads.
    """
    global _workers, _pool
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"set_num_workers needs a positive integer, got {count!r}.")
    with _lock:
        _workers = count if count == 1 or _blas_controllers() else 1
        if _pool is not None:
            _pool.shutdown(wait=True)
            _pool = None


def _blas_controllers() -> list[Any]:
    # Without threadpoolctl BLAS cannot be held at one thread, and pool threads
    # each running multi-threaded BLAS would oversubscribe the cores.
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _blas = []
        else:
            _blas = list(ThreadpoolController().select(user_api="blas").lib_controllers)
    return _blas


class _SingleThreadedBlas:
    """Hold BLAS at one thread; nested and concurrent uses restore it once, at the end."""

    def __enter__(self) -> None:
        global _blas_depth, _blas_saved
        with _lock:
            if _blas_depth == 0:
                controllers = _blas_controllers()
                _blas_saved = [c.num_threads for c in controllers]
                for c in controllers:
                    c.set_num_threads(1)
            _blas_depth += 1

    def __exit__(self, *exc: object) -> None:
        global _blas_depth
        with _lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                for c, n in zip(_blas_controllers(), _blas_saved):
                    c.set_num_threads(n)


def single_threaded_blas() -> contextlib.AbstractContextManager[None]:
    """Hold BLAS at one thread inside the block (nested and concurrent uses are fine).

    For long runs of small GEMMs, such as a recurrent layer's one per timestep:
    a 64x64 by 64x256 GEMM takes 18.7 us on one thread and 20.6 us on two here,
    and when the other core is busy a threaded call waits for it (up to 0.75 ms
    was seen for that GEMM beside another process).
    """
    return _SingleThreadedBlas()


def _after_fork_in_child() -> None:
    # A forked child has none of the parent's pool threads (submitting to the
    # old executor would wait forever) and may inherit a held lock.
    global _pool, _split_pool, _lock, _blas_depth
    _pool = None
    _split_pool = None
    _lock = threading.Lock()
    # Its scope's BLAS setting is undone below; the child starts outside any scope.
    _local.scope = False
    if _blas_depth:
        for c, n in zip(_blas_controllers(), _blas_saved):
            c.set_num_threads(n)
    _blas_depth = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _mark_worker() -> None:
    _local.worker = True


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                num_workers(), thread_name_prefix="engine-batch", initializer=_mark_worker
            )
        return _pool


def chunk_bounds(batch: int, bytes_per_item: int, workers: int) -> list[tuple[int, int]]:
    """Split `range(batch)` into near-equal cache-sized chunks, a multiple of `workers` of them.

    Args:
        batch: the number of items.
        bytes_per_item: the scratch memory one item's work needs.
        workers: the number of threads that will share the chunks.
    """
    count = -(-batch // max(1, CHUNK_BYTES // max(1, bytes_per_item)))
    count = min(batch, -(-count // workers) * workers)
    size = -(-batch // max(1, count))
    return [(start, min(start + size, batch)) for start in range(0, batch, size)]


def map_chunks(
    fn: Callable[[int, int], T], batch: int, bytes_per_item: int, flops: float
) -> list[T]:
    """Call `fn(start, stop)` over chunks of a batch, in parallel when it is worth it.

    Args:
        fn: the work for items `start:stop`; it writes its own slice of any output.
        batch: the number of items.
        bytes_per_item: the scratch memory one item's work needs (sizes the chunks).
        flops: the total work, to run small calls inline.

    Returns:
        The results of `fn`, one per chunk, in order.
    """
    if in_parallel_scope():
        return map_chunks_split(fn, batch, bytes_per_item, flops)
    workers = num_workers()
    # A pool thread waiting on tasks queued behind it would deadlock: nested calls run inline.
    nested = getattr(_local, "worker", False)
    if workers == 1 or flops < MIN_PARALLEL_FLOPS or batch == 1 or nested:
        return [fn(a, b) for a, b in chunk_bounds(batch, bytes_per_item, 1)]
    bounds = chunk_bounds(batch, bytes_per_item, workers)
    if len(bounds) == 1:
        return [fn(*bounds[0])]
    pool = _get_pool()
    with _SingleThreadedBlas():
        futures = [pool.submit(fn, a, b) for a, b in bounds]
        return [f.result() for f in futures]


def split_threads() -> int:
    """How many threads `split_elementwise` uses (1 runs it inline).

    By default as many as BLAS has (so a process given one core, like a
    worker's run in a one-thread slot, stays on it), at most the CPU count and 4.
    """
    global _split_threads
    if _split_threads is None:
        with _lock:
            # BLAS's own setting: while the engine holds it at one thread, the saved one.
            counts = _blas_saved if _blas_depth else [c.num_threads for c in _blas_controllers()]
        _split_threads = max(1, min(4, max(counts, default=1), os.cpu_count() or 1))
    return _split_threads


def set_split_threads(count: int) -> None:
    """Use `count` threads for `split_elementwise` from now on (1 runs it inline).

    The next split makes a new pool. The old one is let go, not shut down: work
    that holds it on another thread (a recurrent layer's `Pipeline`) keeps
    submitting to it, and its threads exit once nothing refers to it.

    Args:
        count: a positive number of threads.
    """
    global _split_threads, _split_pool
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"set_split_threads needs a positive integer, got {count!r}.")
    with _lock:
        _split_threads = count
        _split_pool = None


def split_elementwise(fn: Callable[[int, int], None], batch: int) -> None:
    """Call `fn(start, stop)` on equal parts of a batch, one part per thread, and wait.

    For element-wise NumPy work (copies, comparisons, arithmetic; NumPy releases
    the GIL in their loops) between GEMMs that run on the whole batch with
    BLAS's own threads: `fn` must not call BLAS, and each part writes only its
    own slice. The calling thread does the first part. Runs inline inside a pool
    thread, with one thread, or for a batch of one.

    Args:
        fn: the work for items `start:stop`.
        batch: the number of items.
    """
    _split_evenly(fn, batch)


def _split_evenly(fn: Callable[[int, int], T], batch: int) -> list[T]:
    """`fn` over equal parts of a batch, one per split thread (the caller takes the first)."""
    pool, parts = _split_pool_and_parts(batch)
    if pool is None:
        return [fn(0, batch)]
    bounds = [(i * batch // parts, (i + 1) * batch // parts) for i in range(parts)]
    return _fan_out(pool, [lambda a=a, b=b: fn(a, b) for a, b in bounds])


def _fan_out(pool: ThreadPoolExecutor, calls: list[Callable[[], T]]) -> list[T]:
    """Run `calls[0]` here and the rest on `pool`; wait for all; the results in order."""
    futures = [pool.submit(call) for call in calls[1:]]
    try:
        first = calls[0]()
    finally:
        rest = [f.result() for f in futures]
    return [first, *rest]


def _split_pool_and_parts(batch: int) -> tuple[ThreadPoolExecutor | None, int]:
    """The split pool (created on first use) and how many parts to cut a batch into."""
    global _split_pool
    threads = split_threads()  # not under _lock, which split_threads takes
    parts = min(threads, batch)
    if parts <= 1 or getattr(_local, "worker", False):
        return None, 1
    with _lock:
        if _split_pool is None:
            _split_pool = ThreadPoolExecutor(
                threads - 1, thread_name_prefix="engine-split", initializer=_mark_worker
            )
        return _split_pool, parts


def map_chunks_split(
    fn: Callable[[int, int], T], batch: int, bytes_per_item: int, flops: float
) -> list[T]:
    """`map_chunks` for work whose GEMMs are too small for BLAS to thread.

    Attention's per-head products (a 100x16 by 16x100 GEMM is far below
    OpenBLAS's threading threshold) run on one core whatever BLAS's thread
    count, and so does the `exp` between them; PyTorch runs such batched work
    over all cores. This runs the cache-sized chunks on `split_threads()`
    threads, the caller taking the first share, with BLAS held at one thread
    so that a larger GEMM in a chunk does not oversubscribe the cores. The
    transformer benchmark's attention forward went from 12-17 ms to 9-10 ms.
    Arguments and result as `map_chunks`.
    """
    pool, parts = (None, 1) if flops < MIN_PARALLEL_FLOPS else _split_pool_and_parts(batch)
    bounds = chunk_bounds(batch, bytes_per_item, parts)
    if pool is None or len(bounds) == 1:
        return [fn(a, b) for a, b in bounds]
    parts = min(parts, len(bounds))
    shares = [
        bounds[i * len(bounds) // parts : (i + 1) * len(bounds) // parts] for i in range(parts)
    ]
    with _SingleThreadedBlas():
        results = _fan_out(
            pool, [lambda share=share: [fn(a, b) for a, b in share] for share in shares]
        )
    return [r for share in results for r in share]


@contextlib.contextmanager
def parallel_scope() -> Iterator[None]:
    """Run the engine work inside with BLAS at one thread and the engine's threads doing the rest.

    OpenBLAS's worker threads spin on their cores for a while after each
    threaded GEMM; NumPy work on other threads in that time (the engine's
    chunked ops, attention, im2col) waits for a core. Measured in one process on
    2 cores: the CIFAR-10 CNN's training step went from 50.5 to 39.9 ms and
    multi-head attention's from 36 to 23 ms when BLAS stayed at one thread and
    the engine split the work itself, as PyTorch does with its own pool.

    Inside the scope `map_chunks` runs its chunks on `split_threads()` threads
    (the caller taking a share), and `split_work` splits large GEMM-bearing
    work such as Dense's by rows. `fit`, `evaluate`, `predict` and the
    `*_on_batch` methods run each step inside it when the model has a layer
    that chunks its work (`Layer._engine_threads`), and large optimizer updates
    always; a custom training loop can use it too. Nested scopes, a pool
    thread, or `split_threads() == 1` (a worker's one-thread slot) leave things
    as they are.
    """
    if split_threads() <= 1 or in_parallel_scope() or getattr(_local, "worker", False):
        yield
        return
    _local.scope = True
    try:
        with _SingleThreadedBlas():
            yield
    finally:
        _local.scope = False


def in_parallel_scope() -> bool:
    """Whether this thread runs inside `parallel_scope`."""
    return getattr(_local, "scope", False)


def split_work(fn: Callable[[int, int], T], batch: int, flops: float) -> list[T]:
    """`fn(start, stop)` over equal parts of a batch on the engine's threads inside a
    `parallel_scope` when the work is large; one call `fn(0, batch)` otherwise.

    For work that calls BLAS (BLAS is at one thread inside the scope, so a
    large GEMM split by rows uses every core; outside it BLAS threads the one
    call itself). Each part writes only its own slice of any output.

    Args:
        fn: the work for items `start:stop`.
        batch: the number of items (rows).
        flops: the total work, to keep small calls whole.

    Returns:
        The results of `fn`, one per part, in order.
    """
    if not in_parallel_scope() or flops < MIN_SPLIT_FLOPS:
        return [fn(0, batch)]
    return _split_evenly(fn, batch)


class Pipeline:
    """Calls that run on the engine's threads while the caller does other work.

    A recurrent layer's loop over timesteps is one thread's work; its big GEMMs
    (the input projection ahead of the loop, the input and weight gradients
    behind it) can run beside it, a block of steps at a time, on the cores the
    loop leaves idle. Use it as a context manager. `submit` queues a call
    (calls start in order and may run at the same time, so each writes only
    its own outputs); `result(i)` returns the i-th call's result and
    `results()` all of them, in order. Whenever the caller asks for a result
    whose call no thread has started yet, it runs that call itself rather than
    wait (for `results()`, every such call, the last first: the threads take
    them from the front). Without a thread to spare (`split_threads() == 1`,
    or inside a pool thread) each call runs at once, in `submit`.

    Inside the block this thread's work does not fan out (`split_work` and
    `map_chunks` run inline, as in a pool thread, even in a `parallel_scope`):
    the pool is busy with the pipeline's calls, and a call must compute the
    same numbers on whichever thread runs it. Leaving the block runs or waits
    for every call (after an error, cancels those not started), so none
    outlives the arrays it writes.

    Example:
        >>> with Pipeline() as ahead:
        ...     for block in blocks:
        ...         ahead.submit(project, block)
        ...     for i, block in enumerate(blocks):
        ...         ahead.result(i)
        ...         recur(block)
    """

    def __init__(self) -> None:
        self._pool, _ = _split_pool_and_parts(2)
        self._calls: list[Any] = []
        self._work: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self._scope = False

    @property
    def threaded(self) -> bool:
        """Whether the calls run on a thread (else inline, in `submit`)."""
        return self._pool is not None

    def submit(self, fn: Callable[..., T], *args: Any) -> None:
        """Queue `fn(*args)` (or call it now, without a thread to spare)."""
        if self._pool is None:
            self._calls.append(fn(*args))
        else:
            self._calls.append(self._pool.submit(fn, *args))
            self._work.append((fn, args))

    def result(self, i: int) -> Any:
        """The i-th call's result: run here if no thread has started it, else waited for
        (its error is raised here)."""
        if self._pool is None:
            return self._calls[i]
        self._run_here_if_waiting(i)
        return self._calls[i].result()

    def results(self) -> list[Any]:
        """Every call's result, in submission order."""
        if self._pool is not None:
            for i in range(len(self._calls) - 1, -1, -1):
                self._run_here_if_waiting(i)
        return [self.result(i) for i in range(len(self._calls))]

    def _run_here_if_waiting(self, i: int) -> None:
        call = self._calls[i]
        if call.done() or not call.cancel():
            return
        fn, args = self._work[i]
        done: Future[Any] = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as error:
            done.set_exception(error)
        self._calls[i] = done

    def __enter__(self) -> Pipeline:
        self._scope = in_parallel_scope()
        _local.scope = False
        return self

    def __exit__(self, error_type: object, *exc: object) -> None:
        try:
            if self._pool is not None:
                try:
                    if error_type is None:
                        self.results()  # raises a call's error
                    else:
                        for call in self._calls:
                            call.cancel()
                finally:
                    wait(self._calls)
        finally:
            _local.scope = self._scope


def scratch(slot: str, shape: Sequence[int], dtype: Any) -> np.ndarray:
    """An uninitialised per-thread work array, reused between calls with the same `slot`.

    Args:
        slot: names the buffer; two arrays in use at once need different slots.
        shape: the array's shape.
        dtype: the array's dtype.
    """
    dtype = np.dtype(dtype)
    # math.prod, not np.prod: this runs several times per chunk, and np.prod's ~5 us
    # of Python-level dispatch (holding the GIL) showed up in the CNN's profile.
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > _MAX_CACHED_SCRATCH:
        return np.empty(shape, dtype)
    buffers = _local.__dict__.setdefault("buffers", {})
    buf = buffers.get(slot)
    if buf is None or buf.nbytes < nbytes:
        buf = buffers[slot] = np.empty(max(nbytes, 1), np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


__all__ = [
    "chunk_bounds",
    "map_chunks",
    "map_chunks_split",
    "num_workers",
    "in_parallel_scope",
    "Pipeline",
    "parallel_scope",
    "scratch",
    "set_num_workers",
    "set_split_threads",
    "single_threaded_blas",
    "split_elementwise",
    "split_threads",
    "split_work",
]
