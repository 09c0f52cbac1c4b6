"""Where a candidate's rows come from: the embedded DuckDB warehouse or a PostgreSQL one.

Both copy a zone's rows of every table in schema ``marts`` into the candidate DuckDB file and
return the two facts the gate needs from the source side: the zone's order-line total in the raw
landing tables, and the extraction watermarks in ``raw._extract_state``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import adbc_driver_postgresql.dbapi as adbc
import duckdb
import pyarrow as pa

from dagster_project.duckdb_files import check_duckdb_file
from dagster_project.gate.candidate import (
    MART_SCHEMA,
    ZONE_COLUMN,
    CandidateError,
    table_columns,
)
from dagster_project.gate.candidate import quote_identifier as quote
from dagster_project.gate.row_delta import apply_row_delta, delta_applies_to

RAW_SCHEMA = "raw"
EXTRACT_STATE_TABLE = "_extract_state"
SOURCE_TABLES = ("sales_order_lines", "sales_orders", "customers")
# The zone of an order line is its customer's zone, and each line is rounded to the cent as in
# fct_order_lines.net_amount. The same SQL runs on DuckDB and PostgreSQL.
ORDER_LINE_TOTAL_SQL = """
select coalesce(sum(round(
    lines.quantity * lines.unit_price * (1 - lines.discount_rate), 2
)), 0)
from {raw}.sales_order_lines as lines
join {raw}.sales_orders as orders using (order_id)
join {raw}.customers as customers using (customer_id)
where customers.zone_code = {parameter}
"""
# Written by the dbt project's build hooks (dbt_project/macros/build_outcome.sql).
STATE_SCHEMA = "test_state"
BUILD_OUTCOME_TABLE = "build_outcome"
BUILD_OUTCOME_SQL = "select started_at, finished_at, failed_nodes from {table}"
# PostgreSQL NUMERIC without a declared precision is read into this DuckDB type, which stores
# 28 integer digits and 10 decimals.
UNCONSTRAINED_NUMERIC = "DECIMAL(38, 10)"


class MissingSourceError(LookupError):
    """The raw tables needed to reconcile a zone are not in the warehouse."""


class Warehouse(Protocol):
    """The side a candidate is copied from. ``describe()`` names it in messages.

    A warehouse whose ``updates_in_place`` is true also has ``update_zone_tables``, which brings
    a copy of the zone's published mart level with it instead of copying every row.
    """

    updates_in_place: bool

    def describe(self) -> str: ...

    def copy_zone_tables(self, candidate: duckdb.DuckDBPyConnection, zone_code: str) -> list[str]:
        """Copy the zone's rows of every mart table into ``candidate`` and return the tables."""
        ...

    def order_line_total(self, candidate: duckdb.DuckDBPyConnection, zone_code: str) -> Decimal: ...

    def source_watermarks(self, candidate: duckdb.DuckDBPyConnection) -> list[dict]: ...

    def unfinished_build(self, candidate: duckdb.DuckDBPyConnection) -> str | None:
        """Describe the dbt nodes not built and tested since a build selected them, or None."""
        ...


def describe_build_outcome(rows: list[tuple]) -> str | None:
    """Describe the pending nodes of the build outcome table, or return None when there are none.

    No row (a warehouse built before the dbt project recorded its builds) counts as finished.
    """
    if not rows:
        return None
    started_at, finished_at, pending = rows[0]
    nodes = [node for node in (pending or "").split(", ") if node]
    if finished_at is not None and not nodes:
        return None
    listing = ", ".join(nodes[:8]) + (f" and {len(nodes) - 8} more" if len(nodes) > 8 else "")
    state = "did not finish (it is still running, or it was stopped)"
    if finished_at is not None:
        state = "finished with nodes that failed or were skipped"
    return (
        f"the dbt build started at {started_at} {state}, so the warehouse's marts may be half "
        f"rebuilt; not yet built and tested: {listing or 'every node it selected'}"
    )


def _require_source_tables(warehouse: Warehouse, present: list[str]) -> None:
    missing = sorted(set(SOURCE_TABLES) - set(present))
    if missing:
        raise MissingSourceError(
            f"raw table(s) missing in {warehouse.describe()}: {', '.join(missing)}"
        )


