"""Errors the tracking store raises, each with one sentence saying what to do."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of the tracking store's errors.

    Example:
        >>> isinstance(RunNotFoundError("run 'x' not found"), StoreError)
        True
    """


class RunNotFoundError(StoreError, LookupError):
    """No run has the given id or name.

    Example:
        >>> str(RunNotFoundError("no run has id or name 'brave-otter-9'"))
        "no run has id or name 'brave-otter-9'"
    """


class NotFoundError(StoreError, LookupError):
    """A checkpoint, sweep, experiment or worker that does not exist was asked for.

    Example:
        >>> str(NotFoundError("run 3 has no checkpoint"))
        'run 3 has no checkpoint'
    """


class CorruptCheckpointError(StoreError, ValueError):
    """A checkpoint's bytes no longer match the sha256 recorded when it was saved.

    Example:
        >>> str(CorruptCheckpointError("checkpoint 4 of run 2 is corrupt"))
        'checkpoint 4 of run 2 is corrupt'
    """


class ReadOnlyQueryError(StoreError, ValueError):
    """A query given to the read-only SQL entry point failed or tried to write.

    Example:
        >>> str(ReadOnlyQueryError("the SQL entry point is read-only"))
        'the SQL entry point is read-only'
    """


class InvalidStateError(StoreError, ValueError):
    """An action that the run's current status does not allow (cancelling a finished run).

    Example:
        >>> str(InvalidStateError("run 3 is completed; it cannot be cancelled"))
        'run 3 is completed; it cannot be cancelled'
    """
