"""Turning a user's mistake into one sentence on stderr and exit code 1, never a traceback.

`describe(exc)` knows the exceptions a user can cause (an unknown run, a bad
spec or `--set`, an unreachable database, a dataset missing offline, a file
that cannot be written) and words each as what was wrong and what to do.
A ValueError counts as a user error too: the project raises it for bad input,
with a sentence meant for users. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from engine.datasets.download import DownloadError
from experiments.spec import SpecError
from experiments.store import StoreError


class CliError(Exception):
    """A user error the command line reports as one sentence and exit code 1.

    Args:
        message: what was wrong and what to do.

    Example:
        >>> raise CliError("no spec given; pass a path or an example name such as shapes_cnn")
    """


def _sentence(text: str) -> str:
    text = text.strip()
    # A multi-line message (a spec's list of problems, a caret under a bad token) stays as is.
    if "\n" in text or text.endswith((".", "?", "!")):
        return text
    return text + "."


def describe(exc: BaseException) -> str | None:
    """The message to show for a user error, or None when `exc` is a bug.

    Args:
        exc: the exception a command raised.

    Example:
        >>> describe(CliError("no such file"))
        'no such file.'
    """
    if isinstance(exc, CliError | SpecError | StoreError):
        return _sentence(str(exc))
    if isinstance(exc, DownloadError):
        return _sentence(
            f"{exc} (the dataset is not downloaded; run `kerastui datasets download NAME` "
            "while online, or use an offline example such as shapes_cnn)"
        )
    if isinstance(exc, OperationalError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        return _sentence(
            f"cannot reach the database ({reason}); check --db or KERASTUI_DB and that the "
            "server or file is reachable"
        )
    if isinstance(exc, SQLAlchemyError):
        return _sentence(
            f"the database refused the request ({type(exc).__name__}); run `kerastui db info` "
            "to check it"
        )
    if isinstance(exc, PermissionError | FileNotFoundError | IsADirectoryError):
        if exc.strerror is None:
            return _sentence(str(exc))
        where = f" {exc.filename!s}" if exc.filename else ""
        return _sentence(f"cannot use{where}: {exc.strerror}; check the path and its permissions")
    if isinstance(exc, ValueError):
        # The project's rule: bad input raises ValueError with a sentence meant for users.
        return _sentence(str(exc))
    return None
