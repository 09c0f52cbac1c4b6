"""Run the main job in this process: one refresh run, then one publish run per zone.

This is what ``zone-marts demo`` and ``zone-marts refresh`` execute. Runs are recorded in the
Dagster instance of DAGSTER_HOME, so the Dagster UI shows them afterwards like scheduled runs.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from dagster_project.duckdb_files import connect_duckdb
from dagster_project.extract.assets import RECONCILE_TAG
from dagster_project.pipeline import PUBLISH_JOB, REFRESH_JOB
from dagster_project.resources import WAREHOUSE_RUN_TAGS, WAREHOUSE_WRITER_TAGS
from dagster_project.zones import Zone

# Errors raised by this package, as opposed to those of Dagster, DuckDB or dbt, start with it.
PACKAGE = __name__.split(".")[0]

# The console shows INFO and above: step starts, counts and errors, without the DEBUG events that
# the Dagster UI keeps for each run anyway.
CONSOLE_AT_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


@dataclass
class ZoneOutcome:
    zone: Zone
    run_id: str
    published: bool
    checks_passed: int
    checks_failed: list[str]
    quarantined_rows: int
    mart_location: str
    table_rows: dict[str, int] = field(default_factory=dict)
    published_at: str | None = None
    error: str | None = None
    """The failed step and its error, when the run failed without a failed check."""
    summary_error: str | None = None
    """The error that kept the mart's row counts from being read after the publish run."""


@dataclass
class PipelineOutcome:
    refresh_run_id: str
    refresh_succeeded: bool
    refresh_error: str | None
    refresh_seconds: float
    zones: list[ZoneOutcome]
    interrupted: bool = False
    """Ctrl+C stopped a run: the zones after it were not run."""
    total_seconds: float = 0.0
    """The refresh and every publish, as the command line waited for them."""

    @property
    def succeeded(self) -> bool:
        return (
            self.refresh_succeeded
            and not self.interrupted
            and all(zone.published for zone in self.zones)
        )


# Statuses of a run whose process may hold the warehouse.
IN_PROGRESS_STATUSES = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
# Job of the runs that the Dagster UI starts from the asset graph.
ASSET_GRAPH_JOB = "__ASSET_JOB"


def run_using_warehouse(instance: dg.DagsterInstance, production: bool) -> dg.DagsterRun | None:
    """Return a run in progress that this command's runs would collide with, if any.

    On the embedded warehouse that is any run tagged WAREHOUSE_RUN_TAGS or started from the
    asset graph, since the DuckDB file admits one process. In production it is a refresh or
    reconcile run (WAREHOUSE_WRITER_TAGS): another one would only repeat its work.
    """
    ((key, value),) = (WAREHOUSE_WRITER_TAGS if production else WAREHOUSE_RUN_TAGS).items()
    filters = [dg.RunsFilter(statuses=IN_PROGRESS_STATUSES, tags={key: value})]
    if not production:
        filters.append(dg.RunsFilter(statuses=IN_PROGRESS_STATUSES, job_name=ASSET_GRAPH_JOB))
    for runs_filter in filters:
        records = instance.get_run_records(runs_filter, limit=1)
        if records:
            return records[0].dagster_run
    return None


# Seconds between two looks at the instance while another run uses the warehouse.
WAIT_POLL_SECONDS = 0.5


def wait_for_warehouse(instance: dg.DagsterInstance, production: bool) -> None:
    """Wait until no run of ``instance`` uses the warehouse (see ``run_using_warehouse``).

    This command's runs bypass the run queue, which may start a run from the asset graph in a
    gap between two of them: the next one then waits for it instead of failing on the lock.
    """
    announced = False
    while (busy := run_using_warehouse(instance, production)) is not None:
        if not announced:
            print(
                f"Waiting for run {busy.run_id} of job {busy.job_name}, which uses the "
                "warehouse, to end.",
                file=sys.stderr,
            )
            announced = True
        time.sleep(WAIT_POLL_SECONDS)


# Errors with which Dagster ends a step that Ctrl+C (SIGINT) interrupted.
INTERRUPT_ERRORS = ("DagsterExecutionInterruptedError", "KeyboardInterrupt")


def is_interruption(error) -> bool:
    """Return whether a Dagster error (SerializableErrorInfo) or one of its causes is an
    interruption: Ctrl+C, or SIGTERM and SIGHUP, which the command line turns into it."""
    while error is not None:
        if error.cls_name in INTERRUPT_ERRORS:
            return True
        error = error.cause
    return False


