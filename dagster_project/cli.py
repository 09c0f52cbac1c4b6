"""The ``zone-marts`` command: set-up, the main job, and operations commands.

Each stage package contributes its own subcommands through a ``register_commands(subparsers)``
function, so this module only assembles them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from dagster_project.extract.declaration import DeclarationError
from dagster_project.settings import SettingsError
from dagster_project.zones import ZoneConfigError

# Packages whose register_commands(subparsers) adds subcommands, in the order of the help text.
COMMAND_MODULES = (
    "dagster_project.pipeline_commands",
    "dagster_project.demo.commands",
    "dagster_project.extract.commands",
    "dagster_project.alert.commands",
    "dagster_project.dashboard_commands",
    "dagster_project.access.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zone-marts",
        description="Build, validate and publish one data mart per zone from the Base Opération.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register_commands(subparsers)
    return parser


# Invalid configuration: a setting, the zone declaration or the table declaration. Their messages
# name the variable, zone or table at fault, so a traceback would add nothing.
CONFIGURATION_ERRORS = (SettingsError, ZoneConfigError, DeclarationError)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CONFIGURATION_ERRORS as error:
        print(f"zone-marts {args.command}: invalid configuration: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
