"""Replace the zone_context tables in a DuckDB or PostgreSQL warehouse, atomically."""

from __future__ import annotations

import duckdb
import psycopg
import pyarrow as pa

from dagster_project.context.tables import ContextTable

SCHEMA = "zone_context"


def _create_table_sql(table: ContextTable) -> str:
    columns = ", ".join(f"{name} {sql_type}" for name, sql_type in table.columns)
    return f"create table {SCHEMA}.{table.name} ({columns})"


def read_duckdb_rows(connection: duckdb.DuckDBPyConnection, table: ContextTable) -> list[tuple]:
    """Return the rows of ``table`` already in the warehouse, or [] before the first load."""
    exists = connection.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [SCHEMA, table.name],
    ).fetchall()
    if exists[0][0] == 0:
        return []
    names = ", ".join(name for name, _ in table.columns)
    return connection.execute(f"select {names} from {SCHEMA}.{table.name}").fetchall()


def read_postgres_rows(url: str, table: ContextTable) -> list[tuple]:
    """Return the rows of ``table`` already in the warehouse, or [] before the first load."""
    with psycopg.connect(url) as connection:
        found = connection.execute("select to_regclass(%s)", (f"{SCHEMA}.{table.name}",)).fetchall()
        if found[0][0] is None:
            return []
        names = ", ".join(name for name, _ in table.columns)
        return connection.execute(f"select {names} from {SCHEMA}.{table.name}").fetchall()


def write_duckdb(connection: duckdb.DuckDBPyConnection, tables: list[ContextTable]) -> None:
    """Replace every table in one transaction, so readers never see a half-written context."""
    connection.execute("begin transaction")
    try:
        connection.execute(f"create schema if not exists {SCHEMA}")
        for table in tables:
            names = [name for name, _ in table.columns]
            batch = pa.Table.from_pylist([dict(zip(names, row, strict=True)) for row in table.rows])
            connection.execute(f"drop table if exists {SCHEMA}.{table.name}")
            connection.execute(_create_table_sql(table))
            connection.register("context_batch", batch)
            connection.execute(
                f"insert into {SCHEMA}.{table.name} select {', '.join(names)} from context_batch"
            )
            connection.unregister("context_batch")
        connection.execute("commit")
    except Exception:
        connection.execute("rollback")
        raise


def write_postgres(url: str, tables: list[ContextTable]) -> None:
    """Replace every table in one PostgreSQL transaction, streaming the rows with COPY."""
    with psycopg.connect(url) as connection, connection.transaction():
        connection.execute(f"create schema if not exists {SCHEMA}")
        for table in tables:
            names = ", ".join(name for name, _ in table.columns)
            existing = connection.execute(
                "select column_name::text from information_schema.columns "
                "where table_schema = %s and table_name = %s order by ordinal_position",
                [SCHEMA, table.name],
            ).fetchall()
            if [name for (name,) in existing] == [name for name, _ in table.columns]:
                # Emptied, not dropped: dbt's staging views depend on the table, and PostgreSQL
                # refuses to drop it under them.
                connection.execute(f"delete from {SCHEMA}.{table.name}")
            else:
                # The columns changed: drop the views too, and the dbt run that follows
                # recreates them.
                connection.execute(f"drop table if exists {SCHEMA}.{table.name} cascade")
                connection.execute(_create_table_sql(table))
            with connection.cursor().copy(
                f"copy {SCHEMA}.{table.name} ({names}) from stdin"
            ) as copy:
                for row in table.rows:
                    copy.write_row(row)
