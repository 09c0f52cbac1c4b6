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

PUBLISH_LOG_TABLE = "_publish_log"

CREATE_PUBLISH_LOG = f"""
CREATE TABLE IF NOT EXISTS {PUBLISH_LOG_TABLE} (
    run_id VARCHAR NOT NULL,
    zone_code VARCHAR NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    source_watermarks JSON,
    row_counts JSON NOT NULL,
    checks_passed VARCHAR[] NOT NULL,
    checks_failed VARCHAR[] NOT NULL
)
"""


@dataclass(frozen=True)
class PublishEntry:
    run_id: str
    zone_code: str
    published_at: datetime
    source_watermarks: list[dict]
    row_counts: dict[str, int]
    checks_passed: list[str]
    checks_failed: list[str]


def read_last_publish(published_path: Path) -> tuple[str | None, dict[str, int] | None]:
    """Return the run id and row counts of the latest publish of a zone mart, if any."""
    if not published_path.exists():
        return None, None
    connection = duckdb.connect(str(published_path), read_only=True)
    try:
        tables = {
            name
            for (name,) in connection.execute(
                "select table_name from information_schema.tables where table_schema = 'main'"
            ).fetchall()
        }
        if PUBLISH_LOG_TABLE not in tables:
            return None, None
        rows = connection.execute(
            f"select run_id, row_counts::varchar from {PUBLISH_LOG_TABLE} "
            "order by published_at desc limit 1"
        ).fetchall()
    finally:
        connection.close()
    if not rows:
        return None, None
    run_id, row_counts = rows[0]
    return run_id, json.loads(row_counts)


def write_publish_log(
    connection: duckdb.DuckDBPyConnection, entry: PublishEntry, previous_path: Path | None
) -> None:
    """Create the log in the candidate, copy the previous file's rows, append ``entry``."""
    connection.execute(CREATE_PUBLISH_LOG)
    if previous_path is not None and previous_path.exists():
        connection.execute("ATTACH ? AS previous (READ_ONLY)", [str(previous_path)])
        try:
            has_log = connection.execute(
                "select count(*) from information_schema.tables "
                "where table_catalog = 'previous' and table_name = ?",
                [PUBLISH_LOG_TABLE],
            ).fetchall()[0][0]
            if has_log:
                connection.execute(
                    f"INSERT INTO {PUBLISH_LOG_TABLE} BY NAME "
                    f"SELECT * FROM previous.{PUBLISH_LOG_TABLE}"
                )
        finally:
            connection.execute("DETACH previous")
    connection.execute(
        f"INSERT INTO {PUBLISH_LOG_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            entry.run_id,
            entry.zone_code,
            entry.published_at,
            json.dumps(entry.source_watermarks, default=str),
            json.dumps(entry.row_counts),
            entry.checks_passed,
            entry.checks_failed,
        ],
    )
