"""Tracking-store fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (user postgres, trust auth, or
`$KERASTUI_TEST_PG` as a server URL). Each test run creates its own uniquely
named database and drops it at the end; each test starts from empty tables.
Without a server the PostgreSQL variants skip, saying so.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import BigInteger, Engine, Integer, create_engine, text
from sqlalchemy.engine import make_url

from experiments.store import Store, forget_stores, open_store
from experiments.store.models import Base

PG_SERVER = os.environ.get(
    "KERASTUI_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _pg_admin() -> tuple[Engine | None, str]:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return None, "psycopg is not installed (pip install -e '.[test]')"
    engine = create_engine(
        PG_SERVER, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any connection failure means: no server to test against
        engine.dispose()
        return None, f"no PostgreSQL server answers at {PG_SERVER} ({type(exc).__name__})"
    return engine, ""


@pytest.fixture(scope="session")
def pg_database_factory() -> Iterator[Callable[[], str]]:
    """Creates uniquely named PostgreSQL databases for this test run; drops them all at the end."""
    admin, reason = _pg_admin()
    if admin is None:
        pytest.skip(reason)
    created: list[str] = []

    def create() -> str:
        name = f"kerastui_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)

    yield create
    forget_stores()
    with admin.connect() as connection:
        for name in created:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _pg_url(pg_database_factory: Callable[[], str]) -> str:
    url = pg_database_factory()
    open_store(url)
    return url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "kerastui.db"
    open_store(f"sqlite:///{path}")
    forget_stores()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL: a fresh SQLite file, or the run's PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "kerastui.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        forget_stores()
        return
    url = request.getfixturevalue("_pg_url")
    # DELETE is ~20x faster than TRUNCATE on tables this small; ids restart at 1.
    engine = create_engine(url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        for table in Base.metadata.sorted_tables:
            if "id" in table.c and isinstance(table.c.id.type, Integer | BigInteger):
                connection.execute(
                    text("SELECT setval(pg_get_serial_sequence(:t, 'id'), 1, false)"),
                    {"t": table.name},
                )
    engine.dispose()
    yield url


@pytest.fixture
def store(db_url: str) -> Store:
    """The store on an empty database (SQLite and PostgreSQL)."""
    return open_store(db_url)
