"""Everything Dagster loads: assets of each stage, jobs, schedules, sensors and resources."""

from __future__ import annotations

import dagster as dg

from dagster_project.alert import apply_freshness_policies, build_alert_definitions
from dagster_project.context.assets import zone_context
from dagster_project.extract.assets import (
    build_extract_assets,
    build_reconcile_job,
    build_reconcile_schedule,
)
from dagster_project.gate.assets import build_gate_definitions
from dagster_project.pipeline import (
    build_jobs,
    build_publish_sensor,
    build_refresh_schedule,
    build_source_change_sensor,
)
from dagster_project.resources import build_resources
from dagster_project.settings import load_settings
from dagster_project.transform.assets import build_dbt_resource, zone_marts_dbt_assets
from dagster_project.zones import load_zones


def build_definitions() -> dg.Definitions:
    """Assemble the stages for the environment that load_settings() selects."""
    settings = load_settings()
    zones = load_zones()
    refresh_job, publish_job = build_jobs(zones)
    reconcile_job = build_reconcile_job()
    gate_assets = build_gate_definitions(zones, settings).assets
    return dg.Definitions.merge(
        dg.Definitions(
            # Freshness policies are applied here, once, to every asset that has one.
            assets=apply_freshness_policies(
                [*build_extract_assets(), zone_context, zone_marts_dbt_assets, *gate_assets],
                zones,
            ),
            jobs=[refresh_job, publish_job, reconcile_job],
            schedules=[
                build_refresh_schedule(refresh_job),
                build_reconcile_schedule(refresh_job),
            ],
            sensors=[
                build_publish_sensor(refresh_job, publish_job, zones),
                build_source_change_sensor(refresh_job, settings.source_url),
            ],
            resources={**build_resources(settings), "dbt": build_dbt_resource(settings)},
            # DuckDB accepts one writer process at a time, so every step runs in the run's
            # process.
            executor=dg.in_process_executor,
        ),
        build_alert_definitions(zones),
    )


# Dagster loads the one Definitions object at module scope.
defs = build_definitions()
