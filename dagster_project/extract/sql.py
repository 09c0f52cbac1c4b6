"""Quoting shared by the SQLite, PostgreSQL and DuckDB statements the extraction builds."""

from __future__ import annotations

from collections.abc import Iterable


def quote_identifier(name: str) -> str:
    """Quote a table or column name for SQLite, PostgreSQL and DuckDB alike."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal (standard SQL: a quote is escaped by doubling it)."""
    return "'" + value.replace("'", "''") + "'"


def column_list(names: Iterable[str], prefix: str = "") -> str:
    return ", ".join(prefix + quote_identifier(name) for name in names)


def keys_equal(keys: Iterable[str], left: str, right: str) -> str:
    """Join condition ``left.k = right.k AND ...`` on the key columns."""
    return " AND ".join(
        f"{left}.{quote_identifier(key)} = {right}.{quote_identifier(key)}" for key in keys
    )
