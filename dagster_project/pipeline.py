"""Jobs, schedules and sensors that order the stages: refresh, then audit and publish per zone.

The refresh job (extraction, zone context, dbt) is unpartitioned and writes the shared warehouse.
Publishing is partitioned by zone, so each zone gets its own run: a zone whose blocking checks
fail skips only its own publish, and the Dagster UI shows a status per zone.
"""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from dagster_project.resources import WAREHOUSE_RUN_TAGS
from dagster_project.zones import Zone

REFRESH_JOB = "refresh"
PUBLISH_JOB = "publish_zones"

# The refresh covers extraction, the zone context and every dbt layer: all that the per-zone
# candidates read.
REFRESH_SELECTION = dg.AssetSelection.groups(
    "base_operation", "zone_context", "staging", "intermediate", "marts"
)
PUBLISH_SELECTION = dg.AssetSelection.assets("zone_candidate", "zone_mart")


def build_jobs(zones: list[Zone]) -> tuple[dg.UnresolvedAssetJobDefinition, ...]:
    refresh = dg.define_asset_job(
        REFRESH_JOB,
        selection=REFRESH_SELECTION,
        tags=WAREHOUSE_RUN_TAGS,
        description="Extract changed Base Opération rows, reload the zone context, run dbt.",
    )
    publish = dg.define_asset_job(
        PUBLISH_JOB,
        selection=PUBLISH_SELECTION,
        tags=WAREHOUSE_RUN_TAGS,
        description="Build one zone's candidate mart, audit it and publish it if the audit passes.",
    )
    return refresh, publish


def build_refresh_schedule(refresh_job, cron: str = "*/15 * * * *") -> dg.ScheduleDefinition:
    """Start the incremental refresh every 15 minutes (UTC) by default."""
    return dg.ScheduleDefinition(
        name="refresh_every_15_minutes",
        cron_schedule=cron,
        job=refresh_job,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


def build_publish_sensor(refresh_job, publish_job, zones: list[Zone]) -> dg.SensorDefinition:
    """Request one publish run per zone each time a refresh run succeeds."""
    zone_codes = [zone.code for zone in zones]

    @dg.run_status_sensor(
        name="publish_zones_after_refresh",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[refresh_job],
        request_job=publish_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def publish_zones_after_refresh(context: dg.RunStatusSensorContext):
        refresh_run_id = context.dagster_run.run_id
        for code in zone_codes:
            yield dg.RunRequest(
                run_key=f"{refresh_run_id}:{code}",
                partition_key=code,
                tags={"zone_marts/refresh_run_id": refresh_run_id},
            )

    return publish_zones_after_refresh


def build_source_change_sensor(refresh_job, source_url: str) -> dg.SensorDefinition:
    """Start a refresh as soon as a source table's max cursor moves, checked every 10 seconds.

    The markers are one indexed max() per table, so a tick costs milliseconds whatever the table
    sizes. No run is requested while a refresh is queued or running: the embedded warehouse
    accepts one writer at a time, and the next tick detects any change made meanwhile.
    """
    from dagster_project.extract.assets import read_change_markers
    from dagster_project.extract.declaration import load_declaration

    @dg.sensor(
        name="refresh_on_source_change",
        job=refresh_job,
        minimum_interval_seconds=10,
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def refresh_on_source_change(context: dg.SensorEvaluationContext):
        active = context.instance.get_run_records(
            dg.RunsFilter(
                job_name=REFRESH_JOB,
                statuses=[
                    dg.DagsterRunStatus.QUEUED,
                    dg.DagsterRunStatus.NOT_STARTED,
                    dg.DagsterRunStatus.STARTING,
                    dg.DagsterRunStatus.STARTED,
                ],
            ),
            limit=1,
        )
        if active:
            return dg.SkipReason(f"refresh run {active[0].dagster_run.run_id} is still active")
        markers = read_change_markers(source_url, load_declaration())
        encoded = json.dumps(markers, sort_keys=True)
        if encoded == context.cursor:
            return dg.SkipReason("no source table changed since the last refresh request")
        previous = json.loads(context.cursor) if context.cursor else {}
        changed = sorted(table for table, value in markers.items() if previous.get(table) != value)
        context.update_cursor(encoded)
        return dg.RunRequest(
            run_key=hashlib.sha256(encoded.encode()).hexdigest()[:20],
            tags={"zone_marts/changed_tables": ",".join(changed)[:200]},
        )

    return refresh_on_source_change
