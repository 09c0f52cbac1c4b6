"""Everything Dagster loads: assets of each stage, jobs, schedules, sensors and resources."""

from __future__ import annotations

import dagster as dg

from dagster_project.alert.definitions import build_alert_definitions
from dagster_project.context.assets import zone_context_assets
from dagster_project.extract.assets import build_extract_definitions
from dagster_project.gate.assets import build_gate_definitions
from dagster_project.pipeline import build_jobs, build_publish_sensor, build_refresh_schedule
from dagster_project.resources import build_resources
from dagster_project.settings import load_settings
from dagster_project.transform.assets import build_transform_definitions
from dagster_project.zones import load_zones

settings = load_settings()
zones = load_zones()
refresh_job, publish_job = build_jobs(zones)

defs = dg.Definitions.merge(
    build_extract_definitions(),
    dg.Definitions(assets=zone_context_assets),
    build_transform_definitions(settings),
    build_gate_definitions(zones),
    build_alert_definitions(zones),
    dg.Definitions(
        jobs=[refresh_job, publish_job],
        schedules=[build_refresh_schedule(refresh_job)],
        sensors=[build_publish_sensor(refresh_job, publish_job, zones)],
        resources=build_resources(settings),
        # DuckDB accepts one writer process at a time, so every step runs in the run's process.
        executor=dg.in_process_executor,
    ),
)
