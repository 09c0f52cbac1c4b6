"""Build a zone's candidate mart: a private DuckDB file holding that zone's rows of every mart.

The candidate lives in ``<marts_dir>/.candidates/<zone>.duckdb``, a folder BI users are not
pointed at, on the same file system as the published marts so that publishing is a rename.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from dagster_project.duckdb_files import connect_duckdb
from dagster_project.settings import GATE_MEMORY_LIMIT_VARIABLE, gate_memory_limit

MART_SCHEMA = "marts"
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
def open_candidate(
    path: Path, start_from: Path | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Create a candidate file and yield a read-write connection to it, in UTC.

    The file starts empty, or as a copy of the DuckDB file ``start_from`` (the zone's published
    mart), which is only read.

    DuckDB may use up to ZONE_MARTS_GATE_MEMORY_LIMIT, then spills to disk.

    On a clean exit the candidate is checkpointed, so the closed file needs no write-ahead log.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_database_file(path)
    if start_from is not None:
        shutil.copyfile(start_from, path)
    limit = gate_memory_limit()
    connection = connect_duckdb(path)
    try:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(f"SET memory_limit = '{limit}'")
        yield connection
        connection.execute("CHECKPOINT")
    except duckdb.OutOfMemoryException as error:
        raise CandidateError(
            f"candidate {path}: building or auditing it needs more than the {limit} of memory "
            f"it may use; the zone keeps its last published mart. Raise "
            f"{GATE_MEMORY_LIMIT_VARIABLE} (for example to 2GB) and run it again. "
            f"DuckDB error: {str(error).splitlines()[0]}"
        ) from error
    finally:
        connection.close()


def table_columns(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    schema: str = "main",
    catalog: str | None = None,
) -> list[tuple[str, str]]:
    """Return the (name, type) pairs of ``table`` in ``schema`` of ``catalog``.

    Without a catalog, the table is looked up in the connection's own database. The table name
    is taken whole, dots included.
    """
    return connection.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = coalesce(?, current_database()) "
        "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [catalog, schema, table],
    ).fetchall()


def count_rows(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    return connection.execute(f"SELECT count(*) FROM {quote_identifier(table)}").fetchall()[0][0]
