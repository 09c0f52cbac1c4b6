"""Fixtures for the extraction tests: a small source database (SQLite or PostgreSQL) and a
DuckDB warehouse, both created per test."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import psycopg
import pytest

from dagster_project.extract.declaration import BUILT_IN_DEFAULTS, parse_table
from dagster_project.extract.run import ExtractResult, extract_table
from dagster_project.extract.sources import open_source


@dataclass
class SourceDatabase:
    """A source database the test fills with plain SQL."""

    dialect: str
    url: str

    def run(self, *statements: str) -> None:
        if self.dialect == "sqlite":
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as connection:
                for statement in statements:
                    connection.execute(statement)
        else:
            with psycopg.connect(self.url, autocommit=True) as connection:
                for statement in statements:
                    connection.execute(statement)

    def rows(self, query: str) -> list[tuple]:
        if self.dialect == "sqlite":
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as connection:
                return connection.execute(query).fetchall()
        with psycopg.connect(self.url) as connection:
            return connection.execute(query).fetchall()


@pytest.fixture(params=["sqlite", "postgres"])
def source(request, tmp_path) -> SourceDatabase:
    if request.param == "sqlite":
        path = tmp_path / "source.sqlite"
        sqlite3.connect(path).close()
        return SourceDatabase("sqlite", f"sqlite:///{path}")
    return SourceDatabase("postgres", request.getfixturevalue("postgres_database"))


@pytest.fixture
def sqlite_source(tmp_path) -> SourceDatabase:
    path = tmp_path / "source.sqlite"
    sqlite3.connect(path).close()
    return SourceDatabase("sqlite", f"sqlite:///{path}")


@pytest.fixture
def postgres_source(postgres_database) -> SourceDatabase:
    return SourceDatabase("postgres", postgres_database)


@pytest.fixture
def warehouse(tmp_path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()


def extract(
    table: str,
    source: SourceDatabase,
    warehouse: duckdb.DuckDBPyConnection,
    reconcile: bool = False,
    on_wait=None,
    **settings,
) -> ExtractResult:
    """Run one extraction of ``table`` with the built-in defaults and ``settings``."""
    spec = parse_table(table, {**BUILT_IN_DEFAULTS, **settings})
    reader = open_source(source.url)
    try:
        return extract_table(spec, reader, warehouse, reconcile=reconcile, on_wait=on_wait)
    finally:
        reader.close()


def landed(warehouse: duckdb.DuckDBPyConnection, query: str) -> list[tuple]:
    return warehouse.execute(query).fetchall()


# A PostgreSQL source table, and updates to values equal to the old ones by the type's own
# equality but not by their text, one column per row.
LOOSELY_EQUAL = (
    "CREATE TABLE readings (reading_id INTEGER PRIMARY KEY, span INTERVAL, level FLOAT8, "
    "levels FLOAT4[], doc JSONB, updated_at TIMESTAMPTZ NOT NULL)",
    "INSERT INTO readings SELECT i, '1 day', 0, '{0, 1}', '{\"x\": 1.0}', "
    "'2026-01-01 10:00+00' FROM generate_series(1, 4) AS i",
)
LOOSELY_EQUAL_UPDATE = (
    "UPDATE readings SET span = '24 hours' WHERE reading_id = 1",
    "UPDATE readings SET level = '-0' WHERE reading_id = 2",
    "UPDATE readings SET levels = '{-0, 1}' WHERE reading_id = 3",
    "UPDATE readings SET doc = '{\"x\": 1.00}' WHERE reading_id = 4",
)
