"""Translate landing types (DuckDB names, see columns.py) to PostgreSQL types and back.

The extraction plans every column in DuckDB's type names. A PostgreSQL warehouse stores each
as the PostgreSQL type that holds the same values exactly, and reads its landing tables' types
back into DuckDB names, so the same schema-change rules (schema_change.py) apply to both.
"""

from __future__ import annotations

import re

from dagster_project.extract.columns import TIMESTAMPTZ

_TO_POSTGRES = {
    TIMESTAMPTZ: "timestamptz",
    "TIMESTAMP": "timestamp",
    "DATE": "date",
    "TIME": "time",
    "TIME WITH TIME ZONE": "timetz",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(39,0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
    "VARCHAR": "text",
    "UUID": "uuid",
    # jsonb, not json: json has no equality operator, and the merge compares every column.
    "JSON": "jsonb",
    "BLOB": "bytea",
    "INTERVAL": "interval",
}
# format_type() names of the types above, mapped back.
_FROM_POSTGRES = {
    "timestamp with time zone": TIMESTAMPTZ,
    "timestamp without time zone": "TIMESTAMP",
    "date": "DATE",
    "time without time zone": "TIME",
    "time with time zone": "TIME WITH TIME ZONE",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "numeric(39,0)": "HUGEINT",
    "real": "FLOAT",
    "double precision": "DOUBLE",
    "boolean": "BOOLEAN",
    "text": "VARCHAR",
    "uuid": "UUID",
    "jsonb": "JSON",
    "bytea": "BLOB",
    "interval": "INTERVAL",
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),(\d+)\)$")
_NUMERIC = re.compile(r"^numeric\((\d+),(\d+)\)$")


def postgres_type(landing_type: str) -> str:
    """Return the PostgreSQL type that stores a landing type's values exactly."""
    if landing_type.endswith("[]"):
        return postgres_type(landing_type[:-2]) + "[]"
    if landing_type in _TO_POSTGRES:
        return _TO_POSTGRES[landing_type]
    match = _DECIMAL.match(landing_type)
    if match:
        return f"numeric({match.group(1)},{match.group(2)})"
    raise ValueError(f"landing type {landing_type} has no PostgreSQL equivalent")


def landing_type(formatted: str) -> str:
    """Return the landing type of a PostgreSQL column from its ``format_type()`` text."""
    if formatted.endswith("[]"):
        return landing_type(formatted[:-2]) + "[]"
    if formatted in _FROM_POSTGRES:
        return _FROM_POSTGRES[formatted]
    match = _NUMERIC.match(formatted)
    if match:
        return f"DECIMAL({match.group(1)},{match.group(2)})"
    # An unknown type never equals a planned one, so the schema check names it.
    return formatted
