"""Read a SQLite Base Opération through ADBC, every value as text (see columns.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import adbc_driver_sqlite.dbapi as adbc_sqlite
import pyarrow as pa
import pyarrow.compute as pc

from dagster_project.extract.columns import MAX_UTC_OFFSET, SourceColumn, sqlite_column
from dagster_project.extract.declaration import TableSpec
from dagster_project.extract.sources import SQLITE_PREFIX, CursorFilter, SourceError
from dagster_project.extract.sources.base import AdbcSource
from dagster_project.extract.sql import quote_identifier, quote_literal

SENTINEL = "_extract_sentinel"


class SqliteSource(AdbcSource):
    def __init__(self, url: str) -> None:
        self.url = url
        path = Path(url.removeprefix(SQLITE_PREFIX))
        if not path.is_file():
            raise SourceError(f"SQLite source {path} not found (from source URL {url!r})")
        self.connection = adbc_sqlite.connect(str(path))

    def table_reference(self, table: str, schema: str | None = None) -> str:
        return quote_identifier(table)

    def _table_info(self, table: str) -> list[tuple]:
        rows = self._fetch(f"PRAGMA table_info({quote_identifier(table)})")
        if not rows:
            raise SourceError(f"table {table!r} not found in the SQLite source {self.url}")
        return rows

    def columns(self, spec: TableSpec) -> list[SourceColumn]:
        # NOTE: no position is recorded, because SQLite renumbers columns when one is dropped,
        # so a column dropped and added again under the same name is not noticed.
        return [sqlite_column(row[1], row[2] or "") for row in self._table_info(spec.name)]

    def primary_key(self, spec: TableSpec) -> tuple[str, ...]:
        keyed = sorted((row[5], row[1]) for row in self._table_info(spec.name) if row[5])
        return tuple(name for _, name in keyed)

    def read_rows(
        self, spec: TableSpec, columns: list[SourceColumn], cursor_filter: CursorFilter | None
    ) -> pa.RecordBatchReader:
        # The driver fixes each column's Arrow type from the first rows it reads, and a column
        # whose first rows are NULL becomes int64 and then fails on text. A first row of empty
        # strings (removed below) makes every column a string column.
        sentinel_values = ", ".join(
            ("X''" if column.landing_type == "BLOB" else "''")
            + f" AS {quote_identifier(column.name)}"
            for column in columns
        )
        selected = ", ".join(
            f"{column.select_sql} AS {quote_identifier(column.name)}" for column in columns
        )
        query = (
            f"SELECT 1 AS {SENTINEL}, {sentinel_values} UNION ALL "
            f"SELECT 0, {selected} FROM {quote_identifier(spec.name)}"
            f"{_where_clause(cursor_filter)}"
        )
        reader, cursor = self._stream(query)
        schema = reader.schema.remove(0)
        return pa.RecordBatchReader.from_batches(schema, _without_sentinel(reader, cursor))

    def list_tables(self) -> list[str]:
        query = (
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        return [row[0] for row in self._fetch(query)]

    def indexed_columns(self, table: str) -> set[str]:
        leading = set()
        for index in self._fetch(f"PRAGMA index_list({quote_identifier(table)})"):
            info = self._fetch(f"PRAGMA index_info({quote_identifier(index[1])})")
            leading.update(row[2] for row in info if row[0] == 0)
        return leading


def _without_sentinel(reader: pa.RecordBatchReader, cursor) -> Iterator[pa.RecordBatch]:
    try:
        for batch in reader:
            keep = pc.equal(batch.column(0), 0)
            yield batch.filter(keep).drop_columns([SENTINEL])
    finally:
        cursor.close()


# Text below this sorts before every digit, as ' 2026-01-05' does. It is '/', not '0', because
# SQLite compares a column of numeric affinity with '0' as with the number 0.
BEFORE_DIGITS = "'/'"


def _where_clause(cursor_filter: CursorFilter | None) -> str:
    if cursor_filter is None or cursor_filter.lower_bound is None:
        return ""
    column = quote_identifier(cursor_filter.column.name)
    bound = cursor_filter.lower_bound
    if isinstance(bound, datetime):
        condition = _timestamp_condition(
            column, bound, naive=cursor_filter.column.landing_type == "TIMESTAMP"
        )
    elif isinstance(bound, date):
        condition = (
            f"({column} >= {quote_literal(bound.isoformat())} OR {column} < {BEFORE_DIGITS})"
        )
    else:
        condition = f"{column} >= {int(bound)}"
    if cursor_filter.include_nulls:
        condition = f"({condition} OR {column} IS NULL)"
    return f" WHERE {condition}"


def _millisecond_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _timestamp_condition(column: str, bound: datetime, naive: bool) -> str:
    """Condition that keeps every row whose cursor, as DuckDB lands it, is at or after ``bound``.

    SQLite's date functions convert an ISO 8601 offset to UTC but keep milliseconds only, so the
    bound is floored to the millisecond: the filter may re-read rows up to 1 ms older, never
    skip one. Text they cannot read (an offset written ``+00`` or `` UTC``, say) gives NULL:
    such rows are read on every run while their text sorts after the day before the bound,
    rather than never. A naive cursor lands with the wall time written, offset dropped, so a
    row with an offset is compared with the bound moved 14 hours earlier.
    """
    if bound.tzinfo is not None:
        bound = bound.astimezone(UTC)
    floored = bound.replace(microsecond=bound.microsecond // 1000 * 1000, tzinfo=None)
    moment = f"strftime('%Y-%m-%d %H:%M:%f', {column})"
    after = f"{moment} >= {quote_literal(_millisecond_text(floored))} OR {moment} IS NULL"
    if naive:
        earliest = quote_literal(_millisecond_text(floored - MAX_UTC_OFFSET))
        after += f" OR (substr({column}, -6, 1) IN ('+', '-') AND {moment} >= {earliest})"
    # strftime() hides the column from any index, so a plain text comparison on the date comes
    # first and lets SQLite search an index on the cursor. Stored text starts with the local
    # date, at most 14 hours away from UTC, so one day earlier never drops a row. Text sorting
    # before the digits (a leading space, say) is kept too: DuckDB reads ' 2026-01-05' as a date.
    day_before = (floored - timedelta(days=1)).date().isoformat()
    return f"({column} >= {quote_literal(day_before)} OR {column} < {BEFORE_DIGITS}) AND ({after})"
