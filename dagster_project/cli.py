"""The ``zone-marts`` command: set-up, the main job, and operations commands.

Each stage package contributes its own subcommands through a ``register_commands(subparsers)``
function, so this module only assembles them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

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
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        module.register_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
