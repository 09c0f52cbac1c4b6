"""Jobs, schedules and sensors that order the stages: refresh, then audit and publish per zone.

The refresh job (extraction, zone context, dbt) is unpartitioned and writes the shared warehouse.
Publishing is partitioned by zone, so each zone gets its own run: a zone whose blocking checks
fail skips only its own publish, and the Dagster UI shows a status per zone.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import dagster as dg

from dagster_project.extract.assets import RECONCILE_HOUR_UTC
from dagster_project.gate.fingerprint import (
    CHANGES_ASSET,
    CONTENT_FINGERPRINT_METADATA,
    FINGERPRINTS_METADATA,
    LANDED_METADATA,
    ZONE_MART_ASSET,
)
from dagster_project.resources import REFRESH_PRIORITY, WAREHOUSE_RUN_TAGS, WAREHOUSE_WRITER_TAGS
from dagster_project.zones import Zone

REFRESH_JOB = "refresh"
PUBLISH_JOB = "publish_zones"

# The refresh covers extraction, the zone context and every dbt layer: all that the per-zone
# candidates read. It ends with zone_mart_changes: each zone's fingerprint and rows landed.
REFRESH_SELECTION = dg.AssetSelection.groups(
    "base_operation", "zone_context", "staging", "intermediate", "marts"
) | dg.AssetSelection.assets(CHANGES_ASSET)
PUBLISH_SELECTION = dg.AssetSelection.assets("zone_candidate", ZONE_MART_ASSET)


def build_jobs(zones: list[Zone]) -> tuple[dg.UnresolvedAssetJobDefinition, ...]:
    refresh = dg.define_asset_job(
        REFRESH_JOB,
        selection=REFRESH_SELECTION,
        tags={**WAREHOUSE_RUN_TAGS, **WAREHOUSE_WRITER_TAGS},
        description="Extract changed Base Opération rows, reload the zone context, run dbt.",
    )
    publish = dg.define_asset_job(
        PUBLISH_JOB,
        selection=PUBLISH_SELECTION,
        tags=WAREHOUSE_RUN_TAGS,
        description="Build one zone's candidate mart, audit it and publish it if the audit passes.",
    )
    return refresh, publish


ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def last_successful_refresh(instance: dg.DagsterInstance) -> dg.RunRecord | None:
    records = instance.get_run_records(
        dg.RunsFilter(job_name=REFRESH_JOB, statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1
    )
    return records[0] if records else None


def read_before(marker: str | None, refresh: dg.RunRecord) -> bool:
    """Return whether a table's max cursor is a moment before ``refresh`` started.

    Only a timestamp with a time zone can tell: a date, an integer or a naive timestamp counts
    as not read, and so does a row committed late with an earlier timestamp, which the next
    scheduled refresh's lookback reads.
    """
    if marker is None or refresh.start_time is None:
        return False
    try:
        moment = datetime.fromisoformat(str(marker).strip())
    except ValueError:
        return False
    if moment.tzinfo is None:
        return False
    return moment.timestamp() < refresh.start_time


def active_refresh_run_id(instance: dg.DagsterInstance) -> str | None:
    """Return the id of a refresh run that is queued or running, if any."""
    records = instance.get_run_records(
        dg.RunsFilter(job_name=REFRESH_JOB, statuses=ACTIVE_STATUSES), limit=1
    )
    return records[0].dagster_run.run_id if records else None


def build_refresh_schedule(refresh_job, cron: str = "*/15 * * * *") -> dg.ScheduleDefinition:
    """Start the incremental refresh every 15 minutes (UTC) by default, unless one is active.

    A refresh queued behind an active one would take the warehouse as soon as that one ends,
    ahead of the zone publishes its success requests a few seconds later, and delay every
    zone's new data by a whole refresh. The tick is skipped instead: the active refresh, the
    source-change sensor or the next tick brings the changes it would have read.
    """

    @dg.schedule(
        name="refresh_every_15_minutes",
        cron_schedule=cron,
        job=refresh_job,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def refresh_every_15_minutes(context: dg.ScheduleEvaluationContext):
        active = active_refresh_run_id(context.instance)
        if active:
            return dg.SkipReason(f"refresh run {active} is still active")
        tick = context.scheduled_execution_time.astimezone(UTC)
        if (tick.hour, tick.minute) == (RECONCILE_HOUR_UTC, 0):
            return dg.SkipReason("the nightly refresh with reconciliation runs at this time")
        return dg.RunRequest(tags=REFRESH_PRIORITY)

    return refresh_every_15_minutes


def _metadata_value(metadata: dict, key: str) -> object:
    entry = metadata.get(key)
    return getattr(entry, "value", entry)


def publish_priorities(
    instance: dg.DagsterInstance, refresh_run_id: str, zone_codes: list[str]
) -> dict[str, int]:
    """Return each zone's publish priority after a refresh run, from what that run recorded.

    2: the refresh landed source rows that reach the zone's marts. 1: the zone's mart rows
    differ from its last publish for another reason, such as a rolling window moving with time,
    or the zone was never published with a fingerprint. 0: nothing changed, so the publish only
    renews the zone's freshness. Without fingerprints (production) every zone gets 0.
    """
    fingerprints: dict = {}
    landed: dict = {}
    records = instance.get_records_for_run(
        refresh_run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        if materialization and materialization.asset_key == dg.AssetKey(CHANGES_ASSET):
            fingerprints = _metadata_value(materialization.metadata, FINGERPRINTS_METADATA) or {}
            landed = _metadata_value(materialization.metadata, LANDED_METADATA) or {}
    priorities = {}
    for code in zone_codes:
        if code not in fingerprints:
            priorities[code] = 0
            continue
        published = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(ZONE_MART_ASSET), asset_partitions=[code]),
            limit=1,
        ).records
        previous = (
            _metadata_value(
                published[0].asset_materialization.metadata, CONTENT_FINGERPRINT_METADATA
            )
            if published
            else None
        )
        if landed.get(code, 0) > 0:
            priorities[code] = 2
        else:
            priorities[code] = 1 if previous != fingerprints[code] else 0
    return priorities


def build_publish_sensor(refresh_job, publish_job, zones: list[Zone]) -> dg.SensorDefinition:
    """Request one publish run per zone each time a refresh run succeeds, changed zones first.

    The run queue starts one warehouse run at a time, by priority then by age. A zone that
    received source changes is therefore published first, then the zones whose rows changed only
    with time, then those that only need their freshness renewed.
    """
    zone_codes = [zone.code for zone in zones]

    @dg.run_status_sensor(
        name="publish_zones_after_refresh",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[refresh_job],
        request_job=publish_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        # Every second of this interval is latency between a source change and its zone mart.
        minimum_interval_seconds=5,
    )
    def publish_zones_after_refresh(context: dg.RunStatusSensorContext):
        refresh_run_id = context.dagster_run.run_id
        priorities = publish_priorities(context.instance, refresh_run_id, zone_codes)
        for code in sorted(zone_codes, key=lambda code: -priorities[code]):
            yield dg.RunRequest(
                run_key=f"{refresh_run_id}:{code}",
                partition_key=code,
                tags={
                    "zone_marts/refresh_run_id": refresh_run_id,
                    "dagster/priority": str(priorities[code]),
                },
            )

    return publish_zones_after_refresh


def build_source_change_sensor(refresh_job, source_url: str) -> dg.SensorDefinition:
    """Start a refresh as soon as a source table's max cursor moves, checked every 5 seconds.

    The markers are one indexed max() per table, so a tick costs milliseconds whatever the table
    sizes. No run is requested while a refresh is queued or running: the embedded warehouse
    accepts one writer at a time, and the next tick detects any change made meanwhile.
    """
    from dagster_project.extract.assets import read_change_markers
    from dagster_project.extract.declaration import load_declaration

    @dg.sensor(
        name="refresh_on_source_change",
        job=refresh_job,
        # Every second of this interval is latency between a source change and its zone mart.
        minimum_interval_seconds=5,
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def refresh_on_source_change(context: dg.SensorEvaluationContext):
        active = active_refresh_run_id(context.instance)
        if active:
            return dg.SkipReason(f"refresh run {active} is still active")
        markers = read_change_markers(source_url, load_declaration())
        encoded = json.dumps(markers, sort_keys=True)
        if encoded == context.cursor:
            return dg.SkipReason("no source table changed since the last refresh request")
        previous = json.loads(context.cursor) if context.cursor else {}
        changed = sorted(table for table, value in markers.items() if previous.get(table) != value)
        context.update_cursor(encoded)
        last = last_successful_refresh(context.instance)
        if last is not None:
            # A refresh started by the schedule, the command line or the UI may have read them.
            changed = [table for table in changed if not read_before(markers[table], last)]
            if not changed:
                return dg.SkipReason(
                    f"the source changes were read by refresh run {last.dagster_run.run_id}"
                )
        return dg.RunRequest(
            run_key=hashlib.sha256(encoded.encode()).hexdigest()[:20],
            tags={"zone_marts/changed_tables": ",".join(changed)[:200], **REFRESH_PRIORITY},
        )

    return refresh_on_source_change
