"""Getting results out: `export`, `export-history`, `export-model`, `bundle` and `import`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the export commands to the app."""
