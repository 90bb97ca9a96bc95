"""Connecting to the tracking database: URL resolution, engines and dialect settings.

One engine per process per URL; a forked child drops its parent's pools
without closing them and opens its own connections. SQLite gets WAL, a busy
timeout and foreign keys on every connection, and transactions that write
begin with `BEGIN IMMEDIATE` so two writers queue on the busy timeout instead
of failing with "database is locked" when one upgrades a read lock.
PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ENV_VAR = "KERASTUI_DB"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Copy the write-ahead log back into the database (and fsync) every 10,000 pages
# (~40 MB) instead of SQLite's 1,000: a run writes a checkpoint of its weights and
# optimizer state every epoch (1.5 MB for the CIFAR-10 CNN), so the default
# checkpointed the log every two or three epochs. Measured here, 30 epochs of
# checkpoint-and-prune including the final checkpoint of the log: 24-29 ms per
# epoch before, 19 ms after. The log file can grow to about that size.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
# Execution option naming how a SQLite transaction begins (DEFERRED or IMMEDIATE).
SQLITE_BEGIN_OPTION = "kerastui_sqlite_begin"

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def default_url(workspace: Path | None = None) -> str:
    """The default database: `data/kerastui.db` under the workspace (the current directory).

    Args:
        workspace: the workspace folder; the current directory when None.
    """
    root = Path.cwd() if workspace is None else Path(workspace)
    return f"sqlite:///{(root / 'data' / 'kerastui.db').resolve()}"


def resolve_url(url: str | None = None) -> URL:
    """The database URL to use: the argument, else `$KERASTUI_DB`, else the default.

    `postgresql://` URLs are routed to the psycopg 3 driver. SQLite file paths
    are made absolute and their folder is created.

    Args:
        url: a SQLAlchemy URL such as `sqlite:///runs.db` or `postgresql://host/db`.
    """
    raw = url or os.environ.get(ENV_VAR) or default_url()
    try:
        parsed = make_url(raw)
    except ArgumentError as exc:
        raise ValueError(
            f"database URL {raw!r} is not a valid SQLAlchemy URL; use e.g. "
            "sqlite:///data/kerastui.db or postgresql://user@host/dbname"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed
    if backend != "sqlite":
        raise ValueError(
            f"database URL {raw!r} names {backend!r}; kerastui supports sqlite:/// and postgresql://"
        )
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise ValueError(
            f"database URL {raw!r} is not a SQLite file; workers and readers need a shared "
            "file such as sqlite:///data/kerastui.db"
        )
    path = Path(database).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return parsed.set(database=str(path))


def get_engine(url: str | URL | None = None) -> Engine:
    """The process-wide engine for a URL, created on first use.

    Args:
        url: a database URL (see `resolve_url`); None means `$KERASTUI_DB` or the default.
    """
    resolved = url if isinstance(url, URL) else resolve_url(url)
    key = resolved.render_as_string(hide_password=False)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create_engine(resolved)
            _engines[key] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection this process opened and forget the engines (tests)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _forget_engines_in_child() -> None:
    # A forked child must never touch its parent's pooled connections, not even to
    # close them (closing a PostgreSQL socket would end the parent's session), so
    # the pools are dropped without closing and the child opens its own.
    global _engines_lock
    _engines_lock = threading.Lock()
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_forget_engines_in_child)


def _create_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event emit BEGIN itself: pysqlite's implicit
        # transactions would start DEFERRED and never let us ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0].lower() != "wal":
            cursor.execute("PRAGMA journal_mode = WAL")
        # Safe against corruption in WAL mode; only a power cut can lose the last commits.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def writing(engine: Engine) -> Engine:
    """The engine whose transactions take the write lock up front (SQLite's BEGIN IMMEDIATE).

    Args:
        engine: an engine from `get_engine`.
    """
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
