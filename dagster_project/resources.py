"""Dagster resources shared by every stage: where the source and the warehouse are."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import adbc_driver_postgresql.dbapi as adbc_postgres
import dagster as dg
import duckdb

from dagster_project.duckdb_files import connect_duckdb
from dagster_project.settings import Settings

# Tag of every job that opens the warehouse. The local instance (.dagster_home/dagster.yaml) lets
# one run with this tag start at a time, because a DuckDB file accepts a writer only while no
# other process has it open.
WAREHOUSE_RUN_TAGS = {"zone_marts/warehouse": "duckdb"}
# Tag of the jobs that write landing and mart tables. The production instance starts one such run
# at a time, because dbt's incremental models read only the rows loaded after their latest build.
WAREHOUSE_WRITER_TAGS = {"zone_marts/warehouse_writer": "true"}


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse holding the raw, context, staging and mart schemas.

    Embedded, a DuckDB file at ``path``; DuckDB allows one writer process at a time, so the
    definitions use the in-process executor. In production ``url`` names the PostgreSQL
    warehouse, and ``connect()`` returns an ADBC connection to it with autocommit off.
    """

    path: str
    url: str | None = None

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator:
        if self.url:
            with connect_postgres(self.url) as connection:
                yield connection
            return
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            connection = connect_duckdb(self.path, read_only=read_only)
        except (OSError, duckdb.IOException) as error:
            raise ConnectionError(
                f"cannot open the DuckDB warehouse {self.path} ({error}); set WAREHOUSE_PATH, "
                "or ZONE_MARTS_DATA_DIR, to a writable file path"
            ) from error
        try:
            connection.execute("SET TimeZone = 'UTC'")
            yield connection
        finally:
            connection.close()


@contextmanager
def connect_postgres(url: str) -> Iterator:
    """Open an ADBC connection in UTC, autocommit off; the error never shows the password."""
    from dagster_project.access.secrets import mask_secrets

    try:
        connection = adbc_postgres.connect(url)
    except adbc_postgres.Error as error:
        raise ConnectionError(
            f"cannot connect to the PostgreSQL warehouse: {mask_secrets(str(error), url)}"
        ) from None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET TimeZone TO 'UTC'")
        connection.commit()
        yield connection
    finally:
        connection.close()


class SourceResource(dg.ConfigurableResource):
    """The Base Opération: ``sqlite:///path`` (embedded demo) or ``postgresql://...``."""

    url: str


def _from_environment(name: str, value: str | None) -> str | dg.EnvVar | None:
    """Name the variable rather than copy its value, so the Dagster UI never shows a password."""
    return dg.EnvVar(name) if value and os.environ.get(name) == value else value


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    warehouse_url = settings.warehouse_url if settings.is_production else None
    return {
        "warehouse": WarehouseResource(
            path=str(settings.warehouse_path),
            url=_from_environment("WAREHOUSE_URL", warehouse_url),
        ),
        "source": SourceResource(url=_from_environment("BASE_OPERATION_URL", settings.source_url)),
    }
