"""The ``status`` subcommand: what each zone last published and what is stale."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path

from dagster_project.access.secrets import mask_secrets
from dagster_project.alert.status import (
    EmbeddedState,
    PostgresState,
    WarehouseBusy,
    latest_failed_publish,
    zone_status,
)
from dagster_project.pipeline_commands import open_instance
from dagster_project.settings import ZONES_FILE, SettingsError, load_settings
from dagster_project.zones import ZoneConfigError, load_zones


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "status",
        help="print each zone's last publish and freshness; exit 1 if anything is stale or failed",
    )
    parser.add_argument(
        "--zones-file", type=Path, default=ZONES_FILE, help="zone declaration (marts/zones.yml)"
    )
    parser.add_argument("--zone", action="append", help="only this zone code (repeatable)")
    parser.set_defaults(handler=run_status)


def run_status(args: argparse.Namespace, now: datetime | None = None) -> int:
    """Print the status of every zone; return 1 when any line is a problem, 2 on bad settings."""
    try:
        settings = load_settings()
        zones = load_zones(args.zones_file)
    except (SettingsError, ZoneConfigError, FileNotFoundError) as error:
        print(f"status: {error}")
        return 2
    if args.zone:
        unknown = sorted(set(args.zone) - {zone.code for zone in zones})
        if unknown:
            print(f"status: unknown zone code(s) {', '.join(unknown)} in {args.zones_file}")
            return 2
        zones = [zone for zone in zones if zone.code in args.zone]
    now = now or datetime.now(UTC)
    problems = 0
    if settings.is_production:
        state = PostgresState(settings.warehouse_url)
    else:
        state = EmbeddedState(settings.warehouse_path, settings.marts_dir)
    try:
        watermarks, warehouse_problem = state.read_watermarks()
    except WarehouseBusy as busy:
        # A refresh keeps the file open for tens of seconds, which is no failure of the pipeline.
        watermarks, warehouse_problem = {}, None
        print(f"busy {busy}")
    if warehouse_problem:
        print(f"FAIL {warehouse_problem}")
        problems += 1
    failed = {}
    try:
        with open_instance() as instance:
            failed = {zone.code: latest_failed_publish(instance, zone.code) for zone in zones}
    except Exception as error:  # noqa: BLE001 - any storage or configuration error
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        print(
            f"FAIL Dagster instance {os.environ.get('DAGSTER_HOME')} cannot be read, so failed "
            "publish runs are not shown: "
            + mask_secrets(first_line, os.environ.get("DAGSTER_POSTGRES_URL"))
        )
        problems += 1
    for zone in zones:
        status = zone_status(zone, now, state, watermarks, failed.get(zone.code))
        print(f"{zone.code} ({zone.name}, {zone.time_zone})")
        for line in status.lines:
            print(f"  {line}")
        problems += status.problems
    print(f"{problems} problem(s)" if problems else "all zones fresh")
    return 1 if problems else 0
