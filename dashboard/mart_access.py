"""Read one zone's published mart: a DuckDB file (embedded) or a PostgreSQL schema (production).

Every page load opens one `MartSession` and runs all its queries through it, so one page never
mixes two publishes. A publish replaces the DuckDB file by an atomic rename: a connection opened
before the rename keeps reading the old file, which is why nothing here is cached across loads.

Queries use psycopg's named placeholders (``%(name)s``); the DuckDB session rewrites them to
DuckDB's ``$name``, so each query is written once for both engines.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd

from dagster_project.access.secrets import mask_secrets
from dagster_project.duckdb_files import connect_duckdb
from dagster_project.settings import Settings, check_postgres_url

DASHBOARD_URL_VARIABLE = "ZONE_MARTS_DASHBOARD_URL"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class MartNotFoundError(LookupError):
    """The zone's mart has not been published yet (or cannot be reached)."""


class MartUnreadableError(RuntimeError):
    """The zone's mart exists but cannot be shown: damaged, locked, or another zone's file."""


class MartSession(Protocol):
    def tables(self) -> set[str]:
        """Return the names of the tables of the zone's mart."""

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run one SELECT and return its rows."""


class DuckDbSession:
    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self._connection = connection

    def tables(self) -> set[str]:
        rows = self._connection.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()
        return {name for (name,) in rows}

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self._connection.execute(PLACEHOLDER.sub(r"$\1", sql), dict(params or {})).df()


class PostgresSession:
    def __init__(self, connection: Any, schema: str) -> None:
        self._connection = connection
        self._schema = schema

    def tables(self) -> set[str]:
        rows = self._connection.execute(
            "select table_name from information_schema.tables where table_schema = %s",
            (self._schema,),
        ).fetchall()
        return {name for (name,) in rows}

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        cursor = self._connection.execute(sql, dict(params or {}))
        columns = [column.name for column in cursor.description]
        frame = pd.DataFrame(cursor.fetchall(), columns=columns)
        # psycopg returns NUMERIC as Decimal; DuckDB's pandas export gives floats. Match DuckDB
        # so the pages format both the same way.
        for column in columns:
            if frame[column].map(lambda value: isinstance(value, Decimal)).any():
                frame[column] = frame[column].astype("float64")
        return frame


@dataclass(frozen=True)
class DuckDbMart:
    """The embedded mart: ``marts/<zone>.duckdb``, opened read-only."""

    path: Path

    def describe(self) -> str:
        return str(self.path)

    @contextmanager
    def session(self) -> Iterator[DuckDbSession]:
        if not self.path.exists():
            raise MartNotFoundError(f"mart file {self.path} does not exist")
        connection = connect_duckdb(self.path, read_only=True)
        try:
            connection.execute("SET TimeZone = 'UTC'")
            yield DuckDbSession(connection)
        finally:
            connection.close()


@dataclass(frozen=True)
class PostgresMart:
    """The production mart: the schema named after the zone, read with the zone's own login."""

    url: str
    schema: str

    def describe(self) -> str:
        return f"PostgreSQL schema {self.schema}"

    @contextmanager
    def session(self) -> Iterator[PostgresSession]:
        import psycopg
        from psycopg import sql

        try:
            connection = psycopg.connect(self.url, connect_timeout=10)
        except psycopg.OperationalError as error:
            # A wrong password or an unreachable server is not a zone without data, so the page
            # shows an error to report rather than the message about a first publish.
            first_line = mask_secrets(str(error).strip().splitlines()[0], self.url)
            raise MartUnreadableError(
                f"cannot connect to the mart database: {first_line}"
            ) from error
        try:
            # One read-only snapshot for the whole page, like the DuckDB file.
            connection.read_only = True
            connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            connection.execute("SET TIME ZONE 'UTC'")
            connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            session = PostgresSession(connection, self.schema)
            if not session.tables():
                raise MartNotFoundError(f"schema {self.schema} has no mart table")
            yield session
        finally:
            connection.close()


def locate_mart(
    zone_code: str, settings: Settings, environ: Mapping[str, str] | None = None
) -> DuckDbMart | PostgresMart:
    """Return where the zone's mart is, for the mode chosen by ``settings``."""
    if not settings.is_production:
        return DuckDbMart(settings.marts_dir / f"{zone_code}.duckdb")
    env = os.environ if environ is None else environ
    url = env.get(DASHBOARD_URL_VARIABLE)
    if not url or not url.startswith("postgresql://"):
        raise ValueError(
            f"ZONE_MARTS_MODE=production needs {DASHBOARD_URL_VARIABLE}=postgresql://... "
            f"(the login of zone {zone_code}, allowed to read schema {zone_code} only)."
        )
    check_postgres_url(DASHBOARD_URL_VARIABLE, url)
    return PostgresMart(url=url, schema=zone_code)
