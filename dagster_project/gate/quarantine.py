"""Move rows rejected by quarantine expectations out of a candidate table.

The rows go to ``_quarantine`` in the same candidate file, as JSON with the names of the
expectations they failed, so the published mart shows what was held back and why.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa

from dagster_project.gate.candidate import quote_identifier

QUARANTINE_TABLE = "_quarantine"


def ensure_quarantine_table(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(
        f"""
        CREATE TABLE IF NOT EXISTS {QUARANTINE_TABLE} (
            run_id VARCHAR NOT NULL,
            table_name VARCHAR NOT NULL,
            failed_expectations VARCHAR[] NOT NULL,
            row_data JSON NOT NULL,
            quarantined_at TIMESTAMPTZ NOT NULL
        )
        """
    )


def move_to_quarantine(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    failures_by_row_id: dict[int, list[str]],
    run_id: str,
    now: datetime,
) -> int:
    """Move the given rows (DuckDB rowids) to the quarantine table and return their count."""
    ensure_quarantine_table(connection)
    if not failures_by_row_id:
        return 0
    row_ids = sorted(failures_by_row_id)
    rejected = pa.table(
        {
            "row_id": pa.array(row_ids, pa.int64()),
            "failed_expectations": pa.array(
                [sorted(failures_by_row_id[row_id]) for row_id in row_ids], pa.list_(pa.string())
            ),
        }
    )
    quoted = quote_identifier(table)
    connection.register("rejected_rows", rejected)
    try:
        connection.execute(
            f"""
            INSERT INTO {QUARANTINE_TABLE}
            SELECT ?, ?, rejected.failed_expectations, to_json(source), ?
            FROM {quoted} AS source
            JOIN rejected_rows AS rejected ON source.rowid = rejected.row_id
            """,
            [run_id, table, now],
        )
        connection.execute(
            f"DELETE FROM {quoted} WHERE rowid IN (SELECT row_id FROM rejected_rows)"
        )
    finally:
        connection.unregister("rejected_rows")
    return len(row_ids)
