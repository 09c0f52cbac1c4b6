"""The ``zone-marts generate`` and ``zone-marts simulate`` subcommands."""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from datetime import datetime

import psycopg

from dagster_project.access.secrets import mask_secrets
from dagster_project.demo.database import DemoDatabaseError, describe_url
from dagster_project.demo.generate import generate_base_operation
from dagster_project.demo.simulate import simulate_business_hour
from dagster_project.settings import check_postgres_url, load_settings

# Errors of the database drivers, such as a login without INSERT on a table.
DRIVER_ERRORS = (psycopg.Error, sqlite3.Error)


def register_commands(subparsers) -> None:
    generate = subparsers.add_parser(
        "generate",
        help="fill the Base Opération with demo data",
        description="Fill the Base Opération with about four months of demo sales, logistics, "
        "production and finance data, ending now.",
    )
    _add_url_option(generate)
    generate.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="data volume; 1 is about 50,000 order lines (default: 1)",
    )
    generate.add_argument(
        "--seed",
        type=int,
        default=42,
        help="random seed; the same seed and --as-of give the same data (default: 42)",
    )
    generate.add_argument(
        "--as-of",
        type=_parse_as_of,
        default=None,
        help="end of the history, an ISO 8601 instant such as 2026-12-01T15:00:00+00:00 "
        "(default: now)",
    )
    generate.add_argument(
        "--overwrite",
        action="store_true",
        help="drop and recreate the Base Opération tables if the database is not empty",
    )
    generate.set_defaults(handler=run_generate)

    simulate = subparsers.add_parser(
        "simulate",
        help="add one business hour of activity to the Base Opération",
        description="Add one business hour of orders, cancellations, shipments, deliveries, "
        "invoices, payments, stock moves and production progress, in one transaction.",
    )
    _add_url_option(simulate)
    simulate.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    simulate.set_defaults(handler=run_simulate)


def _add_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=None,
        help="sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE "
        "(default: BASE_OPERATION_URL, else data/base_operation.sqlite)",
    )


def _parse_as_of(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 instant") from None
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset: add one, such as +00:00")
    return instant


def demo_target(args: argparse.Namespace) -> str | None:
    """Return the database that generate or simulate writes to, or None after naming why not.

    In production mode BASE_OPERATION_URL is the company's own Base Opération, so these commands
    write demo rows only into a database given explicitly with --url.
    """
    settings = load_settings()
    if args.url:
        if settings.is_production and args.url == settings.source_url:
            print(
                f"zone-marts {args.command}: --url is BASE_OPERATION_URL, the production Base "
                "Opération, where demo rows must not go; name a demo database",
                file=sys.stderr,
            )
            return None
        if args.url.startswith("postgresql://"):
            check_postgres_url("--url", args.url)
        return args.url
    if settings.is_production:
        print(
            f"zone-marts {args.command}: ZONE_MARTS_MODE=production, so BASE_OPERATION_URL is the "
            "production Base Opération, where demo rows must not go; name a demo database "
            "with --url",
            file=sys.stderr,
        )
        return None
    return settings.source_url


def run_generate(args: argparse.Namespace) -> int:
    url = demo_target(args)
    if url is None:
        return 2
    started = time.perf_counter()
    try:
        counts = generate_base_operation(
            url, scale=args.scale, seed=args.seed, as_of=args.as_of, overwrite=args.overwrite
        )
    except (DemoDatabaseError, ValueError, *DRIVER_ERRORS) as error:
        print(f"generate failed: {first_line(error, url)}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    print(f"Generated the Base Opération at {describe_url(url)} in {seconds:.1f} s:")
    _print_counts(counts)
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    url = demo_target(args)
    if url is None:
        return 2
    try:
        counts = simulate_business_hour(url, seed=args.seed)
    except (DemoDatabaseError, *DRIVER_ERRORS) as error:
        print(f"simulate failed: {first_line(error, url)}", file=sys.stderr)
        return 1
    print(f"Simulated one business hour on {describe_url(url)}:")
    _print_counts(counts)
    return 0


def first_line(error: Exception, url: str) -> str:
    """Return the first line of ``error``, with the URL's password masked."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return mask_secrets(lines[0], url)


def _print_counts(counts: dict[str, int]) -> None:
    width = max(len(name) for name in counts)
    for name, count in counts.items():
        print(f"  {name:<{width}}  {count:>10,}")
