"""Applying the shipped Alembic migrations, once, without racing other processes.

Whoever opens the database first upgrades it. Parallel processes queue on a
lock (SQLite: the write lock of a `BEGIN IMMEDIATE` transaction, which also
makes the DDL atomic; PostgreSQL: a transaction-scoped advisory lock), and
re-check the revision once they hold it, so only one of them migrates. When the
database is already at head the check is one indexed read.
"""

from __future__ import annotations

import weakref
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from experiments.store.db import writing

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# An arbitrary constant both kerastui processes agree on: the key of the advisory lock.
_PG_LOCK_KEY = 0x6B657261735475

# Engines already checked in this process: later opens skip even the revision read.
_upgraded: weakref.WeakSet[Engine] = weakref.WeakSet()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the shipped migrations (no alembic.ini needed).

    Args:
        connection: the connection the migrations run on, if any.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest revision shipped with this version of kerastui."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the shipped migrations have {len(heads)} heads; expected one")
    return heads[0]


def current_revision(connection: Connection) -> str | None:
    """The revision a database is at (None for an empty database).

    Args:
        connection: an open connection to the database.
    """
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(engine: Engine) -> bool:
    """Bring the database to the newest schema; return whether anything was migrated.

    Safe to call from many processes at once: exactly one of them migrates.

    Args:
        engine: an engine from `experiments.store.db.get_engine`.
    """
    if engine in _upgraded:
        return False
    head = head_revision()
    with engine.connect() as connection:
        at_head = current_revision(connection) == head
    migrated = False
    if not at_head:
        migrated = _upgrade_locked(engine, head)
    _upgraded.add(engine)
    return migrated


def _upgrade_locked(engine: Engine, head: str) -> bool:
    with writing(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        if current_revision(connection) == head:
            return False
        command.upgrade(alembic_config(connection), "head")
    return True
