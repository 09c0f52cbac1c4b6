"""Merge rows read from the source into a DuckDB landing table, inside the caller's transaction.

The landing tables have no index, so every join with a landing table scans it. The statements
here scan it once per load and touch only the rows that change. A changed row is deleted by the
``rowid`` that scan found and inserted again: on 2M landed order lines with 20,000 changed, an
UPDATE of the same rows took 0.12 s plus 0.07 s to commit, because DuckDB rewrites every row group
an update touches, while the delete and insert took 0.014 s plus 0.006 s (2 cores).
"""

from __future__ import annotations

import duckdb

from dagster_project.extract.columns import LOADED_AT, SourceColumn
from dagster_project.extract.declaration import TableSpec
from dagster_project.extract.sql import column_list, keys_equal, quote_identifier

STAGE = "_extract_stage"
LATEST = "_extract_latest"
DIFF = "_extract_diff"
TARGET_ROWID = "_extract_target_rowid"


def fetch_value(connection: duckdb.DuckDBPyConnection, query: str) -> object:
    # fetchall (not fetchone) so the result is closed before the next register() call.
    return connection.execute(query).fetchall()[0][0]


# Landing types whose equality is looser than identity: 0 equals -0 in floats, '1 day' equals
# '24 hours' in intervals, and 1.0 equals 1.00 in PostgreSQL's jsonb. The merge compares their
# text too, so such a change in the source is landed, not counted as unchanged. Values are
# compared as well, since a server's extra_float_digits may print two floats alike.
LOOSE_EQUALITY_TYPES = ("FLOAT", "DOUBLE", "INTERVAL", "JSON")


def changed_condition(columns: list[SourceColumn]) -> str:
    """Return a condition true when a staged row ``s`` differs from its landing row ``t``."""
    conditions = []
    for column in columns:
        name = quote_identifier(column.name)
        if column.landing_type.removesuffix("[]") in LOOSE_EQUALITY_TYPES:
            conditions.append(
                f"s.{name} IS DISTINCT FROM t.{name} "
                f"OR CAST(s.{name} AS VARCHAR) IS DISTINCT FROM CAST(t.{name} AS VARCHAR)"
            )
        else:
            conditions.append(f"s.{name} IS DISTINCT FROM t.{name}")
    return " OR ".join(conditions) or "false"


def has_duplicate_keys(
    connection: duckdb.DuckDBPyConnection, relation: str, keys: tuple[str, ...]
) -> bool:
    """Return whether two rows of ``relation`` share a key (NULL keys compare equal).

    Counting distinct keys took 0.55 s on 2M staged rows, against 2.2 s for the window
    function that keeps one row per key, so the window runs only when it changes something.
    """
    return bool(
        fetch_value(
            connection,
            f"SELECT count(*) > count(DISTINCT ROW({column_list(keys)})) FROM {relation}",
        )
    )


def latest_per_key(connection: duckdb.DuckDBPyConnection, spec: TableSpec) -> str:
    """Return the staged relation with one row per key: the higher cursor, then the last read."""
    if not has_duplicate_keys(connection, STAGE, spec.primary_key):
        return STAGE
    order = f"{quote_identifier(spec.cursor)} DESC NULLS LAST, " if spec.cursor else ""
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {LATEST} AS SELECT * FROM {STAGE} "
        f"QUALIFY row_number() OVER (PARTITION BY {column_list(spec.primary_key)} "
        f"ORDER BY {order}rowid DESC) = 1"
    )
    return LATEST


def merge_by_key(
    connection: duckdb.DuckDBPyConnection, spec: TableSpec, columns: list[SourceColumn], target: str
) -> tuple[int, int, int]:
    """Upsert the staged rows into ``target``; return (inserted, updated, unchanged)."""
    keys = spec.primary_key
    latest = latest_per_key(connection, spec)
    values = [c for c in columns if c.name not in keys]
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {DIFF} AS SELECT s.*, t.rowid AS {TARGET_ROWID}, CASE "
        f"WHEN t.rowid IS NULL THEN 'insert' "
        f"WHEN {changed_condition(values)} THEN 'update' ELSE 'unchanged' END AS _extract_action "
        f"FROM {latest} AS s LEFT JOIN {target} AS t ON {keys_equal(keys, 's', 't')}"
    )

    connection.execute(
        f"DELETE FROM {target} WHERE rowid IN "
        f"(SELECT {TARGET_ROWID} FROM {DIFF} WHERE _extract_action = 'update')"
    )
    names = [c.name for c in columns]
    connection.execute(
        f"INSERT INTO {target} ({column_list(names)}, {LOADED_AT}) "
        f"SELECT {column_list(names)}, now() FROM {DIFF} "
        "WHERE _extract_action IN ('insert', 'update')"
    )
    counts = dict(
        connection.execute(
            f"SELECT _extract_action, count(*) FROM {DIFF} GROUP BY _extract_action"
        ).fetchall()
    )
    return counts.get("insert", 0), counts.get("update", 0), counts.get("unchanged", 0)


def insert_into_empty(
    connection: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    columns: list[SourceColumn],
    rows: str,
    target: str,
) -> tuple[str, int]:
    """Insert the ``rows`` query straight into the empty ``target``.

    Return the relation that contains every row read, for the checks that follow, and the number
    of rows inserted.

    Staging a first load would hold the whole table in memory (596 MB of peak RSS for 2M order
    lines), while a streamed insert keeps memory flat in the table size. The rows are checked
    for duplicate keys afterwards: in the rare case where the source repeats a key, they move
    to the stage and go through ``merge_by_key``.
    """
    names = column_list(c.name for c in columns)
    connection.execute(f"INSERT INTO {target} ({names}, {LOADED_AT}) SELECT *, now() FROM ({rows})")
    if not has_duplicate_keys(connection, target, spec.primary_key):
        return target, fetch_value(connection, f"SELECT count(*) FROM {target}")
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {STAGE} AS SELECT {names} FROM {target} ORDER BY rowid"
    )
    connection.execute(f"DELETE FROM {target}")
    inserted, _, _ = merge_by_key(connection, spec, columns, target)
    return STAGE, inserted


def append_distinct(
    connection: duckdb.DuckDBPyConnection, columns: list[SourceColumn], target: str
) -> int:
    """Insert staged rows not already present (NULLs compare equal, as in EXCEPT)."""
    names = column_list(c.name for c in columns)
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {DIFF} AS "
        f"SELECT {names} FROM {STAGE} EXCEPT SELECT {names} FROM {target}"
    )
    connection.execute(
        f"INSERT INTO {target} ({names}, {LOADED_AT}) SELECT {names}, now() FROM {DIFF}"
    )
    return fetch_value(connection, f"SELECT count(*) FROM {DIFF}")
