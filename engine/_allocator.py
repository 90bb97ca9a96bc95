"""The process's memory allocator, set up for an engine step's large short-lived arrays.

glibc's malloc serves a large request either from its heap or with an mmap of
its own, by a threshold it raises as such blocks are freed (up to 32 MB), and
gives the free top of its heap back to the kernel once that exceeds twice the
threshold. An engine step allocates and frees the same large arrays every step
(activations, attention scores, gradients); depending on their sizes and order
they end up on the mmap side or on a heap whose top is trimmed, and then every
step faults all their pages in again, each page zeroed by the kernel. Measured
on the Transformer benchmark's block: at batch 128, 9,925 page faults and 72 ms
per step, 1 fault and 52 ms with the thresholds fixed; at sequence length 128,
4,073 faults and 52 ms against 1 and 38 ms. At the benchmark's own shape
(batch 64, length 100) there were no faults either way.

`tune_allocator` fixes both thresholds: requests under 32 MB (glibc's largest
mmap threshold) come from the heap, which keeps up to 64 MB free for reuse
before it shrinks. The engine calls it when its backend is first imported (by
any model, layer or op); the settings hold for the whole process. It does
nothing where the C library is not glibc (or cannot be reached), when
`KERASTUI_MALLOC_TUNING` is `0`, `false`, `no` or `off`, or when the process
sets glibc's own malloc thresholds (`MALLOC_MMAP_THRESHOLD_`,
`MALLOC_TRIM_THRESHOLD_`, or `GLIBC_TUNABLES`), which then stay in force.
"""

from __future__ import annotations

import os
import sys
from typing import Any

ENV_MALLOC_TUNING = "KERASTUI_MALLOC_TUNING"

# mallopt's parameter numbers (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20

_GLIBC_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
_GLIBC_TUNABLES = ("glibc.malloc.mmap_threshold", "glibc.malloc.trim_threshold")
_OFF = ("0", "false", "no", "off")

_applied: bool | None = None


def _glibc() -> Any:
    """The C library, when it is glibc and ctypes can reach it; else None."""
    try:
        if not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
    except (ImportError, OSError, ValueError):
        return None
    return libc if hasattr(libc, "mallopt") else None


def _left_to_the_user() -> bool:
    """Whether the environment opts out or sets glibc's thresholds itself."""
    if os.environ.get(ENV_MALLOC_TUNING, "").strip().lower() in _OFF:
        return True
    if any(name in os.environ for name in _GLIBC_SETTINGS):
        return True
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    return any(name in tunables for name in _GLIBC_TUNABLES)


def tune_allocator() -> bool:
    """Fix glibc's mmap and trim thresholds for this process (once); whether they were set.

    Example (glibc, no opt-out; the engine's backend has called it already):
        >>> from engine._allocator import tune_allocator
        >>> tune_allocator()
        True
    """
    global _applied
    if _applied is None:
        libc = None if _left_to_the_user() else _glibc()
        _applied = bool(
            libc is not None
            and libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
            and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        )
    return _applied


__all__ = ["ENV_MALLOC_TUNING", "MMAP_THRESHOLD", "TRIM_THRESHOLD", "tune_allocator"]
