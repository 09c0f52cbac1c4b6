"""Merge streamed source rows into the DuckDB warehouse's ``raw`` schema.

Each load runs in one transaction: schema changes, the merge by primary key and the new
watermark in ``raw._extract_state`` commit together or not at all. A crash therefore never
leaves rows without their watermark, nor a watermark past rows that were not loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Protocol

import duckdb
import pyarrow as pa

from dagster_project.extract.columns import LOADED_AT, TIMESTAMPTZ, SourceColumn
from dagster_project.extract.declaration import TableSpec
from dagster_project.extract.merge import (
    DIFF,
    LATEST,
    STAGE,
    append_distinct,
    fetch_value,
    insert_into_empty,
    merge_by_key,
)
from dagster_project.extract.schema_change import SchemaPlan, landing_comment, plan_schema_change
from dagster_project.extract.sql import quote_identifier, quote_literal
from dagster_project.settings import EXTRACT_MEMORY_LIMIT_VARIABLE, extract_memory_limit

RAW_SCHEMA = "raw"
STATE_TABLE = f"{RAW_SCHEMA}._extract_state"
BATCHES = "_extract_batches"


class LoadError(RuntimeError):
    """Source rows cannot be loaded as declared (value does not fit, NULL cursor)."""


@dataclass(frozen=True)
class LoadResult:
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    watermark_before: str | None
    watermark_after: str | None
    schema_changes: tuple[str, ...]
    future_cursor_rows: int = 0


class WarehouseLoader(Protocol):
    """Interface of a warehouse loader.

    DuckDBLoader below serves the embedded warehouse; PostgresLoader (loader_postgres.py) a
    PostgreSQL one.
    """

    def exclusive(self, on_wait: Callable[[], None] | None = None) -> AbstractContextManager:
        """Hold off other processes' loads into the same warehouse while the block runs.

        ``on_wait`` is called once if the loader has to wait for another process first.
        """

    def plan(self, spec: TableSpec, columns: list[SourceColumn]) -> SchemaPlan: ...

    def read_watermark(self, spec: TableSpec, cursor: SourceColumn) -> object | None: ...

    def load(
        self,
        spec: TableSpec,
        columns: list[SourceColumn],
        plan: SchemaPlan,
        batches: pa.RecordBatchReader,
        cursor_ceiling: str | None = None,
    ) -> LoadResult: ...


def raw_table(table: str) -> str:
    return f"{RAW_SCHEMA}.{quote_identifier(table)}"


def apply_recorded_changes(
    execute: Callable[[str], object],
    spec: TableSpec,
    columns: list[SourceColumn],
    plan: SchemaPlan,
) -> None:
    """Empty the landing table when its primary key changed, and record its key and columns."""
    target = raw_table(spec.name)
    if plan.rekeyed:
        execute(f"DELETE FROM {target}")
    comment = landing_comment(spec.primary_key, columns)
    if comment != plan.landed_comment:
        execute(f"COMMENT ON TABLE {target} IS {quote_literal(comment)}")


# PostgreSQL's ADBC driver shifts dates and timestamps from PostgreSQL's epoch (2000-01-01) to
# Arrow's (1970-01-01) without checking for infinity, so 'infinity' and '-infinity' arrive as
# these overflowed values (days, microseconds), millions of years BC, which no real row holds.
SHIFTED_INFINITY = {
    "DATE": ("CAST({value} AS DATE) - DATE '1970-01-01'", -2147472692, -2147472691),
    "TIMESTAMP": (
        "epoch_us(CAST({value} AS TIMESTAMP))",
        -9222425352054775809,
        -9222425352054775808,
    ),
    TIMESTAMPTZ: (
        f"epoch_us(CAST({{value}} AS {TIMESTAMPTZ}))",
        -9222425352054775809,
        -9222425352054775808,
    ),
}


def cast_expression(column: SourceColumn) -> str:
    """Cast a streamed column to its landing type, restoring shifted infinities in dates.

    Only a date or timestamp streamed in binary form can carry a shifted infinity: a value read
    as text (every SQLite column) is cast as it is.
    """
    value = quote_identifier(column.name)
    cast = f"CAST({value} AS {column.landing_type})"
    if column.is_read_as_text or column.landing_type not in SHIFTED_INFINITY:
        return cast
    offset, positive, negative = SHIFTED_INFINITY[column.landing_type]
    measure = offset.format(value=value)
    past_the_range = ""
    if column.landing_type != "DATE":
        # The same shift wraps a timestamp after DuckDB's last one (294247-01-10) round to
        # millions of years BC, below the shifted infinities, or to DuckDB's infinity, whose
        # epoch_us is NULL.
        message = quote_literal(
            f"column {column.name}: a timestamp after 294247-01-10, the last one DuckDB holds"
        )
        past_the_range = (
            f"WHEN {measure} < {negative} OR ({measure} IS NULL AND {value} IS NOT NULL) "
            f"THEN error({message}) "
        )
    return (
        f"CASE WHEN {measure} = {positive} THEN CAST('infinity' AS {column.landing_type}) "
        f"WHEN {measure} = {negative} THEN CAST('-infinity' AS {column.landing_type}) "
        f"{past_the_range}ELSE {cast} END"
    )


def cast_select(columns: list[SourceColumn], relation: str) -> str:
    """SELECT that casts each streamed column to its landing type (a no-op when it matches)."""
    casts = ", ".join(f"{cast_expression(c)} AS {quote_identifier(c.name)}" for c in columns)
    return f"SELECT {casts} FROM {relation}"


def value_error(spec: TableSpec, columns: list[SourceColumn], error: Exception) -> LoadError:
    return LoadError(
        f"table {spec.name!r}: a source value does not fit its landing type "
        f"({', '.join(f'{c.name} {c.landing_type}' for c in columns)}): {error}"
    )


def check_null_cursor(
    spec: TableSpec, fetchall: Callable[[str], list[tuple]], relation: str = STAGE
) -> None:
    """Raise LoadError when the rows read have a NULL cursor and the table forbids it."""
    if not spec.cursor or spec.null_cursor != "fail":
        return
    cursor = quote_identifier(spec.cursor)
    nulls = fetchall(f"SELECT count(*) FROM {relation} WHERE {cursor} IS NULL")[0][0]
    if nulls:
        raise LoadError(
            f"table {spec.name!r}: {nulls} rows have a NULL cursor column "
            f"{spec.cursor}; fill it in the source or set 'null_cursor: reload'"
        )


def check_null_keys(
    spec: TableSpec, fetchall: Callable[[str], list[tuple]], relation: str = STAGE
) -> None:
    """Raise LoadError when rows read have a NULL in a primary-key column.

    NULL equals nothing in the merge's join, so such a row would be inserted again on every
    read instead of updated. SQLite accepts NULL in most primary-key columns, and a key
    declared in the extraction declaration has no constraint behind it at all.
    """
    if not spec.primary_key:
        return
    any_null = " OR ".join(f"{quote_identifier(key)} IS NULL" for key in spec.primary_key)
    nulls = fetchall(f"SELECT count(*) FROM {relation} WHERE {any_null}")[0][0]
    if nulls:
        raise LoadError(
            f"table {spec.name!r}: {nulls} rows read have a NULL in the primary key "
            f"({', '.join(spec.primary_key)}), so they cannot be merged by key; nothing was "
            "loaded. Fill the key in the source, or declare a primary_key without NULLs "
            "for this table"
        )


# Uncapped, DuckDB may use 80 % of the machine's memory, and hash tables grow with the table. Capped
# at 256MB they spill to disk: a first load of 10M order lines peaked near 500 MB, not 927 MB.
@contextmanager
def memory_limited(connection: duckdb.DuckDBPyConnection, table: str) -> Iterator[None]:
    """Cap the database's memory at the extraction limit for the block, then restore it.

    Raise LoadError, naming ``table`` and the setting, when the block needs more memory.
    """
    limit = extract_memory_limit()
    previous = fetch_value(connection, "SELECT current_setting('memory_limit')")
    try:
        # Inside the try, because lowering the limit below the memory already in use fails too.
        connection.execute(f"SET memory_limit = '{limit}'")
        yield
    except duckdb.OutOfMemoryException as error:
        raise LoadError(
            f"table {table!r}: the extraction needs more than the {limit} of memory it may use "
            f"in the warehouse; nothing was changed. Raise {EXTRACT_MEMORY_LIMIT_VARIABLE} "
            f"(for example to 1GB) and run it again. DuckDB error: {str(error).splitlines()[0]}"
        ) from error
    finally:
        # current_setting() rounds the limit (18.8 GiB), so a default limit is restored exactly
        # by RESET, and any other one by its rounded value.
        connection.execute("RESET memory_limit")
        if fetch_value(connection, "SELECT current_setting('memory_limit')") != previous:
            connection.execute(f"SET memory_limit = '{previous}'")


class DuckDBLoader:
    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def exclusive(self, on_wait: Callable[[], None] | None = None) -> AbstractContextManager:
        """Nothing to take: a DuckDB file admits one writing process, for as long as it is open."""
        return nullcontext()

    def _fetchall(self, query: str, parameters: list | None = None) -> list[tuple]:
        # fetchall (not fetchone) so the result is closed before the next register() call.
        return self.connection.execute(query, parameters or []).fetchall()

    def ensure_schemas(self) -> None:
        self.connection.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
        self.connection.execute(
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} ("
            "table_name VARCHAR PRIMARY KEY, cursor_column VARCHAR, cursor_type VARCHAR, "
            "watermark VARCHAR, updated_at TIMESTAMPTZ)"
        )

    def existing_columns(self, table: str) -> list[tuple[str, str]]:
        return self._fetchall(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? AND column_name <> ? "
            "ORDER BY ordinal_position",
            [RAW_SCHEMA, table, LOADED_AT],
        )

    def plan(self, spec: TableSpec, columns: list[SourceColumn]) -> SchemaPlan:
        existing = self.existing_columns(spec.name)
        comment = self._fetchall(
            "SELECT comment FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
            [RAW_SCHEMA, spec.name],
        )
        return plan_schema_change(spec, columns, existing, comment[0][0] if comment else None)

    def read_watermark(self, spec: TableSpec, cursor: SourceColumn) -> object | None:
        """Return the saved watermark as a Python value, or None before the first load."""
        self.ensure_schemas()
        rows = self._fetchall(
            f"SELECT CAST(watermark AS {cursor.landing_type}) FROM {STATE_TABLE} "
            "WHERE table_name = ? AND cursor_column = ? AND cursor_type = ?",
            [spec.name, cursor.name, cursor.landing_type],
        )
        return rows[0][0] if rows else None

    def _saved_watermark_text(self, spec: TableSpec) -> str | None:
        rows = self._fetchall(
            f"SELECT watermark FROM {STATE_TABLE} WHERE table_name = ? AND cursor_column = ?",
            [spec.name, spec.cursor],
        )
        return rows[0][0] if rows else None

    def _apply_plan(self, spec: TableSpec, columns: list[SourceColumn], plan: SchemaPlan) -> None:
        target = raw_table(spec.name)
        if plan.create:
            definitions = ", ".join(f"{quote_identifier(c.name)} {c.landing_type}" for c in columns)
            self.connection.execute(
                f"CREATE TABLE {target} ({definitions}, {LOADED_AT} TIMESTAMPTZ NOT NULL)"
            )
        for name, landing_type in plan.added:
            self.connection.execute(
                f"ALTER TABLE {target} ADD COLUMN {quote_identifier(name)} {landing_type}"
            )
        for name, old, new in plan.widened:
            try:
                self.connection.execute(
                    f"ALTER TABLE {target} ALTER COLUMN {quote_identifier(name)} TYPE {new}"
                )
            except duckdb.Error as error:
                raise LoadError(
                    f"table {spec.name!r}: cannot widen column {name} from {old} to {new}: {error}"
                ) from error
        apply_recorded_changes(self.connection.execute, spec, columns, plan)

    def _land_rows(self, spec: TableSpec, columns: list[SourceColumn]) -> tuple[str, int, int, int]:
        """Land the registered batch stream, cast to the landing types.

        Return the relation that contains every row read (the landing table itself on a first
        load, else the stage) and the (inserted, updated, unchanged) counts.
        """
        target = raw_table(spec.name)
        rows = cast_select(columns, BATCHES)
        try:
            if spec.primary_key and not fetch_value(
                self.connection, f"SELECT EXISTS (SELECT 1 FROM {target})"
            ):
                relation, inserted = insert_into_empty(self.connection, spec, columns, rows, target)
                return relation, inserted, 0, 0
            self.connection.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} AS {rows}")
        except (duckdb.ConversionException, duckdb.InvalidInputException) as error:
            if f"stream registered as '{BATCHES}' failed" in str(error):
                raise LoadError(
                    f"table {spec.name!r}: reading the source failed during the load, so "
                    f"nothing was loaded: {str(error).splitlines()[0]}"
                ) from error
            raise value_error(spec, columns, error) from error
        if spec.appends_distinct:
            inserted = append_distinct(self.connection, columns, target)
            read = fetch_value(self.connection, f"SELECT count(*) FROM {STAGE}")
            return STAGE, inserted, 0, read - inserted
        return STAGE, *merge_by_key(self.connection, spec, columns, target)

    def _save_watermark(
        self, spec: TableSpec, cursor_type: str, ceiling: str | None, relation: str
    ) -> tuple[str | None, int]:
        """Save max(previous watermark, max cursor read up to ``ceiling``), never backwards.

        Return the saved watermark and the number of rows whose cursor is past ``ceiling``: those
        rows are loaded but cannot move the watermark, so they are read again on the next run.
        """
        cursor = quote_identifier(spec.cursor)
        previous = self._saved_watermark_text(spec)
        below_ceiling = f"{cursor} <= CAST(? AS {cursor_type})" if ceiling else "true"
        ceiling_parameters = [ceiling] if ceiling else []
        self.connection.execute(
            f"INSERT OR REPLACE INTO {STATE_TABLE} "
            f"SELECT ?, ?, ?, CAST(greatest(CAST(? AS {cursor_type}), "
            f"max({cursor}) FILTER (WHERE {below_ceiling})) AS VARCHAR), now() FROM {relation}",
            [spec.name, spec.cursor, cursor_type, previous, *ceiling_parameters],
        )
        future = self._fetchall(
            f"SELECT count(*) FROM {relation} WHERE NOT ({below_ceiling})", ceiling_parameters
        )[0][0]
        return self._saved_watermark_text(spec), future

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
        with memory_limited(self.connection, spec.name):
            # The stream is registered outside the transaction: an aborted transaction rejects
            # every statement, unregister included, until the rollback.
            self.connection.register(BATCHES, batches)
            self.connection.execute("BEGIN TRANSACTION")
            try:
                self._apply_plan(spec, columns, plan)
                relation, inserted, updated, unchanged = self._land_rows(spec, columns)
                check_null_cursor(spec, self._fetchall, relation)
                check_null_keys(spec, self._fetchall, relation)
                rows_read = fetch_value(self.connection, f"SELECT count(*) FROM {relation}")
                watermark_after, future_cursor_rows = None, 0
                if spec.cursor:
                    cursor_type = next(c.landing_type for c in columns if c.name == spec.cursor)
                    watermark_after, future_cursor_rows = self._save_watermark(
                        spec, cursor_type, cursor_ceiling, relation
                    )
                self.connection.execute("COMMIT")
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            finally:
                self.connection.unregister(BATCHES)
                for table in (STAGE, LATEST, DIFF):
                    self.connection.execute(f"DROP TABLE IF EXISTS {table}")
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
