"""Dagster assets that load the zone declaration and calendars into the warehouse."""

import dagster as dg

from dagster_project.context.tables import (
    build_zone_calendar,
    build_zone_settings,
    keep_unchanged_loaded_at,
)
from dagster_project.context.writer import (
    read_duckdb_rows,
    read_postgres_rows,
    write_duckdb,
    write_postgres,
)
from dagster_project.resources import WAREHOUSE_POOL, WarehouseResource
from dagster_project.settings import load_settings
from dagster_project.zones import load_zones

ZONE_SETTINGS_KEY = dg.AssetKey(["zone_context", "zone_settings"])
ZONE_CALENDAR_KEY = dg.AssetKey(["zone_context", "zone_calendar"])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ZONE_SETTINGS_KEY,
            group_name="zone_context",
            description="One row per zone of marts/zones.yml: time zone, currency, SLA, targets.",
        ),
        dg.AssetSpec(
            ZONE_CALENDAR_KEY,
            group_name="zone_context",
            description="One row per zone and local date: ISO week, holidays, working days.",
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def zone_context(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Write zone_context.zone_settings and zone_context.zone_calendar from marts/zones.yml."""
    zones = load_zones()
    settings = load_settings()
    settings_table = build_zone_settings(zones)
    calendar_table = build_zone_calendar(zones)
    if settings.is_production:
        previous = read_postgres_rows(settings.warehouse_url, settings_table)
        settings_table = keep_unchanged_loaded_at(settings_table, previous)
        write_postgres(settings.warehouse_url, [settings_table, calendar_table])
    else:
        with warehouse.connect() as connection:
            previous = read_duckdb_rows(connection, settings_table)
            settings_table = keep_unchanged_loaded_at(settings_table, previous)
            write_duckdb(connection, [settings_table, calendar_table])
    context.log.info(
        f"zone context written: {len(settings_table.rows)} zones, "
        f"{len(calendar_table.rows)} calendar days"
    )
    yield dg.MaterializeResult(
        asset_key=ZONE_SETTINGS_KEY, metadata={"rows": len(settings_table.rows)}
    )
    yield dg.MaterializeResult(
        asset_key=ZONE_CALENDAR_KEY, metadata={"rows": len(calendar_table.rows)}
    )
