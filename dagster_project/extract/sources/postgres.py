"""Read a PostgreSQL Base Opération through ADBC (binary COPY), typed from pg_catalog."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import adbc_driver_postgresql.dbapi as adbc_postgres
import pyarrow as pa

from dagster_project.access.secrets import mask_secrets, mask_url
from dagster_project.extract.columns import SourceColumn, postgres_column
from dagster_project.extract.declaration import TableSpec
from dagster_project.extract.sources import CursorFilter, SourceError
from dagster_project.extract.sources.base import AdbcSource, read_ahead
from dagster_project.extract.sql import quote_identifier, quote_literal

DEFAULT_SCHEMA = "public"

# Fixed session settings, so every value read as text (numeric, JSON of arrays, fallbacks)
# has one form whatever the server's or the role's defaults are.
SESSION_SETTINGS = (
    "SET TimeZone TO 'UTC'",
    "SET DateStyle TO 'ISO, YMD'",
    "SET IntervalStyle TO 'iso_8601'",
    "SET extra_float_digits TO 3",
)

# Base type (domains resolved), array marker and element type of every column.
COLUMNS_QUERY = """
SELECT a.attname,
       base.typname,
       CASE WHEN base.typcategory = 'A' THEN 'A' ELSE base.typtype END,
       CASE WHEN declared.typtype = 'd' THEN declared.typtypmod ELSE a.atttypmod END,
       element.typname,
       format_type(a.atttypid, a.atttypmod),
       a.attnum
FROM pg_attribute AS a
JOIN pg_type AS declared ON declared.oid = a.atttypid
JOIN pg_type AS base ON base.oid = CASE
    WHEN declared.typtype = 'd' THEN declared.typbasetype ELSE declared.oid END
LEFT JOIN pg_type AS element
    ON element.oid = base.typelem AND base.typcategory = 'A'
WHERE a.attrelid = {relation} AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

PRIMARY_KEY_QUERY = """
SELECT a.attname
FROM pg_index AS i
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k (attnum, position)
JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = {relation} AND i.indisprimary
ORDER BY k.position
"""

# Plain and partitioned tables; a partition is read through its parent.
TABLES_QUERY = """
SELECT c.relname
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = {schema} AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
"""

INDEXED_QUERY = """
SELECT DISTINCT a.attname
FROM pg_index AS i
JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = {relation}
"""

# Comparison type for the cursor bound, by landing type.
_BOUND_TYPES = {
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMP": "timestamp",
    "DATE": "date",
    "SMALLINT": "bigint",
    "INTEGER": "bigint",
    "BIGINT": "bigint",
}


class PostgresSource(AdbcSource):
    def __init__(self, url: str, schema: str = DEFAULT_SCHEMA) -> None:
        self.url = url
        self.schema = schema
        try:
            self.connection = adbc_postgres.connect(url, autocommit=True)
        except adbc_postgres.Error as error:
            # libpq quotes the part of the URL it cannot parse, which may be the password.
            raise SourceError(
                f"cannot connect to the PostgreSQL source {mask_url(url)}: "
                f"{mask_secrets(str(error), url)}"
            ) from None
        with self.connection.cursor() as cursor:
            for statement in SESSION_SETTINGS:
                cursor.execute(statement)

    def table_reference(self, table: str, schema: str | None = None) -> str:
        return f"{quote_identifier(schema or self.schema)}.{quote_identifier(table)}"

    def _relation(self, table: str, schema: str | None = None) -> str:
        """Return the table's oid expression, or raise when the table does not exist."""
        qualified = quote_literal(self.table_reference(table, schema))
        if self._fetch(f"SELECT to_regclass({qualified}) IS NOT NULL")[0][0] is not True:
            raise SourceError(
                f"table {table!r} not found in schema {schema or self.schema!r} "
                "of the PostgreSQL source"
            )
        return f"{qualified}::regclass"

    def columns(self, spec: TableSpec) -> list[SourceColumn]:
        relation = self._relation(spec.name, spec.schema)
        rows = self._fetch(COLUMNS_QUERY.format(relation=relation))
        return [
            dataclasses.replace(
                postgres_column(name, type_name, kind, int(typmod), element, declared),
                position=int(position),
            )
            for name, type_name, kind, typmod, element, declared, position in rows
        ]

    def primary_key(self, spec: TableSpec) -> tuple[str, ...]:
        relation = self._relation(spec.name, spec.schema)
        return tuple(row[0] for row in self._fetch(PRIMARY_KEY_QUERY.format(relation=relation)))

    def read_rows(
        self, spec: TableSpec, columns: list[SourceColumn], cursor_filter: CursorFilter | None
    ) -> pa.RecordBatchReader:
        selected = ", ".join(
            f"{column.select_sql} AS {quote_identifier(column.name)}" for column in columns
        )
        query = f"SELECT {selected} FROM {self.table_reference(spec.name, spec.schema)}"
        query += _where_clause(cursor_filter)
        reader, cursor = self._stream(query)
        return pa.RecordBatchReader.from_batches(reader.schema, read_ahead(reader, cursor))

    def list_tables(self) -> list[str]:
        return [
            row[0] for row in self._fetch(TABLES_QUERY.format(schema=quote_literal(self.schema)))
        ]

    def indexed_columns(self, table: str) -> set[str]:
        relation = self._relation(table)
        return {row[0] for row in self._fetch(INDEXED_QUERY.format(relation=relation))}


def _where_clause(cursor_filter: CursorFilter | None) -> str:
    if cursor_filter is None or cursor_filter.lower_bound is None:
        return ""
    column = quote_identifier(cursor_filter.column.name)
    bound = cursor_filter.lower_bound
    text = bound.isoformat() if isinstance(bound, datetime | date) else str(int(bound))
    bound_type = _BOUND_TYPES[cursor_filter.column.landing_type]
    condition = f"{column} >= CAST({quote_literal(text)} AS {bound_type})"
    if cursor_filter.include_nulls:
        condition = f"({condition} OR {column} IS NULL)"
    return f" WHERE {condition}"
