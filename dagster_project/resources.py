"""Dagster resources shared by every stage: where the source and the warehouse are."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import adbc_driver_postgresql.dbapi as adbc_postgres
import dagster as dg
import duckdb

from dagster_project.duckdb_files import connect_duckdb
from dagster_project.settings import Settings

logger = logging.getLogger(__name__)

# Tag of every job that opens the warehouse. The local instance (.dagster_home/dagster.yaml) lets
# one run with this tag start at a time, because a DuckDB file accepts a writer only while no
# other process has it open.
WAREHOUSE_RUN_TAGS = {"zone_marts/warehouse": "duckdb"}
# Concurrency pool of every asset that opens the warehouse. The local instance starts one run
# holding it at a time (granularity run), so a run started from the asset graph, which carries no
# job tag, also waits in the queue. The production instance sets no limit on it: there the
# writers take turns through the PostgreSQL advisory lock below.
WAREHOUSE_POOL = "zone_marts_warehouse"
# Queue priority of the refreshes that the schedules and the source sensor request: below every
# publish (0 to 2), so the zone publishes of the previous refresh start first.
REFRESH_PRIORITY = {"dagster/priority": "-1"}
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
            connection = open_when_free(self.path, read_only)
        except (OSError, duckdb.IOException) as error:
            raise ConnectionError(warehouse_open_error(self.path, error)) from error
        try:
            connection.execute("SET TimeZone = 'UTC'")
            yield connection
        finally:
            connection.close()


# Session-level advisory lock held by whatever writes a PostgreSQL warehouse's landing tables or
# builds its models: each table's extraction, and each dbt build. Runs started by the daemon
# already take turns; the lock covers a command-line refresh started beside one. It also keeps
# an extraction from committing rows during a build, which the build's incremental models would
# skip, and the next build too, when their `_loaded_at` is earlier than that build's cutoff. The
# first number is this project's namespace among the server's advisory locks.
WAREHOUSE_WRITER_LOCK = (0x5A4D, 1)


@contextmanager
def warehouse_writer_lock(connection, on_wait: Callable[[], None] | None = None) -> Iterator:
    """Hold WAREHOUSE_WRITER_LOCK on an ADBC PostgreSQL connection, autocommit off.

    Wait while another session has the lock, after calling ``on_wait`` once. The lock outlives the
    transactions run while it is held; closing the connection also releases it.
    """
    namespace, key = WAREHOUSE_WRITER_LOCK

    def select(function: str) -> object:
        with connection.cursor() as cursor:
            # pg_advisory_lock returns void, which the driver cannot fetch: read it as text.
            cursor.execute(f"SELECT CAST({function}({namespace}, {key}) AS text)")
            value = cursor.fetchall()[0][0]
        connection.commit()
        return value

    # A server's lock_timeout or statement_timeout would end the wait with an error, and its
    # idle_session_timeout would close this session, releasing the lock, during a long build.
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = 0")
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("SELECT count(*) FROM pg_settings WHERE name = 'idle_session_timeout'")
        if cursor.fetchall()[0][0]:
            cursor.execute("SET idle_session_timeout = 0")
    connection.commit()
    if select("pg_try_advisory_lock") != "true":
        if on_wait:
            on_wait()
        select("pg_advisory_lock")
    try:
        yield
    finally:
        try:
            connection.rollback()
            select("pg_advisory_unlock")
        except adbc_postgres.Error as error:
            # Closing the broken connection releases the lock.
            logger.warning("could not release the warehouse writer lock: %s", error)


# How long opening the DuckDB warehouse retries while another process has it open. Readers
# such as `zone-marts status` keep it open for milliseconds. A run keeps it open far longer,
# and the error then names that process.
LOCK_RETRY_SECONDS = 10.0


def open_when_free(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file ``path``, retrying for LOCK_RETRY_SECONDS while another process has
    it open, and raise the last duckdb.IOException after that."""
    deadline = time.monotonic() + LOCK_RETRY_SECONDS
    while True:
        try:
            return connect_duckdb(path, read_only=read_only)
        except duckdb.IOException as error:
            if "Conflicting lock" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def warehouse_open_error(path: Path | str, error: Exception) -> str:
    """Say why the DuckDB warehouse at ``path`` could not be opened, and what to do."""
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    if "Conflicting lock" in reason:
        return (
            f"the DuckDB warehouse {path} is open in another process ({reason}). It admits one "
            "writing process at a time: wait for the other refresh or publish, or the Dagster "
            "run holding it, to end, then run again; nothing of this step was written"
        )
    return (
        f"cannot open the DuckDB warehouse {path} ({reason}); set WAREHOUSE_PATH, "
        "or ZONE_MARTS_DATA_DIR, to a writable DuckDB file path"
    )


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
