"""Build a zone's candidate mart: a private DuckDB file holding that zone's rows of every mart.

The candidate lives in ``<marts_dir>/.candidates/<zone>.duckdb``, a folder BI users are not
pointed at, on the same file system as the published marts so that publishing is a rename.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

MART_SCHEMA = "marts"
WAREHOUSE_ALIAS = "warehouse"
CANDIDATES_DIRNAME = ".candidates"
ZONE_COLUMN = "zone_code"


class CandidateError(RuntimeError):
    """Error raised when a candidate cannot be built or published. It names the file or table."""


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def candidate_path(marts_dir: Path, zone_code: str) -> Path:
    return marts_dir / CANDIDATES_DIRNAME / f"{zone_code}.duckdb"


@contextmanager
def zone_lock(marts_dir: Path, zone_code: str) -> Iterator[None]:
    """Hold the zone's lock file, so two runs never build or publish one zone's candidate at once.

    Raise CandidateError at once when another process holds it, instead of waiting behind it.
    """
    path = marts_dir / CANDIDATES_DIRNAME / f"{zone_code}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise CandidateError(
                f"zone {zone_code} is being built or published by another run (lock {path}); "
                "wait for that run to finish, then start this one again"
            ) from error
        yield
    finally:
        os.close(descriptor)


def remove_database_file(path: Path) -> None:
    """Delete a DuckDB file and its write-ahead log, if present."""
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)


@contextmanager
def open_candidate(warehouse_path: Path, path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Create an empty candidate file and yield a connection with the warehouse attached.

    The warehouse is attached read-only as ``warehouse``. On exit it is detached and the
    candidate checkpointed, so the closed file needs no write-ahead log.
    """
    if not warehouse_path.exists():
        raise CandidateError(
            f"warehouse {warehouse_path} not found: run the refresh job (extraction and dbt) first"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_database_file(path)
    connection = duckdb.connect(str(path))
    try:
        connection.execute("SET TimeZone = 'UTC'")
        try:
            connection.execute(f"ATTACH ? AS {WAREHOUSE_ALIAS} (READ_ONLY)", [str(warehouse_path)])
        except duckdb.IOException as error:
            raise CandidateError(
                f"cannot open the warehouse {warehouse_path} read-only ({error}). Another "
                "process may be writing it"
            ) from error
        yield connection
        connection.execute(f"DETACH {WAREHOUSE_ALIAS}")
        connection.execute("CHECKPOINT")
    finally:
        connection.close()


def list_warehouse_tables(connection: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Return the tables and views of ``schema`` in the attached warehouse."""
    rows = connection.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = ? and table_schema = ? order by table_name",
        [WAREHOUSE_ALIAS, schema],
    ).fetchall()
    return [name for (name,) in rows]


def table_columns(
    connection: duckdb.DuckDBPyConnection, table: str, catalog: str, schema: str
) -> list[str]:
    rows = connection.execute(
        "select column_name from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [catalog, schema, table],
    ).fetchall()
    return [name for (name,) in rows]


def copy_zone_tables(
    connection: duckdb.DuckDBPyConnection, zone_code: str, tables: list[str]
) -> dict[str, int]:
    """Copy the zone's rows of each mart table into the candidate and return rows per table.

    A table with a ``zone_code`` column contributes the zone's rows, and one without it (a
    company-wide dimension such as carriers) is copied whole.
    """
    row_counts = {}
    for table in tables:
        source = f"{WAREHOUSE_ALIAS}.{MART_SCHEMA}.{quote_identifier(table)}"
        columns = table_columns(connection, table, WAREHOUSE_ALIAS, MART_SCHEMA)
        if ZONE_COLUMN in columns:
            connection.execute(
                f"CREATE TABLE {quote_identifier(table)} AS "
                f"SELECT * FROM {source} WHERE {ZONE_COLUMN} = ?",
                [zone_code],
            )
        else:
            connection.execute(f"CREATE TABLE {quote_identifier(table)} AS SELECT * FROM {source}")
        row_counts[table] = count_rows(connection, table)
    return row_counts


def count_rows(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    return connection.execute(f"SELECT count(*) FROM {quote_identifier(table)}").fetchall()[0][0]
