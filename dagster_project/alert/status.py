"""Read the state of each zone: its last publish and the warehouse watermarks.

Embedded, from the DuckDB warehouse and mart files; in production, from the PostgreSQL
warehouse's raw._extract_state and each zone schema's _publish_log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project.access.secrets import mask_secrets, mask_url
from dagster_project.alert.freshness import evaluate_zone_freshness
from dagster_project.alert.messages import format_local
from dagster_project.alert.signals import Signal, to_utc
from dagster_project.duckdb_files import connect_duckdb
from dagster_project.extract.columns import INTEGER_CURSOR_TYPES
from dagster_project.pipeline import PUBLISH_JOB
from dagster_project.zones import Zone

PUBLISH_LOG_TABLE = "_publish_log"
EXTRACT_STATE_TABLE = "raw._extract_state"
# Column holding the source table name in raw._extract_state, by preference.
TABLE_NAME_COLUMNS = ("table_name", "source_table", "table")
PASSED_COLUMNS = ("checks_passed", "passed_checks")
FAILED_COLUMNS = ("checks_failed", "failed_checks")
# Run tag holding the partition, here the zone code, of a partitioned run.
PARTITION_TAG = "dagster/partition"


@dataclass
class ZoneStatus:
    """Lines to print for one zone and whether any of them is a problem."""

    zone: Zone
    lines: list[str] = field(default_factory=list)
    problems: int = 0

    def add(self, line: str, problem: bool = False) -> None:
        self.lines.append(("FAIL " if problem else "ok   ") + line)
        self.problems += int(problem)


def _fetch_dicts(connection: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = connection.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _first_present(row: dict, names: tuple[str, ...]) -> object:
    return next((row[name] for name in names if name in row), None)


def _watermarks_from_rows(rows: list[dict], where: str) -> tuple[dict, str | None]:
    """Return watermarks per source table from the rows of raw._extract_state."""
    if not rows:
        return {}, f"{where}: {EXTRACT_STATE_TABLE} is empty: run the extraction first"
    watermarks = {}
    for row in rows:
        table = _first_present(row, TABLE_NAME_COLUMNS)
        # An integer cursor's watermark is no time: its table has no source freshness.
        if table is not None and row.get("cursor_type") not in INTEGER_CURSOR_TYPES:
            watermarks[str(table)] = to_utc(row.get("watermark"))
    return watermarks, None


def _latest_publish(rows: list[dict], where: str) -> tuple[dict | None, str | None]:
    if not rows:
        return None, f"{where}: {PUBLISH_LOG_TABLE} is empty"
    return rows[0], None


LATEST_PUBLISH = "select * from {table} order by published_at desc limit 1"


class WarehouseBusy(Exception):
    """The embedded warehouse is open for writing, as it is during every refresh."""


@dataclass(frozen=True)
class EmbeddedState:
    """The embedded warehouse file and the zones' mart files."""

    warehouse_path: Path
    marts_dir: Path

    def read_watermarks(self) -> tuple[dict[str, datetime | None], str | None]:
        """Return watermarks per source table, and a problem line if they cannot be read."""
        path = self.warehouse_path
        if not path.exists():
            return {}, f"warehouse {path} not found: run the extraction first"
        try:
            connection = connect_duckdb(path, read_only=True)
        except duckdb.Error as error:
            if "Conflicting lock" in str(error):
                raise WarehouseBusy(
                    f"warehouse {path} is open for writing in another process, a run in "
                    "progress, so the source freshness was not read this time"
                ) from error
            return {}, f"warehouse {path} cannot be opened read-only: {error}"
        try:
            rows = _fetch_dicts(connection, f"select * from {EXTRACT_STATE_TABLE}")
        except duckdb.CatalogException:
            return {}, f"{path} has no {EXTRACT_STATE_TABLE}: run the extraction first"
        finally:
            connection.close()
        return _watermarks_from_rows(rows, str(path))

    def read_last_publish(self, zone_code: str) -> tuple[dict | None, str | None]:
        """Return the latest _publish_log row of the zone's mart file, or a problem line."""
        mart_path = self.marts_dir / f"{zone_code}.duckdb"
        if not mart_path.exists():
            return None, f"mart {mart_path} not found: the zone was never published"
        try:
            connection = connect_duckdb(mart_path, read_only=True)
        except duckdb.Error as error:
            return None, f"mart {mart_path} cannot be opened read-only: {error}"
        try:
            rows = _fetch_dicts(connection, LATEST_PUBLISH.format(table=PUBLISH_LOG_TABLE))
        except duckdb.CatalogException:
            return None, f"mart {mart_path} has no {PUBLISH_LOG_TABLE} table"
        except duckdb.Error as error:
            first_line = (str(error).strip().splitlines() or [""])[0]
            return None, f"mart {mart_path}: {PUBLISH_LOG_TABLE} cannot be read: {first_line}"
        finally:
            connection.close()
        return _latest_publish(rows, f"mart {mart_path}")


