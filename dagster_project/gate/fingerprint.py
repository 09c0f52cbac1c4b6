"""Fingerprints of each zone's mart rows, to tell which zones changed since their last publish.

A zone's fingerprint is a SHA-256 over the row count and the sum of row hashes of every mart
table, counting only the zone's rows (every row, for a table without a zone_code column). The
refresh job computes it per zone from the warehouse, and each audit computes it from its
candidate before quarantine. The publish sensor gives zones whose fingerprint moved a higher
priority.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import duckdb

from dagster_project.gate.candidate import (
    MART_SCHEMA,
    ZONE_COLUMN,
    quote_identifier,
    table_columns,
)
from dagster_project.gate.row_delta import digest_expression, row_hash

# The refresh job's asset that records every zone's fingerprint, and the metadata keys that carry
# the fingerprints there and on each zone_mart materialization.
CHANGES_ASSET = "zone_mart_changes"
# The per-zone asset that publishes an audited candidate (gate/assets.py).
ZONE_MART_ASSET = "zone_mart"
FINGERPRINTS_METADATA = "zone_fingerprints"
LANDED_METADATA = "zone_rows_landed"
# Mart column holding the time the extraction landed the row's source row.
LOADED_AT_COLUMN = "loaded_at"
CONTENT_FINGERPRINT_METADATA = "content_fingerprint"


def _digest(columns: list[str]) -> str:
    """Return the expression of the row count and the sum of row hashes of relation ``t``."""
    return digest_expression(row_hash(columns, "t"))


def combine(digests: dict[str, str]) -> str:
    """Return the fingerprint of a zone from the digest of each of its tables."""
    lines = "\n".join(f"{table}:{digests[table]}" for table in sorted(digests))
    return hashlib.sha256(lines.encode()).hexdigest()


def _column_names(
    connection: duckdb.DuckDBPyConnection, table: str, schema: str = MART_SCHEMA
) -> list[str]:
    return [name for name, _ in table_columns(connection, table, schema)]


def _mart_tables(connection: duckdb.DuckDBPyConnection) -> list[str]:
    rows = connection.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = ? ORDER BY table_name",
        [MART_SCHEMA],
    ).fetchall()
    return [name for (name,) in rows]


def warehouse_fingerprints(
    connection: duckdb.DuckDBPyConnection, zone_codes: list[str]
) -> dict[str, str]:
    """Return the fingerprint of each zone from the warehouse's marts schema."""
    tables = _mart_tables(connection)
    digests: dict[str, dict[str, str]] = {code: {} for code in zone_codes}
    for table in tables:
        relation = f"{MART_SCHEMA}.{quote_identifier(table)}"
        columns = _column_names(connection, table)
        digest = _digest(columns)
        if ZONE_COLUMN in columns:
            per_zone = dict(
                connection.execute(
                    f"SELECT {ZONE_COLUMN}, {digest} FROM {relation} AS t GROUP BY {ZONE_COLUMN}"
                ).fetchall()
            )
            for code in zone_codes:
                digests[code][table] = per_zone.get(code, "0:0")
        else:
            shared = connection.execute(f"SELECT {digest} FROM {relation} AS t").fetchall()[0][0]
            for code in zone_codes:
                digests[code][table] = shared
    return {code: combine(digests[code]) for code in zone_codes}


def candidate_fingerprint(
    connection: duckdb.DuckDBPyConnection, tables: list[str], known: dict[str, str] | None = None
) -> str:
    """Return the fingerprint of a candidate, whose tables hold one zone's rows.

    ``known`` gives the digests of tables already computed, such as those of a row delta.
    """
    digests = dict(known or {})
    for table in tables:
        if table not in digests:
            digests[table] = connection.execute(
                f"SELECT {_digest(_column_names(connection, table, 'main'))} "
                f"FROM {quote_identifier(table)} AS t"
            ).fetchall()[0][0]
    return combine({table: digests[table] for table in tables})


def rows_landed_since(
    connection: duckdb.DuckDBPyConnection, zone_codes: list[str], since: datetime
) -> dict[str, int]:
    """Count, per zone, the mart rows whose source row the extraction landed at ``since`` or later.

    A zone with such rows received a source change in this refresh. Other changes to a zone's
    fingerprint come from the passing of time (a rolling demand window, days overdue).
    """
    landed = dict.fromkeys(zone_codes, 0)
    for table in _mart_tables(connection):
        columns = _column_names(connection, table)
        if not {ZONE_COLUMN, LOADED_AT_COLUMN} <= set(columns):
            continue
        rows = connection.execute(
            f"SELECT {ZONE_COLUMN}, count(*) FROM {MART_SCHEMA}.{quote_identifier(table)} "
            f"WHERE {LOADED_AT_COLUMN} >= ? GROUP BY {ZONE_COLUMN}",
            [since],
        ).fetchall()
        for code, count in rows:
            if code in landed:
                landed[code] += count
    return landed
