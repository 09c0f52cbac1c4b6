"""Merge streamed source rows into a PostgreSQL warehouse's ``raw`` schema.

PostgresLoader has the semantics of DuckDBLoader, over an ADBC connection with autocommit off.
ADBC's bulk ingest (a binary COPY) stages the Arrow batches in a temporary table. The rows are
then cast to the landing types and merged by primary key, and the watermark is saved in
``raw._extract_state``. All of it is one transaction, which a failure rolls back whole.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import adbc_driver_manager
import pyarrow as pa

from dagster_project.extract.columns import LOADED_AT, SourceColumn
from dagster_project.extract.declaration import TableSpec
from dagster_project.extract.loader import (
    BATCHES,
    RAW_SCHEMA,
    STATE_TABLE,
    LoadError,
    LoadResult,
    apply_recorded_changes,
    check_null_cursor,
    check_null_keys,
    raw_table,
    value_error,
)
from dagster_project.extract.merge import DIFF, LATEST, STAGE, changed_condition
from dagster_project.extract.postgres_types import landing_type, postgres_type
from dagster_project.extract.reconcile import (
    SOURCE_KEYS,
    check_delete_share,
    unreachable_rows_query,
)
from dagster_project.extract.schema_change import SchemaPlan, plan_schema_change
from dagster_project.extract.sql import column_list, keys_equal, quote_identifier, quote_literal
from dagster_project.resources import warehouse_writer_lock

# Order of a row in the stream, so the last version read of a key wins among equal cursors.
ROW_NUMBER = "_extract_row"


TABLE_COMMENT = """
SELECT obj_description(c.oid, 'pg_class')
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2
"""
EXISTING_COLUMNS = """
SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attname <> $3
ORDER BY a.attnum
"""


def _casts(columns: list[SourceColumn]) -> str:
    """Select list casting each streamed column to its landing type (a no-op when it matches)."""
    return ", ".join(
        f"CAST({quote_identifier(c.name)} AS {postgres_type(c.landing_type)}) "
        f"AS {quote_identifier(c.name)}"
        for c in columns
    )


def _literal(value: str | None, type_name: str) -> str:
    return "NULL" if value is None else f"CAST({quote_literal(value)} AS {type_name})"


class PostgresLoader:
    """Load into a PostgreSQL warehouse through an ADBC connection opened with autocommit off."""

    def __init__(self, connection) -> None:
        self.connection = connection

    def exclusive(self, on_wait: Callable[[], None] | None = None) -> AbstractContextManager:
        """Keep other processes' extractions and dbt builds off the warehouse until the end.

        Two merges of the same new key in concurrent transactions would both insert it, and two
        first loads would both create the table, so writers take turns. ``on_wait`` is called
        once if another process holds the lock first.
        """
        return warehouse_writer_lock(self.connection, on_wait)

    def _execute(self, query: str, parameters: list | None = None) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(query, parameters)

    def _fetchall(self, query: str, parameters: list | None = None) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(query, parameters)
            return cursor.fetchall()

    def _ingest(self, table: str, batches: pa.RecordBatchReader) -> None:
        """Copy the stream into a new temporary table through ADBC's binary COPY."""
        with self.connection.cursor() as cursor:
            cursor.adbc_ingest(table, batches, mode="create", temporary=True)

    def ensure_schemas(self) -> None:
        # Watermarks are stored as text: ISO dates read back the same under any DateStyle,
        # while the default of a role or server (such as 'SQL, DMY') would not.
        self._execute("SET DateStyle TO 'ISO, YMD'")
        self._execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
        self._execute(
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} ("
            "table_name text PRIMARY KEY, cursor_column text, cursor_type text, "
            "watermark text, updated_at timestamptz)"
        )
        self.connection.commit()

    def existing_columns(self, table: str) -> list[tuple[str, str]]:
        rows = self._fetchall(EXISTING_COLUMNS, [RAW_SCHEMA, table, LOADED_AT])
        return [(name, landing_type(formatted)) for name, formatted in rows]

    def plan(self, spec: TableSpec, columns: list[SourceColumn]) -> SchemaPlan:
        existing = self.existing_columns(spec.name)
        comment = self._fetchall(TABLE_COMMENT, [RAW_SCHEMA, spec.name])
        self.connection.commit()
        return plan_schema_change(spec, columns, existing, comment[0][0] if comment else None)

    def read_watermark(self, spec: TableSpec, cursor: SourceColumn) -> object | None:
        """Return the saved watermark as a Python value, or None before the first load."""
        self.ensure_schemas()
        rows = self._fetchall(
            f"SELECT CAST(watermark AS {postgres_type(cursor.landing_type)}) FROM {STATE_TABLE} "
            "WHERE table_name = $1 AND cursor_column = $2 AND cursor_type = $3",
            [spec.name, cursor.name, cursor.landing_type],
        )
        self.connection.commit()
        return rows[0][0] if rows else None

    def _saved_watermark_text(self, spec: TableSpec) -> str | None:
        rows = self._fetchall(
            f"SELECT watermark FROM {STATE_TABLE} WHERE table_name = $1 AND cursor_column = $2",
            [spec.name, spec.cursor],
        )
        return rows[0][0] if rows else None

    def _apply_plan(self, spec: TableSpec, columns: list[SourceColumn], plan: SchemaPlan) -> None:
        target = raw_table(spec.name)
        if plan.create:
            definitions = ", ".join(
                f"{quote_identifier(c.name)} {postgres_type(c.landing_type)}" for c in columns
            )
            self._execute(
                f"CREATE TABLE {target} ({definitions}, {LOADED_AT} timestamptz NOT NULL)"
            )
            if spec.primary_key:
                # The merge joins on the key: without an index each load scans the table.
                self._execute(f"CREATE INDEX ON {target} ({column_list(spec.primary_key)})")
        for name, added_type in plan.added:
            self._execute(
                f"ALTER TABLE {target} ADD COLUMN {quote_identifier(name)} "
                f"{postgres_type(added_type)}"
            )
        for name, old, new in plan.widened:
            column, new_type = quote_identifier(name), postgres_type(new)
            try:
                self._execute(
                    f"ALTER TABLE {target} ALTER COLUMN {column} TYPE {new_type} "
                    f"USING {column}::{new_type}"
                )
            except adbc_driver_manager.Error as error:
                raise LoadError(
                    f"table {spec.name!r}: cannot widen column {name} from {old} to {new}: {error}"
                ) from error
        apply_recorded_changes(self._execute, spec, columns, plan)
        if plan.rekeyed and spec.primary_key:
            self._execute(f"CREATE INDEX ON {target} ({column_list(spec.primary_key)})")

    def _stage(self, spec: TableSpec, columns: list[SourceColumn]) -> None:
        """Cast the ingested stream to the landing types, numbering rows in read order."""
        try:
            self._execute(
                f"CREATE TEMP TABLE {STAGE} AS SELECT {_casts(columns)}, "
                f"row_number() OVER (ORDER BY ctid) AS {ROW_NUMBER} FROM {BATCHES}"
            )
        except adbc_driver_manager.DataError as error:
            raise value_error(spec, columns, error) from error
        check_null_cursor(spec, self._fetchall)
        check_null_keys(spec, self._fetchall)

    def _merge_by_key(self, spec: TableSpec, columns: list[SourceColumn]) -> tuple[int, int, int]:
        """Upsert the staged rows; return (inserted, updated, unchanged)."""
        keys = spec.primary_key
        order = f"{quote_identifier(spec.cursor)} DESC NULLS LAST, " if spec.cursor else ""
        # Two versions of one key in a batch: the higher cursor wins, then the one read last.
        self._execute(
            f"CREATE TEMP TABLE {LATEST} AS SELECT DISTINCT ON ({column_list(keys)}) * "
            f"FROM {STAGE} ORDER BY {column_list(keys)}, {order}{ROW_NUMBER} DESC"
        )
        target = raw_table(spec.name)
        names = [c.name for c in columns]
        values = [name for name in names if name not in keys]
        changed = changed_condition([c for c in columns if c.name not in keys])
        self._execute(
            f"CREATE TEMP TABLE {DIFF} AS SELECT {column_list(names, 's.')}, CASE "
            f"WHEN t.{quote_identifier(keys[0])} IS NULL THEN 'insert' "
            f"WHEN {changed} THEN 'update' ELSE 'unchanged' END AS _extract_action "
            f"FROM {LATEST} AS s LEFT JOIN {target} AS t ON {keys_equal(keys, 's', 't')}"
        )
        if values:
            assignments = ", ".join(
                f"{quote_identifier(name)} = d.{quote_identifier(name)}" for name in values
            )
            self._execute(
                f"UPDATE {target} AS t SET {assignments}, {LOADED_AT} = now() "
                f"FROM {DIFF} AS d WHERE d._extract_action = 'update' "
                f"AND {keys_equal(keys, 't', 'd')}"
            )
        self._execute(
            f"INSERT INTO {target} ({column_list(names)}, {LOADED_AT}) "
            f"SELECT {column_list(names)}, now() FROM {DIFF} WHERE _extract_action = 'insert'"
        )
        counts = dict(self._fetchall(f"SELECT _extract_action, count(*) FROM {DIFF} GROUP BY 1"))
        return counts.get("insert", 0), counts.get("update", 0), counts.get("unchanged", 0)

    def _append_distinct(self, spec: TableSpec, columns: list[SourceColumn]) -> int:
        """Insert staged rows not already present (NULLs compare equal, as in EXCEPT)."""
        names = column_list(c.name for c in columns)
        target = raw_table(spec.name)
        self._execute(
            f"CREATE TEMP TABLE {DIFF} AS "
            f"SELECT {names} FROM {STAGE} EXCEPT SELECT {names} FROM {target}"
        )
        self._execute(
            f"INSERT INTO {target} ({names}, {LOADED_AT}) SELECT {names}, now() FROM {DIFF}"
        )
        return self._fetchall(f"SELECT count(*) FROM {DIFF}")[0][0]

    def _save_watermark(
        self, spec: TableSpec, cursor_type: str, ceiling: str | None
    ) -> tuple[str | None, int]:
        """Save max(previous watermark, max cursor read up to ``ceiling``), never backwards.

        Return the saved watermark and the number of rows whose cursor is past ``ceiling``: those
        rows are loaded but cannot move the watermark, so they are read again on the next run.
        """
        cursor = quote_identifier(spec.cursor)
        previous = _literal(self._saved_watermark_text(spec), postgres_type(cursor_type))
        below_ceiling = (
            f"{cursor} <= {_literal(ceiling, postgres_type(cursor_type))}" if ceiling else "true"
        )
        self._execute(
            f"INSERT INTO {STATE_TABLE} "
            f"SELECT $1, $2, $3, CAST(greatest({previous}, "
            f"max({cursor}) FILTER (WHERE {below_ceiling})) AS text), now() "
            f"FROM {STAGE} ON CONFLICT (table_name) DO UPDATE SET "
            "cursor_column = excluded.cursor_column, cursor_type = excluded.cursor_type, "
            "watermark = excluded.watermark, updated_at = excluded.updated_at",
            [spec.name, spec.cursor, cursor_type],
        )
        future = self._fetchall(f"SELECT count(*) FROM {STAGE} WHERE NOT ({below_ceiling})")
        return self._saved_watermark_text(spec), future[0][0]

    def _drop_temporary(self, *tables: str) -> None:
        for table in tables:
            self._execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
        self.connection.commit()

    def load(
        self,
        spec: TableSpec,
        columns: list[SourceColumn],
        plan: SchemaPlan,
        batches: pa.RecordBatchReader,
        cursor_ceiling: str | None = None,
    ) -> LoadResult:
        """Load one batch stream in a single transaction; roll back everything on error.

        ``cursor_ceiling`` caps the watermark (see ``_save_watermark``).
        """
        self.ensure_schemas()
        watermark_before = self._saved_watermark_text(spec) if spec.cursor else None
        try:
            self._apply_plan(spec, columns, plan)
            self._ingest(BATCHES, batches)
            self._stage(spec, columns)
            rows_read = self._fetchall(f"SELECT count(*) FROM {STAGE}")[0][0]
            if spec.appends_distinct:
                inserted = self._append_distinct(spec, columns)
                updated, unchanged = 0, rows_read - inserted
            else:
                inserted, updated, unchanged = self._merge_by_key(spec, columns)
            watermark_after, future_cursor_rows = None, 0
            if spec.cursor:
                cursor_type = next(c.landing_type for c in columns if c.name == spec.cursor)
                watermark_after, future_cursor_rows = self._save_watermark(
                    spec, cursor_type, cursor_ceiling
                )
            self.connection.commit()
        except BaseException:
            self.connection.rollback()
            raise
        finally:
            self._drop_temporary(BATCHES, STAGE, LATEST, DIFF)
        return LoadResult(
            rows_read=rows_read,
            inserted=inserted,
            updated=updated,
            unchanged=unchanged,
            watermark_before=watermark_before,
            watermark_after=watermark_after,
            schema_changes=tuple(plan.changes),
            future_cursor_rows=future_cursor_rows,
        )

    def delete_missing_keys(
        self,
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
        try:
            self._ingest(BATCHES, keys)
            self._execute(
                f"CREATE TEMP TABLE {SOURCE_KEYS} AS SELECT {_casts(key_columns)} FROM {BATCHES}"
            )
            total, gone = self._fetchall(
                f"SELECT count(*), count(*) FILTER (WHERE {missing}) FROM {target}"
            )[0]
            check_delete_share(spec, gone, total)
            if gone:
                self._execute(f"DELETE FROM {target} WHERE {missing}")
            absent, stale = self._fetchall(unreachable_rows_query(spec, target, cursor_bound))[0]
            self.connection.commit()
        except BaseException:
            self.connection.rollback()
            raise
        finally:
            self._drop_temporary(BATCHES, SOURCE_KEYS)
        return gone, total, absent, stale