def was_interrupted(result: dg.ExecuteInProcessResult) -> bool:
    """Return whether a step of ``result`` failed because the process was interrupted."""
    return any(
        is_interruption(event.step_failure_data.error)
        for event in result.all_events
        if event.is_step_failure and event.step_failure_data
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """Return the first failed step and the error that caused it, without Dagster's wrappers.

    The error named is the outermost one raised by this package (a LoadError that wraps DuckDB's
    out-of-memory error, for instance), else the innermost cause.
    """
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            chain = [event.step_failure_data.error]
            while chain[-1].cause is not None:
                chain.append(chain[-1].cause)
            error = next((e for e in chain if e.message.startswith(f"{PACKAGE}.")), chain[-1])
            # The message starts with the exception's qualified class name, as Python prints it.
            qualified, _, text = error.message.strip().partition(": ")
            if not qualified.endswith(error.cls_name):
                text = error.message.strip()
            return f"step {event.step_key}: {error.cls_name}: {text}"
    return "the run failed; open it in the Dagster UI for details"


def _check_results(result: dg.ExecuteInProcessResult) -> tuple[int, list[str], int]:
    """Return the checks passed, the names of those failed and the rows quarantined."""
    passed = 0
    failed: list[str] = []
    quarantined = 0
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            passed += 1
        else:
            failed.append(evaluation.check_name)
        rows = evaluation.metadata.get("quarantined_rows")
        quarantined += int(rows.value) if rows is not None else 0
    return passed, failed, quarantined


def _count_rows(execute, tables: list[str], table_reference) -> dict[str, int]:
    return {name: execute(f"select count(*) from {table_reference(name)}")[0][0] for name in tables}


def read_mart_summary(path: Path) -> tuple[dict[str, int], str | None]:
    """Return the row count of every table in a published zone mart file and its last publish."""
    if not path.exists():
        return {}, None
    connection = connect_duckdb(path, read_only=True)
    try:

        def execute(query: str) -> list[tuple]:
            return connection.execute(query).fetchall()

        tables = [
            name
            for (name,) in execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'main' order by table_name"
            )
        ]
        return _summarize(execute, tables, lambda name: f'"{name}"')
    finally:
        connection.close()


def summarize_zone(
    zone_code: str, marts_dir: Path, warehouse_url: str | None
) -> tuple[str, dict[str, int], str | None, str | None]:
    """Return the zone mart's location, row counts, last publish and why they are unreadable.

    A mart that a reader keeps open for writing, or a damaged one, yields an error text instead
    of raising, so the summary and the publishes of the zones after it go on.
    """
    if warehouse_url:
        location = f"PostgreSQL schema {zone_code} of the warehouse"
    else:
        location = str(marts_dir / f"{zone_code}.duckdb")
    try:
        if warehouse_url:
            rows, published_at = read_schema_summary(warehouse_url, zone_code)
        else:
            rows, published_at = read_mart_summary(marts_dir / f"{zone_code}.duckdb")
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        return location, {}, None, f"{type(error).__name__}: {first_line}"
    return location, rows, published_at, None


def read_schema_summary(warehouse_url: str, zone_code: str) -> tuple[dict[str, int], str | None]:
    """Return the row count of every table in a published zone schema and its last publish."""
    import psycopg

    with psycopg.connect(warehouse_url) as connection:

        def execute(query: str, parameters: tuple = ()) -> list[tuple]:
            return connection.execute(query, parameters).fetchall()

        tables = [
            name
            for (name,) in execute(
                "select table_name from information_schema.tables "
                "where table_schema = %s order by table_name",
                (zone_code,),
            )
        ]
        # Zone codes are validated identifiers ([a-z][a-z0-9_]*), safe to quote this way.
        return _summarize(execute, tables, lambda name: f'"{zone_code}"."{name}"')


def _summarize(execute, tables: list[str], table_reference) -> tuple[dict[str, int], str | None]:
    rows = _count_rows(execute, tables, table_reference)
    published_at = None
    if "_publish_log" in tables:
        latest = execute(f"select max(published_at) from {table_reference('_publish_log')}")
        published_at = str(latest[0][0]) if latest[0][0] is not None else None
    return rows, published_at


