"""Readers for the Base Opération: SQLite (embedded demo) and PostgreSQL (production).

Both stream Arrow record batches through ADBC and expose the same catalog queries, so the
loader never needs to know which database a table came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

import pyarrow as pa

from dagster_project.extract.columns import SourceColumn
from dagster_project.extract.declaration import TableSpec

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


class SourceError(RuntimeError):
    """The source database cannot be read as declared (missing table or column, bad URL)."""


@dataclass(frozen=True)
class CursorFilter:
    """Rows to read: ``cursor >= lower_bound`` (inclusive), plus NULL cursors when asked."""

    column: SourceColumn
    lower_bound: datetime | date | int | None
    include_nulls: bool = False


class Source(Protocol):
    """A source database that the extraction can read from."""

    url: str

    def columns(self, spec: TableSpec) -> list[SourceColumn]: ...

    def primary_key(self, spec: TableSpec) -> tuple[str, ...]: ...

    def read_rows(
        self, spec: TableSpec, columns: list[SourceColumn], cursor_filter: CursorFilter | None
    ) -> pa.RecordBatchReader: ...

    def count_null_cursor(self, spec: TableSpec, cursor: str) -> int: ...

    def max_cursor(self, spec: TableSpec) -> str | None: ...

    def list_tables(self) -> list[str]: ...

    def row_count(self, table: str) -> int: ...

    def indexed_columns(self, table: str) -> set[str]: ...

    def close(self) -> None: ...


def open_source(url: str) -> Source:
    """Connect to ``sqlite:///path`` or ``postgresql://...``."""
    if url.startswith(SQLITE_PREFIX):
        from dagster_project.extract.sources.sqlite import SqliteSource

        return SqliteSource(url)
    if url.startswith(POSTGRES_PREFIXES):
        from dagster_project.extract.sources.postgres import PostgresSource

        return PostgresSource(url)
    # Only the scheme is shown: the rest of the URL may hold a password.
    raise SourceError(
        f"source URL scheme {url.partition(':')[0]!r} is not supported: use sqlite:///PATH or "
        "postgresql://..."
    )


def check_columns_exist(table: str, names: list[str], available: list[SourceColumn]) -> None:
    """Raise when declared columns are absent from the source table."""
    known = {column.name for column in available}
    missing = [name for name in names if name and name not in known]
    if missing:
        raise SourceError(
            f"table {table!r}: column {', '.join(missing)} not found in the source "
            f"(columns: {', '.join(sorted(known))}); fix the extraction declaration"
        )
