"""What every command shares: the database URL chosen by `--db` or `KERASTUI_DB`."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from experiments.store import Store, open_store, resolve_url


@dataclass
class CliState:
    """The global options, kept on the Typer context's `obj`.

    Args:
        db: the database URL given with `--db` or `KERASTUI_DB`; None for the default.

    Example:
        >>> CliState(db="sqlite:///runs.db").db
        'sqlite:///runs.db'
    """

    db: str | None = None

    @property
    def url(self) -> str:
        """The full database URL (the workspace default when none was given)."""
        return resolve_url(self.db).render_as_string(hide_password=False)


def state(ctx: typer.Context) -> CliState:
    """The global options of this invocation.

    Args:
        ctx: the command's context.
    """
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def get_store(ctx: typer.Context, *, notice_stale: bool = False) -> Store:
    """The store of this invocation's database.

    Args:
        ctx: the command's context.
        notice_stale: first mark runs whose worker died (stale heartbeat) as
            interrupted, so the statuses shown are true; whoever notices first does it.
    """
    store = open_store(state(ctx).url)
    if notice_stale:
        store.interrupt_stale_runs()
    return store
