"""Queries that SQLite and PostgreSQL sources run alike through an ADBC connection."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from dagster_project.extract.declaration import TableSpec
from dagster_project.extract.sql import quote_identifier


class AdbcSource:
    """Base of the ADBC sources; subclasses set ``connection`` and name tables."""

    url: str
    connection = None

    def table_reference(self, table: str, schema: str | None = None) -> str:
        raise NotImplementedError

    def close(self) -> None:
        self.connection.close()

    def _fetch(self, query: str) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchall()

    def _stream(self, query: str) -> tuple[pa.RecordBatchReader, object]:
        """Start a streaming query; the cursor must stay open until the reader is drained."""
        cursor = self.connection.cursor()
        cursor.execute(query)
        return cursor.fetch_record_batch(), cursor

    def count_null_cursor(self, spec: TableSpec, cursor: str) -> int:
        query = (
            f"SELECT count(*) FROM {self.table_reference(spec.name, spec.schema)} "
            f"WHERE {quote_identifier(cursor)} IS NULL"
        )
        return int(self._fetch(query)[0][0])

    def max_cursor(self, spec: TableSpec) -> str | None:
        """Return the max cursor value as text: cheap with an index, for change detection."""
        if spec.cursor is None:
            return None
        query = (
            f"SELECT CAST(max({quote_identifier(spec.cursor)}) AS TEXT) "
            f"FROM {self.table_reference(spec.name, spec.schema)}"
        )
        return self._fetch(query)[0][0]

    def row_count(self, table: str) -> int:
        return int(self._fetch(f"SELECT count(*) FROM {self.table_reference(table)}")[0][0])


def close_when_drained(reader: pa.RecordBatchReader, cursor) -> Iterator[pa.RecordBatch]:
    try:
        yield from reader
    finally:
        cursor.close()
