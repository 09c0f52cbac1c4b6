"""``zone-marts discover`` and ``zone-marts reconcile``: extraction commands for operators."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dagster_project.extract.declaration import load_declaration
from dagster_project.extract.discover import audit_source, draft_declaration, format_audit
from dagster_project.extract.run import extract_table
from dagster_project.extract.sources import SourceError, open_source
from dagster_project.resources import WarehouseResource
from dagster_project.settings import load_settings


def discover(args: argparse.Namespace) -> int:
    url = args.url or load_settings().source_url
    try:
        source = open_source(url)
        try:
            audits = audit_source(source)
        finally:
            source.close()
    except SourceError as error:
        print(f"discover failed: {error}", file=sys.stderr)
        return 1
    print(format_audit(audits))
    if args.write:
        path = Path(args.write)
        if path.exists() and not args.force:
            print(f"{path} exists; pass --force to overwrite it", file=sys.stderr)
            return 1
        try:
            path.write_text(draft_declaration(audits), encoding="utf-8")
        except OSError as error:
            print(f"cannot write {path}: {error.strerror}", file=sys.stderr)
            return 1
        print(f"wrote a draft declaration for {len(audits)} tables to {path}")
    return 0


def reconcile(args: argparse.Namespace) -> int:
    settings = load_settings()
    specs = load_declaration()
    if args.table:
        specs = [spec for spec in specs if spec.name in args.table]
        unknown = set(args.table) - {spec.name for spec in specs}
        if unknown:
            print(f"table {', '.join(sorted(unknown))} is not declared", file=sys.stderr)
            return 1
    source = open_source(settings.source_url)
    try:
        warehouse = WarehouseResource(
            path=str(settings.warehouse_path),
            url=settings.warehouse_url if settings.is_production else None,
        )
        with warehouse.connect() as connection:
            for spec in specs:
                result = extract_table(spec, source, connection, reconcile=True)
                print(
                    f"{spec.name}: read {result.rows_read}, inserted {result.inserted}, "
                    f"updated {result.updated}, deleted {result.deleted}"
                )
    finally:
        source.close()
    return 0


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "discover",
        help="audit a source database: tables, row counts, keys, cursor candidates",
    )
    parser.add_argument("--url", help="source URL (default: BASE_OPERATION_URL)")
    parser.add_argument("--write", metavar="FILE", help="write a draft declaration YAML")
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    parser.set_defaults(handler=discover)

    parser = subparsers.add_parser(
        "reconcile",
        help="extract and delete warehouse rows whose key is gone from the source",
    )
    parser.add_argument(
        "--table", action="append", help="declared table to reconcile (repeatable; default: all)"
    )
    parser.set_defaults(handler=reconcile)
