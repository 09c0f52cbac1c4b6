"""Audit a source database and draft an extraction declaration for review."""

from __future__ import annotations

import json
from dataclasses import dataclass

import yaml

from dagster_project.extract.columns import CURSOR_TYPES
from dagster_project.extract.declaration import BUILT_IN_DEFAULTS, TableSpec
from dagster_project.extract.sources import Source

TIMESTAMP_TYPES = CURSOR_TYPES[:2]
CHANGE_WORDS = ("updated", "modified", "changed", "last_")


@dataclass(frozen=True)
class TableAudit:
    name: str
    row_count: int
    primary_key: tuple[str, ...]
    cursor_candidates: tuple[str, ...]
    indexed: frozenset[str]


def audit_table(source: Source, table: str) -> TableAudit:
    """Count rows and list the key and the timestamp columns, best cursor candidate first."""
    spec = TableSpec(name=table)
    columns = source.columns(spec)
    indexed = source.indexed_columns(table)
    timestamps = [c.name for c in columns if c.landing_type in TIMESTAMP_TYPES]

    def rank(name: str) -> tuple[bool, bool, int]:
        looks_like_change = any(word in name.lower() for word in CHANGE_WORDS)
        return (name not in indexed, not looks_like_change, timestamps.index(name))

    return TableAudit(
        name=table,
        row_count=source.row_count(table),
        primary_key=source.primary_key(spec),
        cursor_candidates=tuple(sorted(timestamps, key=rank)),
        indexed=frozenset(indexed),
    )


def audit_source(source: Source) -> list[TableAudit]:
    return [audit_table(source, table) for table in source.list_tables()]


def format_audit(audits: list[TableAudit]) -> str:
    lines = [f"{'table':<32} {'rows':>12}  primary key / cursor candidates (* = indexed)"]
    for audit in audits:
        candidates = ", ".join(
            name + ("*" if name in audit.indexed else "") for name in audit.cursor_candidates
        )
        key = ", ".join(audit.primary_key) or "NONE"
        lines.append(
            f"{audit.name:<32} {audit.row_count:>12}  key: {key}; cursor: {candidates or 'NONE'}"
        )
    return "\n".join(lines)


def draft_declaration(audits: list[TableAudit]) -> str:
    """Write a starting base_operation.yml: defaults, then only what differs per table."""
    lines = [
        "# Drafted by `zone-marts discover`: review every table marked REVIEW before use.",
        "defaults:",
        *(f"  {key}: {value}" for key, value in BUILT_IN_DEFAULTS.items()),
        "",
        "tables:",
    ]
    default_cursor = BUILT_IN_DEFAULTS["cursor"]
    for audit in audits:
        settings = []
        if not audit.primary_key:
            settings += [
                "    # REVIEW: no primary key; rows are appended with full-row deduplication",
                "    no_primary_key: append_distinct",
                "    deletes: none",
            ]
        best = audit.cursor_candidates[0] if audit.cursor_candidates else None
        if best is None:
            settings += [
                "    # REVIEW: no timestamp column; the table is read in full",
                "    cursor: null",
            ]
        elif best != default_cursor:
            note = "" if best in audit.indexed else "  # REVIEW: not indexed"
            settings.append(f"    cursor: {_yaml_name(best)}{note}")
        name = _yaml_name(audit.name)
        lines += [f"  {name}:", *settings] if settings else [f"  {name}: {{}}"]
    return "\n".join(lines) + "\n"


def _yaml_name(name: str) -> str:
    """Write a table or column name as YAML reads it back: plain when it stays a string.

    Names such as ``on``, ``null`` or ``010`` would read back as a boolean, None or a number, so
    they are written as double-quoted strings (a JSON string is one in YAML).
    """
    plain = name.replace("_", "").isalnum() and name.isascii()
    if plain and yaml.safe_load(name) == name:
        return name
    return json.dumps(name, ensure_ascii=False)