class DuckDBWarehouse:
    """The embedded warehouse file, attached read-only to the candidate as ``warehouse``."""

    alias = "warehouse"
    updates_in_place = True

    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> str:
        return f"the warehouse {self.path}"

    def _attach(self, candidate: duckdb.DuckDBPyConnection) -> None:
        attached = candidate.execute(
            "select count(*) from duckdb_databases() where database_name = ?", [self.alias]
        ).fetchall()[0][0]
        if attached:
            return
        if not self.path.exists():
            raise CandidateError(
                f"warehouse {self.path} not found: run the refresh job (extraction and dbt) first"
            )
        try:
            check_duckdb_file(self.path)
        except duckdb.IOException as error:
            raise CandidateError(f"{error}: set WAREHOUSE_PATH to the DuckDB warehouse") from error
        try:
            candidate.execute(f"ATTACH ? AS {self.alias} (READ_ONLY)", [str(self.path)])
        except duckdb.IOException as error:
            raise CandidateError(
                f"cannot open the warehouse {self.path} read-only ({error}). Another process "
                "may be writing it"
            ) from error

    def _tables(self, candidate: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
        self._attach(candidate)
        rows = candidate.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = ? and table_schema = ? order by table_name",
            [self.alias, schema],
        ).fetchall()
        return [name for (name,) in rows]

    def _zone_filter(
        self, candidate: duckdb.DuckDBPyConnection, table: str, zone_code: str
    ) -> tuple[str, str | None, list]:
        """Return a mart table's relation, the filter on the zone's rows (the table as ``s``)
        and its parameters. A table without a zone column has no filter."""
        source = f"{self.alias}.{MART_SCHEMA}.{quote(table)}"
        columns = table_columns(candidate, table, MART_SCHEMA, self.alias)
        if ZONE_COLUMN in {name for name, _ in columns}:
            return source, f"s.{ZONE_COLUMN} = ?", [zone_code]
        return source, None, []

    def copy_zone_tables(self, candidate: duckdb.DuckDBPyConnection, zone_code: str) -> list[str]:
        tables = self._tables(candidate, MART_SCHEMA)
        for table in tables:
            self._copy_zone_table(candidate, table, zone_code)
        return tables

    def _copy_zone_table(
        self, candidate: duckdb.DuckDBPyConnection, table: str, zone_code: str
    ) -> None:
        source, condition, parameters = self._zone_filter(candidate, table, zone_code)
        where = f" WHERE {condition}" if condition else ""
        candidate.execute(
            f"CREATE TABLE {quote(table)} AS SELECT * FROM {source} AS s{where}", parameters
        )

    def update_zone_tables(
        self, candidate: duckdb.DuckDBPyConnection, zone_code: str
    ) -> tuple[list[str], list[str], dict[str, str]]:
        """Bring a candidate copied from the zone's published mart level with the warehouse.

        Tables keep their unchanged rows (see row_delta.py). A view, a table whose columns
        changed, and one that ``delta_applies_to`` excludes are copied whole. Tables the
        warehouse does not hold, such as the previous publish log and quarantine, are dropped.
        Return the mart tables, those copied whole, and the content digest of each table updated
        in place.
        """
        tables = self._tables(candidate, MART_SCHEMA)
        existing = candidate.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = current_database() and table_schema = 'main'"
        ).fetchall()
        for (name,) in existing:
            if name not in tables:
                candidate.execute(f"DROP TABLE {quote(name)}")
        # The delta reads source rows by rowid, which a view does not have.
        base_tables = {
            name
            for (name,) in candidate.execute(
                "select table_name from information_schema.tables where table_catalog = ? "
                "and table_schema = ? and table_type = 'BASE TABLE'",
                [self.alias, MART_SCHEMA],
            ).fetchall()
        }
        copied = []
        digests = {}
        for table in tables:
            source_columns = table_columns(candidate, table, MART_SCHEMA, self.alias)
            if (
                table in base_tables
                and table_columns(candidate, table) == source_columns
                and delta_applies_to(source_columns)
            ):
                names = [name for name, _ in source_columns]
                source, condition, parameters = self._zone_filter(candidate, table, zone_code)
                delta = apply_row_delta(candidate, table, names, source, condition, parameters)
                digests[table] = delta.digest
                continue
            candidate.execute(f"DROP TABLE IF EXISTS {quote(table)}")
            self._copy_zone_table(candidate, table, zone_code)
            copied.append(table)
        return tables, copied, digests

    def order_line_total(self, candidate: duckdb.DuckDBPyConnection, zone_code: str) -> Decimal:
        _require_source_tables(self, self._tables(candidate, RAW_SCHEMA))
        sql = ORDER_LINE_TOTAL_SQL.format(raw=f"{self.alias}.{RAW_SCHEMA}", parameter="?")
        return Decimal(str(candidate.execute(sql, [zone_code]).fetchall()[0][0]))

    def source_watermarks(self, candidate: duckdb.DuckDBPyConnection) -> list[dict]:
        if EXTRACT_STATE_TABLE not in self._tables(candidate, RAW_SCHEMA):
            return []
        rows = candidate.execute(
            f"select to_json(state)::varchar "
            f"from {self.alias}.{RAW_SCHEMA}.{EXTRACT_STATE_TABLE} as state"
        ).fetchall()
        return [json.loads(row) for (row,) in rows]

    def unfinished_build(self, candidate: duckdb.DuckDBPyConnection) -> str | None:
        if BUILD_OUTCOME_TABLE not in self._tables(candidate, STATE_SCHEMA):
            return None
        table = f"{self.alias}.{STATE_SCHEMA}.{BUILD_OUTCOME_TABLE}"
        return describe_build_outcome(
            candidate.execute(BUILD_OUTCOME_SQL.format(table=table)).fetchall()
        )


