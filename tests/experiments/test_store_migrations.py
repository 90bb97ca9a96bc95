"""Opening the store: URLs, SQLite settings, migrations from empty, idempotent and race-free."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from experiments.store import forget_stores, open_store, resolve_url, upgrade_schema
from experiments.store.db import get_engine
from experiments.store.migrate import MIGRATIONS_DIR, alembic_config, head_revision
from experiments.store.models import Base

VIEWS = {"run_overview", "metric_history", "run_params"}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database that nothing has migrated yet.

    On PostgreSQL it is a fresh schema of the test run's database (first on the
    search path), which is as empty as a new database and far faster to make.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    base = make_url(request.getfixturevalue("_pg_url"))
    schema = f"fresh_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )
    forget_stores()
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_migrates_from_empty_to_the_models(fresh_url: str) -> None:
    engine = get_engine(fresh_url)
    assert upgrade_schema(engine) is True
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head_revision()
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
        assert differences == []
        inspector = inspect(connection)
        assert set(inspector.get_view_names()) >= VIEWS
        assert set(Base.metadata.tables) <= set(inspector.get_table_names())
    forget_stores()


def test_upgrade_is_idempotent(fresh_url: str) -> None:
    engine = get_engine(fresh_url)
    assert upgrade_schema(engine) is True
    assert upgrade_schema(engine) is False
    forget_stores()
    store = open_store(fresh_url)
    assert upgrade_schema(store.engine) is False
    assert store.info()["revision"] == head_revision()
    forget_stores()


def test_downgrade_then_upgrade_round_trips(fresh_url: str) -> None:
    engine = get_engine(fresh_url)
    upgrade_schema(engine)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        assert not VIEWS & set(inspect(connection).get_view_names())
    forget_stores()
    store = open_store(fresh_url)
    assert store.create_run("demo", {}).id == 1
    forget_stores()


def _open_in_process(url: str, start: object, results: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    try:
        migrated = upgrade_schema(get_engine(url))
        open_store(url).create_run("race", {})
        results.put(("ok", migrated))  # type: ignore[attr-defined]
    except Exception as exc:  # report any failure to the parent as data
        results.put(("error", repr(exc)))  # type: ignore[attr-defined]


def test_parallel_processes_open_a_fresh_database(fresh_url: str) -> None:
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    processes = [
        context.Process(target=_open_in_process, args=(fresh_url, start, results)) for _ in range(4)
    ]
    for process in processes:
        process.start()
    start.set()
    outcomes = [results.get(timeout=90) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert [kind for kind, _ in outcomes] == ["ok"] * 4, outcomes
    assert sum(migrated for _, migrated in outcomes) == 1
    store = open_store(fresh_url)
    assert store.count_runs() == 4
    forget_stores()


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 10_000
    assert open_store(f"sqlite:///{tmp_path / 'x.db'}") is store
    forget_stores()


def test_url_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KERASTUI_DB", raising=False)
    default = resolve_url()
    assert default.database == str(tmp_path / "data" / "kerastui.db")
    assert (tmp_path / "data").is_dir()
    monkeypatch.setenv("KERASTUI_DB", "sqlite:///elsewhere/runs.db")
    assert resolve_url().database == str(tmp_path / "elsewhere" / "runs.db")
    assert resolve_url("sqlite:///mine.db").database == str(tmp_path / "mine.db")
    assert resolve_url("postgresql://u@h/db").get_driver_name() == "psycopg"
    with pytest.raises(ValueError, match="not a SQLite file"):
        resolve_url("sqlite://")
    with pytest.raises(ValueError, match="supports sqlite"):
        resolve_url("mysql://u@h/db")
    with pytest.raises(ValueError, match="not a valid SQLAlchemy URL"):
        resolve_url("not a url")


def test_migrations_ship_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"experiments.store" = ["migrations/*.mako"]' in pyproject or (
        "migrations/*.mako" in pyproject
    )


def _use_store_in_child(url: str, parent_store_id: int, results: object) -> None:
    store = open_store(url)
    results.put((id(store) != parent_store_id, store.count_runs()))  # type: ignore[attr-defined]
    forget_stores()  # closes only the child's own connections


def test_forked_children_never_touch_the_parents_connections(db_url: str) -> None:
    store = open_store(db_url)
    store.create_run("fork", {})
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    for _ in range(2):
        child = context.Process(target=_use_store_in_child, args=(db_url, id(store), results))
        child.start()
        assert results.get(timeout=60) == (True, 1)
        child.join(timeout=60)
        assert child.exitcode == 0
    assert open_store(db_url) is store
    assert store.count_runs() == 1
    store.create_run("fork", {})
    assert store.count_runs() == 2
