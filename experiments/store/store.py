"""`Store`: the tracking store's API, and `open_store`, the one way to get it."""

from __future__ import annotations

import os
import threading
from typing import Any

from sqlalchemy import inspect, text

from experiments.store.artifacts import ArtifactsMixin
from experiments.store.db import dispose_engines, get_engine, resolve_url
from experiments.store.groups import GroupsMixin
from experiments.store.metrics import MetricsMixin
from experiments.store.migrate import current_revision, head_revision, upgrade_schema
from experiments.store.queue import QueueMixin
from experiments.store.readonly import QueryResult, query_readonly
from experiments.store.runs import RunsMixin

_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


class Store(RunsMixin, QueueMixin, MetricsMixin, ArtifactsMixin, GroupsMixin):
    """Everything recorded about experiments and runs, behind typed methods.

    Get one with `open_store(url)`; it is safe to share between threads (each
    method runs its own short transaction) and cheap to call from many
    processes at once. Methods return detached records
    (`experiments.store.records`), never ORM objects.

    Args:
        engine: a migrated engine (use `open_store` rather than building one).

    Example:
        >>> store = open_store("sqlite:///data/kerastui.db")
        >>> run = store.create_run("demo", {"fit": {"epochs": 1}}, epochs_total=1)
        >>> store.log_metrics(run.id, [MetricRow("loss", 0.5, epoch=1, step=1, kind="epoch")])
        1
    """

    def query_readonly(
        self, sql: str, *, max_rows: int | None = None, timeout: float = 60.0
    ) -> QueryResult:
        """Run one user SQL statement on a connection that the database keeps read-only.

        Args:
            sql: one statement, e.g. `SELECT * FROM run_overview ORDER BY best_val_accuracy DESC`.
            max_rows: keep at most this many rows; all when None.
            timeout: seconds after which the query is stopped.

        Returns:
            `(columns, rows)`.

        Raises:
            ReadOnlyQueryError: the statement tried to write or failed.

        Example:
            >>> columns, rows = store.query_readonly("SELECT run_name, status FROM run_overview")
        """
        return query_readonly(self.engine.url, sql, max_rows=max_rows, timeout=timeout)

    def info(self) -> dict[str, Any]:
        """What `kerastui db info` shows: URL, backend, schema revision, row counts.

        Example:
            >>> store.info()["revision"]
            '0001'
        """
        with self.engine.connect() as connection:
            revision = current_revision(connection)
            tables = sorted(inspect(connection).get_table_names())
            counts = {
                table: int(connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar())
                for table in ("experiments", "runs", "metrics", "checkpoints")
                if table in tables
            }
        return {
            "url": self.url,
            "backend": self.dialect,
            "revision": revision,
            "head": head_revision(),
            "tables": tables,
            "counts": counts,
        }


def open_store(url: str | None = None) -> Store:
    """The store for a database URL, migrated to the newest schema on first open.

    The URL is the argument, else `$KERASTUI_DB`, else
    `sqlite:///<current directory>/data/kerastui.db` (its folder is created).
    Each process gets one `Store` (and so one engine and sessionmaker) per URL.

    Args:
        url: `sqlite:///path.db` or `postgresql://user@host/dbname`.

    Example:
        >>> store = open_store()
        >>> store.dialect
        'sqlite'
    """
    resolved = resolve_url(url)
    key = resolved.render_as_string(hide_password=False)
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            engine = get_engine(resolved)
            upgrade_schema(engine)
            store = Store(engine)
            _stores[key] = store
    return store


def forget_stores() -> None:
    """Drop this process's cached stores and close their connections (tests)."""
    with _stores_lock:
        _stores.clear()
    dispose_engines()


def _forget_stores_in_child() -> None:
    # The parent's stores hold the parent's engines, which the child must not use.
    global _stores_lock
    _stores_lock = threading.Lock()
    _stores.clear()


os.register_at_fork(after_in_child=_forget_stores_in_child)
