"""Hard-delete reconciliation: remove landing rows whose primary key is gone from the source.

An incremental read by cursor never returns a deleted row, so on the nightly run (and on demand)
every source key is streamed and compared. A guard rejects a reconciliation that would delete
more than ``max_delete_share`` of the table, since that usually means a broken or truncated
source rather than real deletes. The comparison also counts source keys the landing table lacks,
and rows it holds with a cursor value no incremental read will reach, which the caller reloads
(run.py).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from dagster_project.extract.columns import SourceColumn
from dagster_project.extract.declaration import TableSpec
from dagster_project.extract.loader import BATCHES, cast_select, memory_limited, raw_table
from dagster_project.extract.sql import keys_equal, quote_identifier

SOURCE_KEYS = "_extract_source_keys"


class MassDeleteRefused(RuntimeError):
    """Reconciliation would delete a larger share of a table than its declaration allows."""


def check_delete_share(spec: TableSpec, gone: int, total: int) -> None:
    """Raise ``MassDeleteRefused`` when deleting ``gone`` of ``total`` rows is above the limit."""
    share = gone / total if total else 0.0
    if share > spec.max_delete_share:
        raise MassDeleteRefused(
            f"table {spec.name!r}: reconciliation would delete {gone} of {total} rows "
            f"({share:.1%}), more than max_delete_share {spec.max_delete_share:.1%}; "
            "nothing was deleted. Check the source; if the deletes are real, raise "
            f"max_delete_share for {spec.name} in the extraction declaration"
        )


def unreachable_rows_query(spec: TableSpec, target: str, cursor_bound: str | None) -> str:
    """Return a query counting the source rows in SOURCE_KEYS that the cursor cannot bring level.

    The first count is of keys the landing table ``target`` lacks. The second is of rows it
    contains with another cursor value below ``cursor_bound`` (an SQL expression), which no
    incremental read reaches again: a cursor set in the future then corrected, a NULL cursor
    filled in, rows restored from a backup. Rows above the bound are read by the next run.
    """
    stale = "false"
    if spec.cursor and cursor_bound:
        cursor = quote_identifier(spec.cursor)
        stale = f"k.{cursor} < {cursor_bound} AND t.{cursor} IS DISTINCT FROM k.{cursor}"
    matched = f"t.{quote_identifier(spec.primary_key[0])} IS NOT NULL"
    return (
        f"SELECT count(*) FILTER (WHERE NOT {matched}), "
        f"count(*) FILTER (WHERE {matched} AND {stale}) "
        f"FROM {SOURCE_KEYS} AS k LEFT JOIN {target} AS t "
        f"ON {keys_equal(spec.primary_key, 'k', 't')}"
    )


def delete_missing_keys(
    connection: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    key_columns: list[SourceColumn],
    keys: pa.RecordBatchReader,
    cursor_bound: str | None = None,
) -> tuple[int, int, int, int]:
    """Delete landing rows whose key is not in ``keys``.

    Return (deleted, rows before, and the two counts of ``unreachable_rows_query``). Raises
    ``MassDeleteRefused``, deleting nothing, when the share is above the limit.
    """
    target = raw_table(spec.name)
    missing = (
        f"NOT EXISTS (SELECT 1 FROM {SOURCE_KEYS} AS k "
        f"WHERE {keys_equal(spec.primary_key, 'k', target)})"
    )
    with memory_limited(connection, spec.name):
        connection.register(BATCHES, keys)
        connection.execute("BEGIN TRANSACTION")
        try:
            connection.execute(
                f"CREATE OR REPLACE TEMP TABLE {SOURCE_KEYS} AS {cast_select(key_columns, BATCHES)}"
            )
            total, gone = connection.execute(
                f"SELECT count(*), count(*) FILTER (WHERE {missing}) FROM {target}"
            ).fetchall()[0]
            check_delete_share(spec, gone, total)
            if gone:
                connection.execute(f"DELETE FROM {target} WHERE {missing}")
            absent, stale = connection.execute(
                unreachable_rows_query(spec, target, cursor_bound)
            ).fetchall()[0]
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        finally:
            connection.unregister(BATCHES)
            connection.execute(f"DROP TABLE IF EXISTS {SOURCE_KEYS}")
    return gone, total, absent, stale
