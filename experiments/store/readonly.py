"""The read-only SQL entry point: users' SELECTs, refused by the database if they write.

Nothing here parses the SQL. The database connection itself refuses writes:

- SQLite: the file is opened with `mode=ro`, `PRAGMA query_only` is on, and an
  authorizer denies ATTACH/DETACH, setting pragmas and every write action; the
  driver runs one statement per call.
- PostgreSQL: a fresh connection whose transactions are `READ ONLY` (and whose
  default is read-only too), with the query sent through the extended protocol,
  which carries exactly one statement, so `COMMIT; SET ...; DELETE ...` cannot
  escape the read-only transaction. The transaction is always rolled back.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import urllib.parse
from typing import Any, NamedTuple

from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from experiments.store.errors import ReadOnlyQueryError

# Pragmas that only read, even when given an argument (`PRAGMA table_info(runs)`).
_READ_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "function_list",
        "pragma_list",
        "collation_list",
        "database_list",
    }
)
_SQLITE_WRITE_ACTIONS = frozenset(
    getattr(sqlite3, name)
    for name in (
        "SQLITE_ALTER_TABLE",
        "SQLITE_ANALYZE",
        "SQLITE_ATTACH",
        "SQLITE_CREATE_INDEX",
        "SQLITE_CREATE_TABLE",
        "SQLITE_CREATE_TEMP_INDEX",
        "SQLITE_CREATE_TEMP_TABLE",
        "SQLITE_CREATE_TEMP_TRIGGER",
        "SQLITE_CREATE_TEMP_VIEW",
        "SQLITE_CREATE_TRIGGER",
        "SQLITE_CREATE_VIEW",
        "SQLITE_CREATE_VTABLE",
        "SQLITE_DELETE",
        "SQLITE_DETACH",
        "SQLITE_DROP_INDEX",
        "SQLITE_DROP_TABLE",
        "SQLITE_DROP_TEMP_INDEX",
        "SQLITE_DROP_TEMP_TABLE",
        "SQLITE_DROP_TEMP_TRIGGER",
        "SQLITE_DROP_TEMP_VIEW",
        "SQLITE_DROP_TRIGGER",
        "SQLITE_DROP_VIEW",
        "SQLITE_DROP_VTABLE",
        "SQLITE_INSERT",
        "SQLITE_REINDEX",
        "SQLITE_UPDATE",
    )
)
_REFUSED = "the SQL entry point is read-only and the database refused this statement"


class QueryResult(NamedTuple):
    """Column names and rows of a read-only query; unpacks as `columns, rows`.

    Example:
        >>> columns, rows = QueryResult(["n"], [(3,)])
        >>> columns, rows
        (['n'], [(3,)])
    """

    columns: list[str]
    rows: list[tuple[Any, ...]]


def query_readonly(
    url: URL, sql: str, *, max_rows: int | None = None, timeout: float = 60.0
) -> QueryResult:
    """Run one SQL statement on a connection that cannot write.

    Args:
        url: the database URL (as `experiments.store.db.resolve_url` returns it).
        sql: one statement, e.g. `SELECT * FROM run_overview`.
        max_rows: keep at most this many rows; all when None.
        timeout: seconds after which the query is stopped.

    Raises:
        ReadOnlyQueryError: the statement tried to write or failed.

    Example:
        >>> query_readonly(url, "SELECT count(*) FROM runs").rows
        [(3,)]
    """
    if not sql.strip():
        raise ReadOnlyQueryError("the query is empty; pass a SELECT statement")
    if max_rows is not None and max_rows < 0:
        raise ValueError(f"max_rows must be 0 or more, got {max_rows}")
    if url.get_backend_name() == "sqlite":
        return _sqlite(str(url.database), sql, max_rows, timeout)
    return _postgresql(url, sql, max_rows, timeout)


def _sqlite(path: str, sql: str, max_rows: int | None, timeout: float) -> QueryResult:
    uri = f"file:{urllib.parse.quote(path)}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=timeout)
    except sqlite3.OperationalError as exc:
        raise ReadOnlyQueryError(f"cannot open {path} read-only: {exc}") from exc
    try:
        connection.execute("PRAGMA query_only = ON")
        connection.set_authorizer(_authorize)
        deadline = time.monotonic() + timeout
        connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            cursor = connection.execute(sql)
            columns = [d[0] for d in cursor.description or ()]
            if max_rows is None:
                rows = cursor.fetchall()
            else:  # fetchmany(0) would mean "the default batch", not "none"
                rows = cursor.fetchmany(max_rows) if max_rows else []
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, timeout) from exc
        except sqlite3.Warning as exc:  # raised for several statements in one string
            raise ReadOnlyQueryError(f"query failed: {exc}; send one statement at a time") from exc
        return QueryResult(columns, [tuple(r) for r in rows])
    finally:
        connection.close()


def _authorize(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
    if action in _SQLITE_WRITE_ACTIONS:
        return sqlite3.SQLITE_DENY
    writes_pragma = arg2 is not None and (arg1 or "").lower() not in _READ_PRAGMAS
    if action == sqlite3.SQLITE_PRAGMA and writes_pragma:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _sqlite_error(exc: sqlite3.Error, timeout: float) -> ReadOnlyQueryError:
    message = str(exc)
    if "interrupted" in message:
        return ReadOnlyQueryError(f"query stopped after {timeout:g} s; narrow it or add a LIMIT")
    refused = ("not authorized", "authorization denied", "readonly", "read-only")
    if any(word in message for word in refused):
        return ReadOnlyQueryError(f"{_REFUSED} ({message})")
    return ReadOnlyQueryError(f"query failed: {message}")


def _postgresql(url: URL, sql: str, max_rows: int | None, timeout: float) -> QueryResult:
    import psycopg  # only PostgreSQL users install it

    # Keep the URL's own options (a search_path, say) and add the read-only ones.
    options = " ".join(
        filter(
            None,
            [
                str(url.query.get("options", "")),
                "-c default_transaction_read_only=on",
                f"-c statement_timeout={int(timeout * 1000)}",
            ],
        )
    )
    engine = create_engine(url, poolclass=NullPool, connect_args={"options": options})
    try:
        raw = engine.raw_connection()
    except Exception as exc:
        engine.dispose()
        raise ReadOnlyQueryError(f"cannot connect to the database: {exc}") from exc
    try:
        connection = raw.driver_connection
        connection.read_only = True
        rows: list[tuple[Any, ...]] = []
        with connection.cursor() as cursor:
            try:
                # stream() always uses the extended protocol: one statement, no smuggled COMMIT.
                for row in cursor.stream(sql):
                    if max_rows is not None and len(rows) >= max_rows:
                        break
                    rows.append(tuple(row))
                columns = [c.name for c in cursor.description or ()]
            except psycopg.errors.ReadOnlySqlTransaction as exc:
                raise ReadOnlyQueryError(f"{_REFUSED} ({exc})") from exc
            except psycopg.errors.QueryCanceled as exc:
                raise ReadOnlyQueryError(
                    f"query stopped after {timeout:g} s; narrow it or add a LIMIT"
                ) from exc
            except psycopg.Error as exc:
                raise ReadOnlyQueryError(f"query failed: {exc}") from exc
        return QueryResult(columns, rows)
    finally:
        # The connection is discarded either way; a failed rollback changes nothing.
        with contextlib.suppress(psycopg.Error):
            raw.driver_connection.rollback()
        raw.close()
        engine.dispose()