def _duckdb_type(field: pa.Field) -> str | None:
    """Return the DuckDB type for a PostgreSQL NUMERIC field read by ADBC, else None."""
    metadata = field.metadata or {}
    if metadata.get(b"POSTGRESQL:type") != b"numeric":
        return None
    typmod = int(metadata.get(b"POSTGRESQL:typmod", b"-1"))
    if typmod < 4:
        return UNCONSTRAINED_NUMERIC
    precision, scale = (typmod - 4) >> 16, (typmod - 4) & 0xFFFF
    return f"DECIMAL({precision}, {scale})" if precision <= 38 else UNCONSTRAINED_NUMERIC


def _plain_arrow(table: pa.Table) -> tuple[pa.Table, dict[str, str]]:
    """Turn ADBC's NUMERIC text columns into plain strings; return the DuckDB casts to apply."""
    casts = {}
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        target = _duckdb_type(field)
        if target is not None:
            column = pa.chunked_array(
                [chunk.storage if hasattr(chunk, "storage") else chunk for chunk in column.chunks],
                pa.string(),
            )
            casts[field.name] = target
        columns.append(column)
    return pa.table(columns, names=table.schema.names), casts


class PostgresWarehouse:
    """A PostgreSQL warehouse, read through ADBC into the candidate."""

    # Production publishes to PostgreSQL schemas and audits every row, from a candidate built
    # whole: no published DuckDB file exists to start from.
    updates_in_place = False

    def __init__(self, url: str) -> None:
        self.url = url

    def describe(self) -> str:
        return "the PostgreSQL warehouse"

    def _query(self, sql: str, parameters: list | None = None) -> pa.Table:
        with adbc.connect(self.url) as connection, connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetch_arrow_table()

    def _tables(self, schema: str) -> list[str]:
        result = self._query(
            "select table_name::text from information_schema.tables "
            "where table_schema = $1 order by table_name",
            [schema],
        )
        return result.column(0).to_pylist()

    def copy_zone_tables(self, candidate: duckdb.DuckDBPyConnection, zone_code: str) -> list[str]:
        tables = self._tables(MART_SCHEMA)
        for table in tables:
            columns = self._query(
                "select column_name::text from information_schema.columns "
                "where table_schema = $1 and table_name = $2",
                [MART_SCHEMA, table],
            ).column(0)
            source = f"{quote(MART_SCHEMA)}.{quote(table)}"
            if ZONE_COLUMN in columns.to_pylist():
                rows = self._query(f"select * from {source} where {ZONE_COLUMN} = $1", [zone_code])
            else:
                rows = self._query(f"select * from {source}")
            plain, casts = _plain_arrow(rows)
            select = ", ".join(
                f"CAST({quote(name)} AS {casts[name]}) AS {quote(name)}"
                if name in casts
                else quote(name)
                for name in plain.schema.names
            )
            candidate.register("postgres_rows", plain)
            try:
                candidate.execute(
                    f"CREATE TABLE {quote(table)} AS SELECT {select} FROM postgres_rows"
                )
            finally:
                candidate.unregister("postgres_rows")
        return tables

    def order_line_total(self, candidate: duckdb.DuckDBPyConnection, zone_code: str) -> Decimal:
        _require_source_tables(self, self._tables(RAW_SCHEMA))
        sql = ORDER_LINE_TOTAL_SQL.format(raw=RAW_SCHEMA, parameter="$1")
        result = self._query(f"select ({sql})::text", [zone_code])
        return Decimal(result.column(0)[0].as_py())

    def source_watermarks(self, candidate: duckdb.DuckDBPyConnection) -> list[dict]:
        if EXTRACT_STATE_TABLE not in self._tables(RAW_SCHEMA):
            return []
        result = self._query(
            f"select to_jsonb(state)::text from {RAW_SCHEMA}.{EXTRACT_STATE_TABLE} as state"
        )
        return [json.loads(row) for row in result.column(0).to_pylist()]

    def unfinished_build(self, candidate: duckdb.DuckDBPyConnection) -> str | None:
        if BUILD_OUTCOME_TABLE not in self._tables(STATE_SCHEMA):
            return None
        result = self._query(
            BUILD_OUTCOME_SQL.format(table=f"{STATE_SCHEMA}.{BUILD_OUTCOME_TABLE}")
        )
        return describe_build_outcome([tuple(row.values()) for row in result.to_pylist()])
