"""Keeping a run's heartbeat fresh while its process lives, whatever training is doing.

The tracking callback beats on training batches, but a run also spends time
where no batch ends: building its data, the validation pass, writing
checkpoints. On a busy machine any of these can outlast the stale-run timeout,
and a live run would be marked interrupted. `keep_alive` beats from a daemon
thread while the process executes the run; a killed process stops beating, so
dead runs are still noticed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from experiments.store import DEFAULT_HEARTBEAT_TIMEOUT

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def keep_alive(
    store: Any, run_id: int, interval: float = DEFAULT_HEARTBEAT_TIMEOUT / 6
) -> Iterator[None]:
    """Beat the run's heartbeat every `interval` seconds while the block runs.

    A beat only touches a run that is `running`, so beating before the run is
    claimed or after it ended changes nothing.

    Args:
        store: the tracking store.
        run_id: the run being executed in this process.
        interval: seconds between beats (well under the stale-run timeout).

    Example:
        >>> with keep_alive(store, run_id):
        ...     execute_run(run_id, store)
    """
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            try:
                store.heartbeat(run_id)
            except Exception as exc:  # the training thread reports database trouble itself
                logger.warning("heartbeat of run %s failed: %s", run_id, exc)

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 5.0)
