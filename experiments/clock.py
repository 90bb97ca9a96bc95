"""The time as the tracking store and its views read it, and a way to fix it.

Every time the store writes (a run queued, started, finished; a checkpoint, a
note, a log line, a heartbeat) and every "how long has it been running" a view
works out comes from `now()`; times shown to a person go through `local()`.
`use_clock` swaps both inside a block, so a test can record runs at fixed times
and render them identically on every machine, in every time zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Clock = Callable[[], dt.datetime]


def system_now() -> dt.datetime:
    """The machine's current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


_now: Clock = system_now
# None: the machine's local zone.
_zone: dt.tzinfo | None = None


def now() -> dt.datetime:
    """The current time, timezone-aware in UTC (from the clock `use_clock` set, if any).

    Example:
        >>> now().tzinfo
        datetime.timezone.utc
    """
    return _now()


def local(moment: dt.datetime) -> dt.datetime:
    """`moment` in the zone times are shown in (the machine's, unless `use_clock` set one).

    Args:
        moment: a time; a naive one is taken as UTC, as the store records it.

    Example:
        >>> with use_clock(system_now, zone=dt.UTC):
        ...     local(dt.datetime(2025, 3, 14, 9, 30)).hour
        9
    """
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(_zone)


@contextmanager
def use_clock(clock: Clock, zone: dt.tzinfo | None = None) -> Iterator[None]:
    """Read the time from `clock`, and show times in `zone`, inside the block.

    The setting is process-wide (threads see it too): it is meant for tests and
    demos that need fixed times, not for concurrent use with different clocks.

    Args:
        clock: returns the current time, timezone-aware.
        zone: the zone `local()` converts to; None keeps the machine's.

    Example:
        >>> fixed = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
        >>> with use_clock(lambda: fixed):
        ...     now() == fixed
        True
    """
    global _now, _zone
    previous = _now, _zone
    _now, _zone = clock, zone
    try:
        yield
    finally:
        _now, _zone = previous
