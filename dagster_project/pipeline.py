"""Jobs, schedules and sensors that order the stages: refresh, then audit and publish per zone.

The refresh job (extraction, zone context, dbt) is unpartitioned and writes the shared warehouse.
Publishing is partitioned by zone, so each zone gets its own run: a zone whose blocking checks
fail skips only its own publish, and the Dagster UI shows a status per zone.
"""

from __future__ import annotations

import dagster as dg

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
        description="Extract changed Base Opération rows, reload the zone context, run dbt.",
    )
    publish = dg.define_asset_job(
        PUBLISH_JOB,
        selection=PUBLISH_SELECTION,
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
