"""The read-only SQL entry point: SELECTs answer, every kind of write is refused by the database."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from experiments.store import MetricRow, ReadOnlyQueryError, Store


def _snapshot(store: Store) -> tuple[object, ...]:
    return (
        store.list_runs(with_spec=True),
        store.run_params(1),
        store.metrics_since(1),
        store.info()["tables"],
    )


@pytest.fixture
def filled(store: Store) -> Store:
    run = store.create_run("demo", {"fit": {"batch_size": 64}})
    store.log_metrics(run.id, [MetricRow("loss", 0.5, 1, 4, "epoch")])
    return store


def test_selects_return_columns_and_rows(filled: Store) -> None:
    columns, rows = filled.query_readonly(
        "SELECT run_name, batch_size, final_loss FROM run_overview"
    )
    assert columns == ["run_name", "batch_size", "final_loss"]
    assert rows == [(filled.get_run(1).name, 64.0, 0.5)]
    assert filled.query_readonly("SELECT id FROM runs", max_rows=0).rows == []


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM runs",
        "UPDATE runs SET status = 'failed'",
        "INSERT INTO experiments (name, description, created_at) VALUES ('x', '', '2024-01-01')",
        "DROP TABLE metrics",
        "DROP VIEW run_overview",
        "CREATE TABLE scratch (x INTEGER)",
        "ALTER TABLE runs ADD COLUMN x INTEGER",
        "WITH gone AS (DELETE FROM runs RETURNING id) SELECT * FROM gone",
        "SELECT 1; DELETE FROM runs",
        "COMMIT; DELETE FROM runs",
    ],
)
def test_writes_are_refused_and_change_nothing(filled: Store, sql: str) -> None:
    before = _snapshot(filled)
    with pytest.raises(ReadOnlyQueryError):
        filled.query_readonly(sql)
    assert _snapshot(filled) == before


def test_sqlite_refuses_attach_pragma_writes_and_vacuum(filled: Store, tmp_path: Path) -> None:
    if filled.dialect != "sqlite":
        pytest.skip("ATTACH, PRAGMA and VACUUM INTO are SQLite statements")
    before = _snapshot(filled)
    for sql in (
        f"ATTACH DATABASE '{tmp_path / 'other.db'}' AS other",
        "PRAGMA query_only = OFF",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA user_version = 7",
        f"VACUUM INTO '{tmp_path / 'copy.db'}'",
        "CREATE TEMP TABLE t AS SELECT 1",
    ):
        with pytest.raises(ReadOnlyQueryError, match="read-only"):
            filled.query_readonly(sql)
    assert not (tmp_path / "other.db").exists() and not (tmp_path / "copy.db").exists()
    assert filled.query_readonly("PRAGMA user_version").rows == [(0,)]
    assert filled.query_readonly("PRAGMA table_info(runs)").rows[0][1] == "id"
    assert _snapshot(filled) == before


def test_postgresql_cannot_leave_the_read_only_transaction(filled: Store) -> None:
    if filled.dialect != "postgresql":
        pytest.skip("transaction modes are a PostgreSQL matter here")
    before = _snapshot(filled)
    for sql in (
        "SET TRANSACTION READ WRITE",
        "COMMIT; SET default_transaction_read_only = off; DELETE FROM runs",
        "SELECT set_config('default_transaction_read_only', 'off', false)",
    ):
        # Whether this statement itself errors or not, the next one must still be refused.
        with contextlib.suppress(ReadOnlyQueryError):
            filled.query_readonly(sql)
        with pytest.raises(ReadOnlyQueryError, match="read-only"):
            filled.query_readonly("DELETE FROM runs")
    assert _snapshot(filled) == before


def test_errors_say_what_went_wrong(filled: Store) -> None:
    with pytest.raises(ReadOnlyQueryError, match="query failed"):
        filled.query_readonly("SELECT nope FROM runs")
    with pytest.raises(ReadOnlyQueryError, match="empty"):
        filled.query_readonly("   ")
