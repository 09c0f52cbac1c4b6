"""Extract one table: check the declaration against the source, read changes, load, reconcile."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb

from dagster_project.extract.columns import (
    CURSOR_TYPES,
    LOADED_AT,
    MAX_UTC_OFFSET,
    TIMESTAMPTZ,
    SourceColumn,
)
from dagster_project.extract.declaration import RESERVED_PREFIX, DeclarationError, TableSpec
from dagster_project.extract.loader import DuckDBLoader, LoadError, WarehouseLoader
from dagster_project.extract.loader_postgres import PostgresLoader
from dagster_project.extract.postgres_types import postgres_type
from dagster_project.extract.reconcile import MassDeleteRefused, delete_missing_keys
from dagster_project.extract.schema_change import SchemaChangeError
from dagster_project.extract.sources import (
    CursorFilter,
    Source,
    SourceError,
    check_columns_exist,
)
from dagster_project.extract.sql import quote_literal
from dagster_project.settings import SettingsError


class NullCursorError(RuntimeError):
    """Source rows have a NULL cursor, so an incremental read would never see them."""


class ExtractError(RuntimeError):
    """An extraction failed on an error that did not name its table; this one does."""


# These errors name their table or setting already; any other is wrapped in ExtractError.
NAMED_ERRORS = (
    SettingsError,
    DeclarationError,
    SourceError,
    LoadError,
    NullCursorError,
    SchemaChangeError,
    MassDeleteRefused,
)

# The merge names a landing row by DuckDB's ``rowid`` and its working tables carry columns
# prefixed ``_extract_``: a source column of either name would hide or collide with them.
ROWID = "rowid"


def check_column_names(table: str, columns: list[SourceColumn]) -> None:
    """Raise DeclarationError for a column the warehouse cannot hold under its own name.

    DuckDB compares names without case, so two source columns that differ only in case
    cannot both land, and ``RowID`` hides the row identifier as ``rowid`` does.
    """
    seen: dict[str, str] = {}
    for column in columns:
        lowered = column.name.lower()
        if lowered in (LOADED_AT, ROWID) or lowered.startswith(RESERVED_PREFIX):
            raise DeclarationError(
                f"table {table!r}: the source column {column.name!r} has a name the warehouse "
                f"reserves ({LOADED_AT}, {ROWID} and names starting with {RESERVED_PREFIX}, "
                "in any case); rename it in the source or extract a view that renames it"
            )
        if lowered in seen:
            raise DeclarationError(
                f"table {table!r}: the source columns {seen[lowered]!r} and {column.name!r} "
                "differ only in case, which the DuckDB warehouse cannot tell apart; rename "
                "one in the source or extract a view that renames it"
            )
        seen[lowered] = column.name


@dataclass(frozen=True)
class ExtractResult:
    table: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    deleted: int
    watermark_before: str | None
    watermark_after: str | None
    schema_changes: tuple[str, ...]
    seconds: float
    future_cursor_rows: int = 0
    reloaded_missing_keys: int = 0
    """Source keys the reconciliation found missing in the warehouse, reloaded by a full read."""
    reloaded_stale_rows: int = 0
    """Source rows the reconciliation found landed with another cursor value, below the reach of
    the next incremental read, reloaded by a full read."""
    repeated_key_rows: int = 0
    """Rows read that repeat the primary key of another row read in the same run. Only the last
    version of each key is kept (the higher cursor, then the one read last)."""

    def as_metadata(self) -> dict:
        values = asdict(self)
        values["schema_changes"] = "; ".join(self.schema_changes) or "none"
        values["seconds"] = round(self.seconds, 3)
        return values


def resolve_spec(spec: TableSpec, source: Source) -> tuple[TableSpec, list[SourceColumn]]:
    """Complete the spec from the source catalog and check every column it names."""
    columns = source.columns(spec)
    check_column_names(spec.name, columns)
    spec = spec.with_primary_key(source.primary_key(spec))
    check_columns_exist(
        spec.name, [*spec.primary_key, spec.cursor or "", spec.soft_delete_column or ""], columns
    )
    if spec.cursor:
        cursor = cursor_column(spec, columns)
        if cursor.landing_type not in CURSOR_TYPES:
            raise DeclarationError(
                f"table {spec.name!r}: cursor {spec.cursor} has type {cursor.source_type}; "
                "a cursor must be a timestamp, a date or an integer"
            )
    return spec, columns


def cursor_column(spec: TableSpec, columns: list[SourceColumn]) -> SourceColumn:
    return next(column for column in columns if column.name == spec.cursor)


# A naive timestamp cursor may be written in any local time, so a naive value past UTC now plus
# MAX_UTC_OFFSET is in the future wherever it was written.


def cursor_ceiling(
    cursor: SourceColumn, now: datetime | None = None, time_zone: str | None = None
) -> str | None:
    """Return the highest cursor value the watermark may take, as text, or None for integers.

    A cursor dated in the future (a clock error, a placeholder such as 2099-01-01) would otherwise
    become the watermark, and every later row, dated now, would fall below it and never be read.
    Capped at the read time, the watermark stays honest and the future rows are read again on
    each run until the clock passes them. A naive timestamp is capped at the local time of
    ``time_zone`` when the table declares it (``cursor_time_zone``), else 14 hours ahead of UTC.
    """
    now = now or datetime.now(UTC)
    if cursor.landing_type == TIMESTAMPTZ:
        return now.isoformat()
    if cursor.landing_type == "TIMESTAMP":
        if time_zone:
            return now.astimezone(ZoneInfo(time_zone)).replace(tzinfo=None).isoformat()
        return (now.replace(tzinfo=None) + MAX_UTC_OFFSET).isoformat()
    if cursor.landing_type == "DATE":
        return (now + MAX_UTC_OFFSET).date().isoformat()
    return None


# Smallest value of a PostgreSQL bigint, the widest integer cursor.
MIN_INTEGER_CURSOR = -(2**63)


def lower_bound(watermark: object | None, lookback: timedelta) -> object | None:
    """Return ``watermark - lookback``: whole days for a date, cursor units for an integer.

    None (read every row) when the result falls before the earliest value of its type, as
    with a watermark of 0001-01-01 or a lookback of centuries.
    """
    if watermark is None:
        return None
    try:
        if isinstance(watermark, datetime):
            return watermark - lookback
        if isinstance(watermark, date):
            return watermark - timedelta(days=math.ceil(lookback / timedelta(days=1)))
    except OverflowError:
        return None
    bound = int(watermark) - int(lookback.total_seconds())
    return bound if bound >= MIN_INTEGER_CURSOR else None


def reach_of_next_read(
    loader: WarehouseLoader,
    spec: TableSpec,
    columns: list[SourceColumn],
    warehouse_type: Callable[[str], str],
) -> str | None:
    """Return, as an SQL expression, the lowest cursor value the next incremental read reads.

    None when the table has no cursor or the next read reads every row. ``warehouse_type``
    names a landing type in the warehouse's SQL.
    """
    if not spec.cursor:
        return None
    cursor = cursor_column(spec, columns)
    bound = lower_bound(loader.read_watermark(spec, cursor), spec.lookback)
    if bound is None:
        return None
    text = bound.isoformat() if isinstance(bound, date) else str(bound)
    return f"CAST({quote_literal(text)} AS {warehouse_type(cursor.landing_type)})"


def open_loader(connection) -> WarehouseLoader:
    """Return the loader of a DuckDB connection or of a PostgreSQL ADBC connection."""
    if isinstance(connection, duckdb.DuckDBPyConnection):
        return DuckDBLoader(connection)
    return PostgresLoader(connection)


def extract_table(
    spec: TableSpec,
    source: Source,
    connection,
    reconcile: bool = False,
    on_wait: Callable[[], None] | None = None,
) -> ExtractResult:
    """Bring the landing table up to date with the source; reconcile deletes when asked.

    ``on_wait`` is called once when another process's extraction or dbt build holds the
    warehouse first (a PostgreSQL warehouse: its writers take turns).

    ``connection`` is the embedded DuckDB warehouse or an ADBC connection, autocommit off, to a
    PostgreSQL warehouse. Deletes are reconciled only when ``reconcile`` is true and the table
    declares ``deletes: reconcile``. Every error names the table: an error from a driver or a
    database is raised as ExtractError, with the original as its cause.
    """
    try:
        loader = open_loader(connection)
        with loader.exclusive(on_wait):
            return _extract_table(spec, source, loader, reconcile)
    except NAMED_ERRORS:
        raise
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise ExtractError(
            f"table {spec.name!r}: extraction failed with {type(error).__name__}: {first_line} "
            "(the failed step was rolled back, so no part of it was committed)"
        ) from error


def _extract_table(
    spec: TableSpec, source: Source, loader: WarehouseLoader, reconcile: bool
) -> ExtractResult:
    started = time.perf_counter()
    spec, columns = resolve_spec(spec, source)
    plan = loader.plan(spec, columns)
    cursor_filter = None
    ceiling = None
    if spec.cursor:
        cursor = cursor_column(spec, columns)
        if spec.null_cursor == "fail":
            nulls = source.count_null_cursor(spec, spec.cursor)
            if nulls:
                raise NullCursorError(
                    f"table {spec.name!r}: {nulls} rows have a NULL cursor column "
                    f"{spec.cursor}, so an incremental read would never load them; fill it "
                    "in the source or set 'null_cursor: reload' for this table"
                )
        watermark = loader.read_watermark(spec, cursor)
        # Taken before the read, so a row committed during the read is never above the ceiling.
        ceiling = cursor_ceiling(cursor, time_zone=spec.cursor_time_zone)
        cursor_filter = CursorFilter(
            cursor, lower_bound(watermark, spec.lookback), spec.null_cursor == "reload"
        )
    if plan.needs_full_read:
        cursor_filter = None
    loaded = loader.load(
        spec, columns, plan, source.read_rows(spec, columns, cursor_filter), ceiling
    )
    deleted = absent = stale = 0
    if reconcile and spec.reconciles_deletes:
        key_columns = [
            column
            for column in columns
            if column.name in spec.primary_key or column.name == spec.cursor
        ]
        keys = source.read_rows(spec, key_columns, None)
        if isinstance(loader, PostgresLoader):
            bound = reach_of_next_read(loader, spec, columns, postgres_type)
            deleted, _, absent, stale = loader.delete_missing_keys(spec, key_columns, keys, bound)
        else:
            bound = reach_of_next_read(loader, spec, columns, lambda landing_type: landing_type)
            deleted, _, absent, stale = delete_missing_keys(
                loader.connection, spec, key_columns, keys, bound
            )
    if absent or stale:
        # Source rows the cursor filter cannot reach: restored from a backup, inserted again
        # with a cursor below the watermark, or with a cursor moved back below it. A full read
        # merges them; unchanged rows stay as they are.
        again = loader.load(
            spec,
            columns,
            loader.plan(spec, columns),
            source.read_rows(spec, columns, None),
            ceiling,
        )
        loaded = dataclasses.replace(
            loaded,
            rows_read=loaded.rows_read + again.rows_read,
            inserted=loaded.inserted + again.inserted,
            updated=loaded.updated + again.updated,
            unchanged=loaded.unchanged + again.unchanged,
        )
    return ExtractResult(
        table=spec.name,
        rows_read=loaded.rows_read,
        inserted=loaded.inserted,
        updated=loaded.updated,
        unchanged=loaded.unchanged,
        deleted=deleted,
        watermark_before=loaded.watermark_before,
        watermark_after=loaded.watermark_after,
        schema_changes=loaded.schema_changes,
        seconds=time.perf_counter() - started,
        future_cursor_rows=loaded.future_cursor_rows,
        reloaded_missing_keys=absent,
        reloaded_stale_rows=stale,
        repeated_key_rows=(
            loaded.rows_read - loaded.inserted - loaded.updated - loaded.unchanged
            if spec.primary_key
            else 0
        ),
    )
