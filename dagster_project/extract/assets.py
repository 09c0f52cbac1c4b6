"""Dagster assets that extract each declared Base Opération table into ``raw``.

One asset per table, key ``["base_operation", <table>]``, which is also the key dagster-dbt
gives the dbt source ``base_operation``, so dbt models depend on these assets directly.
Deletes are reconciled only on runs tagged ``zone_marts/reconcile=true`` (the nightly job) or
with the run config ``reconcile: true``; every other run is incremental only.
"""

# No "from __future__ import annotations": Dagster reads the asset function's annotations
# at definition time to find its config class and resources.
from collections.abc import Sequence

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from dagster_project.extract.declaration import TableSpec, load_declaration
from dagster_project.extract.run import extract_table
from dagster_project.extract.sources import open_source
from dagster_project.resources import (
    REFRESH_PRIORITY,
    WAREHOUSE_POOL,
    WAREHOUSE_RUN_TAGS,
    WAREHOUSE_WRITER_TAGS,
    SourceResource,
    WarehouseResource,
)

GROUP = "base_operation"
RECONCILE_TAG = "zone_marts/reconcile"
RECONCILE_JOB = "reconcile_base_operation"
# After the business day in every zone (La Réunion is UTC+4, the Antilles UTC-4).
RECONCILE_HOUR_UTC = 2
RECONCILE_CRON = f"0 {RECONCILE_HOUR_UTC} * * *"
RECONCILE_SCHEDULE = "refresh_and_reconcile_nightly"


class ExtractConfig(dg.Config):
    reconcile: bool = False
    """Also delete warehouse rows whose primary key is gone from the source."""


def asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, table])


def _build_asset(spec: TableSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=asset_key(spec.name),
        group_name=GROUP,
        description=f"Base Opération table {spec.name}, landed in raw.{spec.name}.",
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
    )
    def extract_asset(
        context: dg.AssetExecutionContext,
        config: ExtractConfig,
        warehouse: WarehouseResource,
        source: SourceResource,
    ) -> dg.MaterializeResult:
        reconcile = config.reconcile or context.run.tags.get(RECONCILE_TAG) == "true"
        reader = open_source(source.url)
        try:
            with warehouse.connect() as connection:

                def waiting() -> None:
                    context.log.info(
                        f"{spec.name}: waiting for another run's extraction or dbt build to end"
                    )

                result = extract_table(spec, reader, connection, reconcile, on_wait=waiting)
        finally:
            reader.close()
        context.log.info(
            f"{spec.name}: read {result.rows_read}, inserted {result.inserted}, updated "
            f"{result.updated}, deleted {result.deleted}, watermark {result.watermark_before} "
            f"-> {result.watermark_after} in {result.seconds:.2f} s"
        )
        if result.future_cursor_rows:
            context.log.warning(
                f"{spec.name}: {result.future_cursor_rows} rows have a {spec.cursor} later than "
                "the time of this read; they are loaded, but the watermark stops at the read "
                "time, so they are read again on every run until their cursor is in the past. "
                f"Check the clock or the {spec.cursor} values of those rows in the source."
            )
        if result.repeated_key_rows:
            context.log.warning(
                f"{spec.name}: {result.repeated_key_rows} rows read repeat the primary key of "
                "another row read in the same run, so only the last version of each key was "
                "kept. A source that enforced this key could not return such rows: declare "
                "the table's real primary_key."
            )
        return dg.MaterializeResult(metadata=result.as_metadata())

    return extract_asset


def build_extract_assets(specs: Sequence[TableSpec] | None = None) -> list[dg.AssetsDefinition]:
    """Build one extraction asset per declared table (default: base_operation.yml)."""
    return [_build_asset(spec) for spec in (specs if specs is not None else load_declaration())]


def build_reconcile_job() -> UnresolvedAssetJobDefinition:
    """Job that extracts every table and reconciles hard deletes, one process at a time."""
    return dg.define_asset_job(
        RECONCILE_JOB,
        selection=dg.AssetSelection.groups(GROUP),
        tags={RECONCILE_TAG: "true", **WAREHOUSE_RUN_TAGS, **WAREHOUSE_WRITER_TAGS},
        executor_def=dg.in_process_executor,
        description="Extract every Base Opération table and reconcile hard deletes.",
    )


def build_reconcile_schedule(refresh_job) -> dg.ScheduleDefinition:
    """Nightly schedule (02:00 UTC): the refresh job, tagged to reconcile hard deletes.

    Run as a refresh, the deletes reach the dbt models and, through the publish sensor that
    follows every successful refresh, the zone marts the same night.
    """
    return dg.ScheduleDefinition(
        name=RECONCILE_SCHEDULE,
        job=refresh_job,
        cron_schedule=RECONCILE_CRON,
        execution_timezone="UTC",
        tags={RECONCILE_TAG: "true", **REFRESH_PRIORITY},
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


def read_change_markers(source_url: str, specs: Sequence[TableSpec]) -> dict[str, str | None]:
    """Return the max cursor per table: a cheap marker a sensor can compare between ticks."""
    reader = open_source(source_url)
    try:
        return {spec.name: reader.max_cursor(spec) for spec in specs}
    finally:
        reader.close()