@dataclass(frozen=True)
class PostgresState:
    """The PostgreSQL warehouse: raw._extract_state and one schema per published zone."""

    warehouse_url: str

    def _rows(self, query: str) -> list[dict]:
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(
            self.warehouse_url, connect_timeout=10, row_factory=dict_row
        ) as connection:
            connection.read_only = True
            return connection.execute(query).fetchall()

    def _problem(self, error: Exception) -> str:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return mask_secrets(first_line, self.warehouse_url)

    def read_watermarks(self) -> tuple[dict[str, datetime | None], str | None]:
        """Return watermarks per source table, and a problem line if they cannot be read."""
        import psycopg

        where = f"PostgreSQL warehouse {mask_url(self.warehouse_url)}"
        try:
            rows = self._rows(f"select * from {EXTRACT_STATE_TABLE}")
        except psycopg.errors.UndefinedTable:
            return {}, f"{where} has no {EXTRACT_STATE_TABLE}: run the extraction first"
        except psycopg.Error as error:
            return {}, f"{where} cannot be read: {self._problem(error)}"
        return _watermarks_from_rows(rows, where)

    def read_last_publish(self, zone_code: str) -> tuple[dict | None, str | None]:
        """Return the latest row of the zone schema's _publish_log, or a problem line."""
        import psycopg
        from psycopg import sql

        where = f"schema {zone_code}"
        table = sql.Identifier(zone_code, PUBLISH_LOG_TABLE).as_string()
        try:
            rows = self._rows(LATEST_PUBLISH.format(table=table))
        except psycopg.errors.UndefinedTable:
            return None, f"{where} has no {PUBLISH_LOG_TABLE}: the zone was never published"
        except psycopg.Error as error:
            return None, f"{where}: {PUBLISH_LOG_TABLE} cannot be read: {self._problem(error)}"
        return _latest_publish(rows, where)


def _has_failures(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, int | float):
        return value > 0
    if isinstance(value, list | tuple | dict):
        return len(value) > 0
    return str(value).strip() not in ("", "0", "[]", "{}")


@dataclass(frozen=True)
class FailedPublish:
    """The zone's latest finished publish run, when it did not succeed."""

    run_id: str
    ended_at: datetime | None
    reason: str


def latest_failed_publish(instance: dg.DagsterInstance, zone_code: str) -> FailedPublish | None:
    """Return the zone's latest finished publish run of ``instance`` if it did not succeed.

    The zone's mart file records successful publishes only, so a failed audit shows only here.
    """
    records = instance.get_run_records(
        dg.RunsFilter(
            job_name=PUBLISH_JOB,
            tags={PARTITION_TAG: zone_code},
            statuses=[
                dg.DagsterRunStatus.SUCCESS,
                dg.DagsterRunStatus.FAILURE,
                dg.DagsterRunStatus.CANCELED,
            ],
        ),
        limit=1,
    )
    if not records or records[0].dagster_run.status == dg.DagsterRunStatus.SUCCESS:
        return None
    record = records[0]
    run_id = record.dagster_run.run_id
    failed_checks = sorted(
        event.dagster_event.event_specific_data.check_name
        for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        if not event.dagster_event.event_specific_data.passed
    )
    if failed_checks:
        reason = f"checks failed: {', '.join(failed_checks)}"
    else:
        failures = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        error = failures[0].dagster_event.step_failure_data.error if failures else None
        first_line = (error.message.strip().splitlines() or [""])[0] if error else ""
        reason = first_line or f"run {record.dagster_run.status.value.lower()}"
    ended_at = datetime.fromtimestamp(record.end_time, UTC) if record.end_time else None
    return FailedPublish(run_id, ended_at, reason)


def zone_status(
    zone: Zone,
    now: datetime,
    state: EmbeddedState | PostgresState,
    watermarks: dict[str, datetime | None],
    failed_publish: FailedPublish | None = None,
) -> ZoneStatus:
    """Describe the zone's last publish and the freshness of its mart and source tables."""
    status = ZoneStatus(zone)
    publish, problem = state.read_last_publish(zone.code)
    published = to_utc(publish.get("published_at")) if publish else None
    # A later successful publish, for example from the asset graph, settles the failed run.
    if failed_publish and not (
        published and failed_publish.ended_at and published > failed_publish.ended_at
    ):
        when = format_local(failed_publish.ended_at, zone) if failed_publish.ended_at else ""
        status.add(
            f"latest publish run {failed_publish.run_id} failed {when}: "
            f"{failed_publish.reason}; the zone keeps its last published mart",
            problem=True,
        )
    published_at = None
    if problem:
        status.add(problem, problem=True)
    else:
        published_at = to_utc(publish.get("published_at"))
        when = format_local(published_at, zone) if published_at else "unknown time"
        failed = _first_present(publish, FAILED_COLUMNS)
        status.add(
            f"last publish {when}, run {publish.get('run_id')}, "
            f"checks passed: {_first_present(publish, PASSED_COLUMNS)}, failed: {failed}",
            problem=_has_failures(failed),
        )
    for signal in evaluate_zone_freshness(
        zone, now, source_watermarks=watermarks, last_publish=published_at
    ):
        # A missing mart or warehouse already has its own line; repeating it per check is noise.
        is_mart = signal.asset.startswith("zone_mart")
        if (is_mart and problem) or (not is_mart and not watermarks):
            continue
        status.add(_describe(signal, zone), problem=signal.failing)
    return status


def _describe(signal: Signal, zone: Zone) -> str:
    text = f"{signal.asset} {signal.check.split('[', 1)[0]}: {signal.observed}"
    if signal.failing:
        since = f" since {format_local(signal.since, zone)}" if signal.since else ""
        text += f"; STALE{since}, {signal.summary}"
    return text
