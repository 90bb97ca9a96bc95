"""The `kerastui` command line: one Typer app, one module per command group.

Every command reads and writes through `experiments` (the store, specs, the
runner, the worker); nothing here holds SQL or training logic.
"""

from __future__ import annotations

import sys

from kerastui.cli.app import app


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `kerastui` console script; returns the exit code.

    Args:
        argv: the arguments (the process's when None).

    Example:
        >>> main(["--version"])
        kerastui 0.1.0
        0
    """
    try:
        app(args=argv, prog_name="kerastui", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    return 0


__all__ = ["app", "main"]
