"""The ``_publish_log`` table carried inside every published zone mart.

Each publish appends one row and carries over the rows of the file it replaces, so a zone
manager reading the mart sees when it was published, from which source watermarks, and how.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from dagster_project.duckdb_files import check_duckdb_file, connect_duckdb

PUBLISH_LOG_TABLE = "_publish_log"

CREATE_PUBLISH_LOG = f"""
CREATE TABLE IF NOT EXISTS {PUBLISH_LOG_TABLE} (
    run_id VARCHAR NOT NULL,
    zone_code VARCHAR NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    source_watermarks JSON,
    row_counts JSON NOT NULL,
    checks_passed VARCHAR[] NOT NULL,
    checks_failed VARCHAR[] NOT NULL,
    audit_scope VARCHAR,
    suites_fingerprint VARCHAR
)
"""
# Values of audit_scope: the audit read every row, or only the rows changed since the mart it
# replaced (NULL in rows written before the column existed).
FULL_AUDIT = "all rows"
CHANGED_ROWS_AUDIT = "changed rows"


@dataclass(frozen=True)
class PublishEntry:
    run_id: str
    zone_code: str
    published_at: datetime
    source_watermarks: list[dict]
    row_counts: dict[str, int]
    checks_passed: list[str]
    checks_failed: list[str]
    audit_scope: str | None = None
    suites_fingerprint: str | None = None


@dataclass(frozen=True)
class LatestPublish:
    """The latest publish of a zone mart, as its publish log records it."""

    run_id: str
    row_counts: dict[str, int]
    suites_fingerprint: str | None
    """None when the publish predates this column, so the next audit reads every row."""
    last_full_audit_at: datetime | None


class PublishLogError(RuntimeError):
    """The published mart of a zone exists but its publish log cannot be read."""


def _open_log(published_path: Path) -> duckdb.DuckDBPyConnection | None:
    """Open a published mart read-only, or return None when it has no publish log.

    Raise PublishLogError, naming the file, when it is not a readable DuckDB database.
    """
    if not published_path.exists():
        return None
    try:
        connection = connect_duckdb(published_path, read_only=True)
    except duckdb.Error as error:
        if "Could not set lock" in str(error):
            raise PublishLogError(
                f"the published mart {published_path} is open for writing in another process "
                f"({str(error).splitlines()[0]}). Readers must open it with read_only=True: "
                "close that process, then run the zone again"
            ) from error
        raise PublishLogError(
            f"cannot read the published mart {published_path} ({error}). Restore it from a "
            "backup. Moving it away makes the next publish a first one, audited in full and "
            "compared with the row counts that Dagster recorded at the zone's last publish"
        ) from error
    has_log = connection.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'main' and table_name = ?",
        [PUBLISH_LOG_TABLE],
    ).fetchall()[0][0]
    if not has_log:
        connection.close()
        return None
    return connection


def read_latest_publish(published_path: Path) -> LatestPublish | None:
    """Return the latest publish recorded in a zone mart's log, or None before the first one."""
    connection = _open_log(published_path)
    if connection is None:
        return None
    try:
        columns = {
            name
            for (name,) in connection.execute(
                "select column_name from information_schema.columns where table_name = ?",
                [PUBLISH_LOG_TABLE],
            ).fetchall()
        }
        audited = {"suites_fingerprint", "audit_scope"} <= columns
        fingerprint = "suites_fingerprint" if audited else "NULL"
        latest = connection.execute(
            f"select run_id, row_counts::varchar, {fingerprint} from {PUBLISH_LOG_TABLE} "
            "order by published_at desc limit 1"
        ).fetchall()
        last_full = None
        if audited:
            last_full = connection.execute(
                f"select max(published_at) from {PUBLISH_LOG_TABLE} where audit_scope = ?",
                [FULL_AUDIT],
            ).fetchall()[0][0]
    finally:
        connection.close()
    if not latest:
        return None
    run_id, row_counts, suites_fingerprint = latest[0]
    counts = json.loads(row_counts) if row_counts is not None else None
    if not isinstance(counts, dict) or not all(
        isinstance(count, int) and not isinstance(count, bool) for count in counts.values()
    ):
        raise PublishLogError(
            f"the publish log of {published_path} records row_counts {row_counts!r}, not a "
            "mapping of table names to row counts, so the volume check has no reference. "
            "Restore the file from a backup"
        )
    return LatestPublish(run_id, counts, suites_fingerprint, last_full)


def read_last_publish(published_path: Path) -> tuple[str | None, dict[str, int] | None]:
    """Return the run id and row counts of the latest publish of a zone mart, if any."""
    latest = read_latest_publish(published_path)
    return (latest.run_id, latest.row_counts) if latest else (None, None)


def write_publish_log(
    connection: duckdb.DuckDBPyConnection, entry: PublishEntry, previous_path: Path | None
) -> None:
    """Create the log in the candidate, copy the previous file's rows, append ``entry``."""
    connection.execute(CREATE_PUBLISH_LOG)
    if previous_path is not None and previous_path.exists():
        check_duckdb_file(previous_path)
        connection.execute("ATTACH ? AS previous (READ_ONLY)", [str(previous_path)])
        try:
            has_log = connection.execute(
                "select count(*) from information_schema.tables "
                "where table_catalog = 'previous' and table_name = ?",
                [PUBLISH_LOG_TABLE],
            ).fetchall()[0][0]
            if has_log:
                # Only the columns this version writes: a column added to the file by hand
                # would otherwise fail every later publish of the zone.
                columns = ", ".join(
                    f'"{name}"'
                    for (name,) in connection.execute(
                        "select column_name from information_schema.columns "
                        "where table_catalog = 'previous' and table_name = ? and column_name in "
                        "(select column_name from information_schema.columns "
                        " where table_catalog = current_database() and table_name = ?)",
                        [PUBLISH_LOG_TABLE, PUBLISH_LOG_TABLE],
                    ).fetchall()
                )
                connection.execute(
                    f"INSERT INTO {PUBLISH_LOG_TABLE} BY NAME "
                    f"SELECT {columns} FROM previous.{PUBLISH_LOG_TABLE}"
                )
        finally:
            connection.execute("DETACH previous")
    connection.execute(
        f"INSERT INTO {PUBLISH_LOG_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            entry.run_id,
            entry.zone_code,
            entry.published_at,
            json.dumps(entry.source_watermarks, default=str),
            json.dumps(entry.row_counts),
            entry.checks_passed,
            entry.checks_failed,
            entry.audit_scope,
            entry.suites_fingerprint,
        ],
    )
