"""Incremental reads by cursor: lookback, coarse cursors, watermark exactness, NULL cursors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagster_project.extract.columns import sqlite_column
from dagster_project.extract.run import NullCursorError
from dagster_project.extract.sources import CursorFilter

pytest.register_assert_rewrite("extract_support")
from extract_support import extract, landed  # noqa: E402

pytest_plugins = ("extract_support",)

ORDERS = (
    "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, status TEXT NOT NULL, "
    "updated_at TIMESTAMPTZ)"
)


def test_late_commit_caught_by_lookback(source, warehouse):
    source.run(ORDERS, "INSERT INTO orders VALUES (1, 'open', '2026-01-01T10:00:00+00:00')")
    extract("orders", source, warehouse)
    # A transaction that started at 10:04 commits after one stamped 10:05 was extracted.
    source.run("INSERT INTO orders VALUES (2, 'open', '2026-01-01T10:05:00+00:00')")
    extract("orders", source, warehouse)
    source.run("INSERT INTO orders VALUES (3, 'late', '2026-01-01T10:04:00+00:00')")
    result = extract("orders", source, warehouse, lookback="PT10M")
    assert result.inserted == 1
    assert landed(warehouse, "SELECT order_id FROM raw.orders ORDER BY 1") == [(1,), (2,), (3,)]


def test_late_commit_missed_without_lookback(source, warehouse):
    source.run(ORDERS, "INSERT INTO orders VALUES (2, 'open', '2026-01-01T10:05:00+00:00')")
    extract("orders", source, warehouse, lookback=0)
    source.run("INSERT INTO orders VALUES (3, 'late', '2026-01-01T10:04:00+00:00')")
    result = extract("orders", source, warehouse, lookback=0)
    assert result.rows_read == 1
    assert result.inserted == 0


def test_postgres_uncommitted_row_caught_after_commit(postgres_source, warehouse):
    import psycopg

    postgres_source.run(ORDERS)
    with psycopg.connect(postgres_source.url) as late:
        late.execute("INSERT INTO orders VALUES (1, 'late', now() - interval '2 minutes')")
        postgres_source.run("INSERT INTO orders VALUES (2, 'open', now())")
        first = extract("orders", postgres_source, warehouse)
        late.commit()
    second = extract("orders", postgres_source, warehouse)
    assert first.inserted == 1
    assert second.inserted == 1
    assert landed(warehouse, "SELECT count(*) FROM raw.orders") == [(2,)]


def test_date_cursor_keeps_rows_equal_to_watermark(source, warehouse):
    source.run(
        "CREATE TABLE visits (visit_id INTEGER PRIMARY KEY, visit_date DATE NOT NULL)",
        "INSERT INTO visits VALUES (1, '2026-03-01'), (2, '2026-03-02')",
    )
    first = extract("visits", source, warehouse, cursor="visit_date", lookback=0)
    source.run("INSERT INTO visits VALUES (3, '2026-03-02')")
    second = extract("visits", source, warehouse, cursor="visit_date", lookback=0)
    third = extract("visits", source, warehouse, cursor="visit_date", lookback=0)
    assert first.watermark_after == "2026-03-02"
    assert second.inserted == 1
    assert (third.inserted, third.updated) == (0, 0)
    assert third.unchanged == 2
    assert landed(warehouse, "SELECT count(*), count(DISTINCT visit_id) FROM raw.visits") == [
        (3, 3)
    ]


def test_no_change_run_keeps_loaded_at(source, warehouse):
    source.run(ORDERS, "INSERT INTO orders VALUES (1, 'open', '2026-01-01T10:00:00+00:00')")
    extract("orders", source, warehouse)
    before = landed(warehouse, "SELECT _loaded_at FROM raw.orders")
    result = extract("orders", source, warehouse)
    assert result.unchanged == 1
    assert landed(warehouse, "SELECT _loaded_at FROM raw.orders") == before


def test_watermark_is_max_cursor_to_microsecond(source, warehouse):
    source.run(
        ORDERS,
        "INSERT INTO orders VALUES (1, 'a', '2026-01-01T10:00:00.999999+00:00'), "
        "(2, 'b', '2026-01-01T12:00:00.000001+02:00'), (3, 'c', '2026-01-01T09:00:00+00:00')",
    )
    result = extract("orders", source, warehouse)
    assert result.watermark_before is None
    assert result.watermark_after == "2026-01-01 10:00:00.999999+00"


def test_watermark_never_moves_backwards(source, warehouse):
    source.run(ORDERS, "INSERT INTO orders VALUES (1, 'a', '2026-01-01T10:00:00.000002+00:00')")
    extract("orders", source, warehouse)
    source.run("UPDATE orders SET updated_at = '2026-01-01T09:59:00+00:00', status = 'b'")
    result = extract("orders", source, warehouse)
    assert result.updated == 1
    assert result.watermark_after == "2026-01-01 10:00:00.000002+00"


def test_empty_run_keeps_watermark(source, warehouse):
    source.run(ORDERS, "INSERT INTO orders VALUES (1, 'a', '2026-01-01T10:00:00.000002+00:00')")
    extract("orders", source, warehouse, lookback=0)
    source.run("DELETE FROM orders")
    result = extract("orders", source, warehouse, lookback=0)
    assert result.rows_read == 0
    assert result.watermark_before == result.watermark_after == "2026-01-01 10:00:00.000002+00"


def test_null_cursor_fails_naming_table_column_count(source, warehouse):
    source.run(ORDERS, "INSERT INTO orders VALUES (1, 'a', NULL), (2, 'b', NULL)")
    with pytest.raises(NullCursorError, match=r"'orders': 2 rows .* cursor column updated_at"):
        extract("orders", source, warehouse)
    assert landed(
        warehouse, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'orders'"
    ) == [(0,)]


def test_null_cursor_reload_merges_rows(source, warehouse):
    source.run(ORDERS, "INSERT INTO orders VALUES (1, 'a', NULL), (2, 'b', '2026-01-01T10:00Z')")
    extract("orders", source, warehouse, null_cursor="reload", lookback=0)
    source.run("UPDATE orders SET status = 'c' WHERE order_id = 1")
    result = extract("orders", source, warehouse, null_cursor="reload", lookback=0)
    assert (result.rows_read, result.updated) == (2, 1)
    assert landed(warehouse, "SELECT status FROM raw.orders WHERE order_id = 1") == [("c",)]


def test_empty_source_creates_typed_table(source, warehouse):
    source.run(
        "CREATE TABLE prices (product_id INTEGER PRIMARY KEY, price NUMERIC(12, 2), "
        "updated_at TIMESTAMPTZ NOT NULL)"
    )
    first = extract("prices", source, warehouse)
    types = landed(
        warehouse,
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'prices' ORDER BY ordinal_position",
    )
    source.run("INSERT INTO prices VALUES (7, 19.99, '2026-01-01T10:00:00+00:00')")
    second = extract("prices", source, warehouse)
    assert first.rows_read == 0
    assert first.watermark_after is None
    assert types[1:] == [
        ("price", "DECIMAL(12,2)"),
        ("updated_at", "TIMESTAMP WITH TIME ZONE"),
        ("_loaded_at", "TIMESTAMP WITH TIME ZONE"),
    ]
    assert second.inserted == 1
    assert landed(warehouse, "SELECT CAST(price AS VARCHAR) FROM raw.prices") == [("19.99",)]


def test_future_cursor_does_not_freeze_watermark(source, warehouse):
    source.run(
        ORDERS,
        "INSERT INTO orders VALUES (1, 'a', '2026-01-01T10:00:00+00:00'), "
        "(2, 'placeholder', '2099-01-01T00:00:00+00:00')",
    )
    first = extract("orders", source, warehouse)
    assert first.inserted == 2
    assert first.future_cursor_rows == 1
    assert first.watermark_after == "2026-01-01 10:00:00+00"

    source.run("INSERT INTO orders VALUES (3, 'c', '2026-01-02T08:00:00+00:00')")
    second = extract("orders", source, warehouse)
    assert second.inserted == 1
    assert second.watermark_after == "2026-01-02 08:00:00+00"
    assert landed(warehouse, "SELECT order_id FROM raw.orders ORDER BY 1") == [(1,), (2,), (3,)]


def test_sqlite_cursor_filter_uses_index_across_offsets(sqlite_source, warehouse):
    import sqlite3

    from dagster_project.extract.sources.sqlite import _where_clause

    sqlite_source.run(
        ORDERS,
        "CREATE INDEX orders_updated_at ON orders (updated_at)",
        "INSERT INTO orders VALUES (1, 'open', '2026-01-02T05:00:00+00:00')",
    )
    extract("orders", sqlite_source, warehouse, lookback=0)
    # Both instants are after the watermark (05:00 UTC); the second one's local date is the day
    # before the watermark's date.
    sqlite_source.run(
        "INSERT INTO orders VALUES (2, 'kiribati', '2026-01-02T19:30:00+14:00')",
        "INSERT INTO orders VALUES (3, 'baker', '2026-01-01T18:00:00-12:00')",
    )
    result = extract("orders", sqlite_source, warehouse, lookback=0)
    assert result.inserted == 2

    cursor_filter = CursorFilter(
        sqlite_column("updated_at", "TIMESTAMPTZ"), datetime(2026, 1, 2, 5, tzinfo=UTC), False
    )
    query = f"EXPLAIN QUERY PLAN SELECT * FROM orders{_where_clause(cursor_filter)}"
    with sqlite3.connect(sqlite_source.url.removeprefix("sqlite:///")) as connection:
        plan = " ".join(row[3] for row in connection.execute(query))
    assert "USING INDEX orders_updated_at" in plan or "COVERING INDEX orders_updated_at" in plan
