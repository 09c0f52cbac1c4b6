"""The ``grant-access`` subcommand: give (or take back) a login's read access to one zone."""

from __future__ import annotations

import argparse

import psycopg

from dagster_project.access.roles import AccessError, grant_zone, revoke_zone
from dagster_project.access.secrets import mask_secrets
from dagster_project.settings import SettingsError, load_settings
from dagster_project.zones import ZoneConfigError, load_zones, validate_zone_code


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grant-access",
        help="let a PostgreSQL login read one zone's schema (production mode), or --revoke it",
    )
    parser.add_argument("--zone", required=True, help="zone code from marts/zones.yml")
    parser.add_argument("--user", required=True, help="existing PostgreSQL login name")
    parser.add_argument(
        "--revoke", action="store_true", help="take the zone's read access away from the login"
    )
    parser.set_defaults(handler=run_grant_access)


def run_grant_access(args: argparse.Namespace) -> int:
    """Grant or revoke; return 0 on success, 2 on invalid input or settings, 1 on a DB error."""
    settings = None
    try:
        settings = load_settings()
        if not settings.is_production:
            raise SettingsError(
                "it manages PostgreSQL roles: set ZONE_MARTS_MODE=production and "
                "WAREHOUSE_URL=postgresql://... (embedded marts are files, not schemas)"
            )
        zone_code = validate_zone_code(args.zone)
        if zone_code not in {zone.code for zone in load_zones()}:
            raise ZoneConfigError(f"zone {zone_code!r} is not declared in marts/zones.yml")
        if args.revoke:
            role = revoke_zone(settings.warehouse_url, zone_code, args.user)
            print(f"{args.user} is no longer a member of {role} (zone {zone_code}).")
        else:
            role = grant_zone(settings.warehouse_url, zone_code, args.user)
            print(f"{args.user} reads schema {zone_code} as a member of {role}.")
        return 0
    except (SettingsError, ZoneConfigError, AccessError) as error:
        print(f"grant-access: {error}")
        return 2
    except psycopg.Error as error:
        url = settings.warehouse_url if settings else None
        print(f"grant-access: the warehouse refused the change: {mask_secrets(str(error), url)}")
        return 1