def run_pipeline(
    defs: dg.Definitions,
    zones: list[Zone],
    marts_dir: Path,
    instance: dg.DagsterInstance,
    reconcile_deletes: bool = True,
    warehouse_url: str | None = None,
) -> PipelineOutcome:
    """Execute the refresh job, then the publish job once per zone, all in this process.

    With ``reconcile_deletes`` the refresh also compares primary keys with the source, so rows
    hard-deleted there disappear from the marts in this run instead of at the nightly reconcile.
    With ``warehouse_url`` (production) the summary reads the zone schemas of that PostgreSQL
    database instead of the mart files in ``marts_dir``.
    """
    started = time.monotonic()
    production = warehouse_url is not None
    wait_for_warehouse(instance, production)
    refresh = defs.resolve_job_def(REFRESH_JOB).execute_in_process(
        run_config=CONSOLE_AT_INFO,
        instance=instance,
        raise_on_error=False,
        tags={RECONCILE_TAG: "true"} if reconcile_deletes else None,
    )
    refresh_seconds = time.monotonic() - started
    outcome = PipelineOutcome(
        refresh_run_id=refresh.run_id,
        refresh_succeeded=refresh.success,
        refresh_error=None if refresh.success else failure_message(refresh),
        refresh_seconds=refresh_seconds,
        zones=[],
        interrupted=was_interrupted(refresh),
    )
    if not refresh.success:
        return outcome
    publish_job = defs.resolve_job_def(PUBLISH_JOB)
    for zone in zones:
        wait_for_warehouse(instance, production)
        result = publish_job.execute_in_process(
            run_config=CONSOLE_AT_INFO,
            instance=instance,
            partition_key=zone.code,
            raise_on_error=False,
            tags={"zone_marts/refresh_run_id": refresh.run_id},
        )
        passed, failed, quarantined = _check_results(result)
        location, rows, published_at, summary_error = summarize_zone(
            zone.code, marts_dir, warehouse_url
        )
        outcome.zones.append(
            ZoneOutcome(
                zone=zone,
                run_id=result.run_id,
                published=result.success and not failed,
                checks_passed=passed,
                checks_failed=failed,
                quarantined_rows=quarantined,
                mart_location=location,
                table_rows=rows,
                published_at=published_at,
                error=None if result.success or failed else failure_message(result),
                summary_error=summary_error,
            )
        )
        if was_interrupted(result):
            outcome.interrupted = True
            break
    outcome.total_seconds = time.monotonic() - started
    return outcome


INTERRUPTED_TEXT = (
    "Interrupted (Ctrl+C): the zones not listed were not run and keep their last good mart. "
    "Run the command again to finish."
)


def format_outcome(outcome: PipelineOutcome) -> str:
    """Render the per-zone summary printed at the end of a run."""
    if not outcome.refresh_succeeded:
        return (
            f"Refresh run {outcome.refresh_run_id} failed after {outcome.refresh_seconds:.1f} s: "
            f"{outcome.refresh_error}\nNo zone was published; every zone keeps its last good mart."
            + (f"\n{INTERRUPTED_TEXT}" if outcome.interrupted else "")
        )
    lines = [f"Refresh run {outcome.refresh_run_id} succeeded in {outcome.refresh_seconds:.1f} s."]
    for zone_outcome in outcome.zones:
        zone = zone_outcome.zone
        state = "published" if zone_outcome.published else "NOT published (kept last good mart)"
        lines.append("")
        lines.append(f"{zone.name} [{zone.code}]: {state}")
        lines.append(
            f"  checks passed: {zone_outcome.checks_passed}, failed: "
            f"{', '.join(zone_outcome.checks_failed) or 'none'}"
        )
        if zone_outcome.error:
            lines.append(f"  error: {zone_outcome.error}")
        if zone_outcome.quarantined_rows:
            lines.append(
                f"  quarantined rows: {zone_outcome.quarantined_rows} (published without them; "
                "they are kept in the zone's quarantine table)"
            )
        if zone_outcome.summary_error:
            lines.append(f"  mart not readable for this summary: {zone_outcome.summary_error}")
        else:
            lines.append(f"  last publish (UTC): {zone_outcome.published_at or 'never'}")
        lines.append(f"  mart: {zone_outcome.mart_location}")
        for table, count in zone_outcome.table_rows.items():
            if not table.startswith("_"):
                lines.append(f"    {table:<34} {count:>9,} rows")
    if outcome.interrupted:
        lines += ["", INTERRUPTED_TEXT]
    lines += ["", f"Refresh and publishes took {outcome.total_seconds:.1f} s in all."]
    return "\n".join(lines)
