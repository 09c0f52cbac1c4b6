"""Bring a candidate table level with the warehouse by changing only the rows that differ.

A candidate started from a copy of the zone's published mart needs only the rows the refresh
changed: rewriting 3.3M order lines of zone idf to change a few thousand is what made publishing
cost as much as the whole zone. Both sides are compared as multisets of whole rows, through
DuckDB's 64-bit ``hash`` of every column, so a row present twice in the warehouse is present twice
in the candidate too. Rows to delete are found by ``rowid``, so the audit rejects tables with a
column of that name.

NOTE: two different rows with the same hash would leave the old one in place. With 3.3M rows
against 2^64 hash values, that is an estimated one chance in 5 * 10^12 per changed row, and the
daily full audit rebuilds every candidate from scratch.
"""

from __future__ import annotations

import duckdb

from dagster_project.extract.sql import quote_literal
from dagster_project.gate.candidate import quote_identifier

# Temporary table (private to the connection) of the row hashes each delta inserted, per table:
# the rows the row expectations must read.
CHANGED_ROWS_TABLE = "_gate_changed_rows"
_DELTA = "_gate_row_delta"
# Working columns of the statements below. A table with a column of this prefix would collide
# with them, so it is copied whole instead (see ``delta_applies_to``).
WORKING_PREFIX = "__gate_"
_HASH, _COPY = f"{WORKING_PREFIX}hash", f"{WORKING_PREFIX}copy"
_SOURCE_ROWS, _TARGET_ROWS = f"{WORKING_PREFIX}source_rows", f"{WORKING_PREFIX}target_rows"


def delta_applies_to(columns: list[tuple[str, str]]) -> bool:
    """Return whether ``apply_row_delta`` can update a table with these (name, type) columns."""
    return not any(name.lower().startswith(WORKING_PREFIX) for name, _ in columns)


def row_hash(columns: list[str], alias: str) -> str:
    """Return the expression hashing every column of a row of ``alias``, named one by one.

    ``hash(alias)`` would hash only the column of that name when the table has one.
    """
    return "hash(" + ", ".join(f"{alias}.{quote_identifier(name)}" for name in columns) + ")"


def apply_row_delta(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[str],
    source: str,
    parameters: list,
) -> tuple[int, int]:
    """Make ``table`` contain exactly the rows of ``source``; return (deleted, inserted) counts.

    ``columns`` are the names of the columns of ``table``, in order, and ``source`` must return
    the same columns with the same types. See ``delta_applies_to`` for the tables it can update.
    """
    quoted = quote_identifier(table)
    source_hash, target_hash = row_hash(columns, "s"), row_hash(columns, "t")
    connection.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {CHANGED_ROWS_TABLE} "
        "(table_name VARCHAR NOT NULL, row_hash UBIGINT NOT NULL)"
    )
    # One line per hash whose number of rows differs between the two sides.
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_DELTA} AS
        WITH source_hashes AS (
            SELECT {source_hash} AS {_HASH}, count(*) AS n FROM ({source}) AS s GROUP BY 1
        ),
        target_hashes AS (
            SELECT {target_hash} AS {_HASH}, count(*) AS n FROM {quoted} AS t GROUP BY 1
        )
        SELECT {_HASH},
            coalesce(source_hashes.n, 0) AS {_SOURCE_ROWS},
            coalesce(target_hashes.n, 0) AS {_TARGET_ROWS}
        FROM source_hashes FULL JOIN target_hashes USING ({_HASH})
        WHERE {_SOURCE_ROWS} <> {_TARGET_ROWS}
        """,
        parameters,
    )
    # Surplus copies go first, then the missing copies are read from the source. Each side
    # numbers its rows per hash, so exactly the difference in counts moves.
    deleted = connection.execute(
        f"""
        DELETE FROM {quoted} WHERE rowid IN (
            SELECT row_id FROM (
                SELECT t.rowid AS row_id, {target_hash} AS {_HASH},
                    row_number() OVER (PARTITION BY {target_hash}) AS {_COPY}
                FROM {quoted} AS t
                WHERE {target_hash} IN (
                    SELECT {_HASH} FROM {_DELTA} WHERE {_TARGET_ROWS} > {_SOURCE_ROWS}
                )
            ) AS surplus JOIN {_DELTA} USING ({_HASH})
            WHERE {_COPY} <= {_TARGET_ROWS} - {_SOURCE_ROWS}
        )
        """
    ).fetchall()[0][0]
    inserted = connection.execute(
        f"""
        INSERT INTO {quoted}
        SELECT * EXCLUDE ({_HASH}, {_COPY}, {_SOURCE_ROWS}, {_TARGET_ROWS}) FROM (
            SELECT s.*, {source_hash} AS {_HASH},
                row_number() OVER (PARTITION BY {source_hash}) AS {_COPY}
            FROM ({source}) AS s
            WHERE {source_hash} IN (
                SELECT {_HASH} FROM {_DELTA} WHERE {_SOURCE_ROWS} > {_TARGET_ROWS}
            )
        ) AS missing JOIN {_DELTA} USING ({_HASH})
        WHERE {_COPY} <= {_SOURCE_ROWS} - {_TARGET_ROWS}
        """,
        parameters,
    ).fetchall()[0][0]
    connection.execute(
        f"INSERT INTO {CHANGED_ROWS_TABLE} "
        f"SELECT ?, {_HASH} FROM {_DELTA} WHERE {_SOURCE_ROWS} > {_TARGET_ROWS}",
        [table],
    )
    connection.execute(f"DROP TABLE {_DELTA}")
    return deleted, inserted


def changed_rows_condition(table: str, columns: list[str], alias: str) -> str:
    """Return the condition true for the rows of ``table`` (as ``alias``) a delta inserted."""
    return (
        f"{row_hash(columns, alias)} IN (SELECT row_hash FROM {CHANGED_ROWS_TABLE} "
        f"WHERE table_name = {quote_literal(table)})"
    )
