"""Parsing and validating the extraction declaration."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dagster_project.extract.declaration import (
    DeclarationError,
    load_declaration,
    parse_declaration,
)

pytest.register_assert_rewrite("extract_support")
from extract_support import extract  # noqa: E402

pytest_plugins = ("extract_support",)


def test_bare_table_gets_defaults():
    (spec,) = parse_declaration({"tables": {"orders": {}}})
    assert spec.cursor == "updated_at"
    assert spec.lookback == timedelta(minutes=10)
    assert spec.deletes == "reconcile"
    assert spec.null_cursor == "fail"
    assert spec.max_delete_share == 0.10


def test_table_overrides_defaults():
    document = {
        "defaults": {"lookback": "PT5M"},
        "tables": {
            "lines": {"primary_key": ["order_id", "line_number"], "lookback": "P1DT2H"},
            "notes": {"deletes": "soft:deleted_at", "cursor": "changed_on"},
        },
    }
    lines, notes = parse_declaration(document)
    assert lines.primary_key == ("order_id", "line_number")
    assert lines.lookback == timedelta(days=1, hours=2)
    assert notes.lookback == timedelta(minutes=5)
    assert (notes.deletes, notes.soft_delete_column) == ("soft", "deleted_at")
    assert notes.cursor == "changed_on"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"deletes": "sometimes"}, "'orders': deletes 'sometimes' is invalid"),
        ({"null_cursor": "skip"}, "'orders': null_cursor 'skip' is invalid"),
        ({"lookback": "ten minutes"}, "'orders': lookback 'ten minutes' is invalid"),
        ({"lookback": -5}, "'orders': lookback -5 must be a finite number of seconds"),
        ({"lookback": float("nan")}, "'orders': lookback nan must be a finite number"),
        ({"lookback": float("inf")}, "'orders': lookback inf must be a finite number"),
        ({"lookback": 1e20}, "'orders': lookback 1e\\+20 is longer than 3660 days"),
        ({"lookback": "P1000000D"}, "'orders': lookback 'P1000000D' is longer than"),
        ({"schema": 5}, "'orders': schema 5 must be a schema name"),
        ({"cursor_time_zone": "Mars/Olympus"}, "'orders': cursor_time_zone 'Mars/Olympus' is not"),
        ({"cursor_time_zone": 2}, "'orders': cursor_time_zone 2 is not a time zone"),
        ({"max_delete_share": 1.5}, "'orders': max_delete_share 1.5 must be"),
        ({"primary_key": []}, "'orders': primary_key must be"),
        ({"primary_key": ["a", "a"]}, "'orders': primary_key repeats"),
        ({"cursr": "x"}, "'orders': unknown setting cursr"),
        ({"on_schema_change": "ignore"}, "'orders': on_schema_change 'ignore' is invalid"),
        ({"deletes": "soft:"}, "'orders': deletes 'soft:' needs a column"),
    ],
)
def test_invalid_setting_names_table(settings, message):
    with pytest.raises(DeclarationError, match=message):
        parse_declaration({"tables": {"orders": settings}})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"defaults": 5, "tables": {"orders": {}}}, "defaults: must be a mapping"),
        ({"tables": {True: {}}}, "table True: a table name must be a string; quote names"),
        (
            {"tables": {"Orders": {}, "orders": {}}},
            "table 'orders': the declaration also names 'Orders'",
        ),
        ({"tables": {"_Extract_State": {}}}, "names starting with _extract_ are the warehouse"),
    ],
)
def test_invalid_declaration_is_named(document, message):
    with pytest.raises(DeclarationError, match=message):
        parse_declaration(document)


def test_project_declaration_loads():
    specs = load_declaration()
    assert "sales_order_lines" in [spec.name for spec in specs]


def test_primary_key_read_from_catalog(source, warehouse):
    source.run(
        "CREATE TABLE lines (order_id INTEGER, line_number INTEGER, qty INTEGER, "
        "updated_at TIMESTAMPTZ, PRIMARY KEY (line_number, order_id))",
        "INSERT INTO lines VALUES (1, 1, 5, '2026-01-01T10:00Z')",
    )
    extract("lines", source, warehouse)
    source.run("UPDATE lines SET qty = 6")
    result = extract("lines", source, warehouse)
    assert result.updated == 1


def test_table_without_key_rejected(source, warehouse):
    source.run("CREATE TABLE audit_log (message TEXT, updated_at TIMESTAMPTZ)")
    with pytest.raises(DeclarationError, match="'audit_log'.*no_primary_key: append_distinct"):
        extract("audit_log", source, warehouse)


def test_missing_cursor_column_named(source, warehouse):
    source.run("CREATE TABLE orders (order_id INTEGER PRIMARY KEY, changed TIMESTAMPTZ)")
    with pytest.raises(Exception, match="'orders': column updated_at not found"):
        extract("orders", source, warehouse)
