"""Merging by primary key, hard-delete reconciliation and its mass-delete guard."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from dagster_project.extract.columns import SourceColumn
from dagster_project.extract.declaration import BUILT_IN_DEFAULTS, parse_table
from dagster_project.extract.loader import DuckDBLoader
from dagster_project.extract.reconcile import (
    SOURCE_KEYS,
    MassDeleteRefused,
    unreachable_rows_query,
)

pytest.register_assert_rewrite("extract_support")
from extract_support import extract, landed  # noqa: E402

pytest_plugins = ("extract_support",)

STOCK = (
    "CREATE TABLE stock (site_id INTEGER NOT NULL, product_id INTEGER NOT NULL, "
    "quantity INTEGER NOT NULL, updated_at TIMESTAMPTZ NOT NULL, "
    "PRIMARY KEY (site_id, product_id))"
)


def test_composite_key_updates_one_row(source, warehouse):
    source.run(
        STOCK,
        "INSERT INTO stock VALUES (1, 1, 10, '2026-01-01T10:00Z'), (1, 2, 20, "
        "'2026-01-01T10:00Z'), (2, 1, 30, '2026-01-01T10:00Z'), (2, 2, 40, '2026-01-01T10:00Z')",
    )
    extract("stock", source, warehouse)
    untouched = landed(
        warehouse, "SELECT _loaded_at FROM raw.stock WHERE site_id = 2 AND product_id = 2"
    )
    source.run(
        "UPDATE stock SET quantity = 21, updated_at = '2026-01-01T11:00Z' "
        "WHERE site_id = 1 AND product_id = 2",
        "INSERT INTO stock VALUES (2, 3, 50, '2026-01-01T11:00Z')",
    )
    result = extract("stock", source, warehouse)
    assert (result.inserted, result.updated) == (1, 1)
    assert landed(
        warehouse, "SELECT site_id, product_id, quantity FROM raw.stock ORDER BY 1, 2"
    ) == [
        (1, 1, 10),
        (1, 2, 21),
        (2, 1, 30),
        (2, 2, 40),
        (2, 3, 50),
    ]
    assert (
        landed(warehouse, "SELECT _loaded_at FROM raw.stock WHERE site_id = 2 AND product_id = 2")
        == untouched
    )


def test_later_version_in_batch_wins(warehouse):
    spec = parse_table("events", {**BUILT_IN_DEFAULTS, "primary_key": ["event_id"]})
    columns = [
        SourceColumn("event_id", "integer", '"event_id"', "INTEGER"),
        SourceColumn("status", "text", '"status"', "VARCHAR"),
        SourceColumn("updated_at", "timestamptz", '"updated_at"', "TIMESTAMP WITH TIME ZONE"),
    ]
    at = pa.array(["2026-01-01T10:00:00Z"] * 2 + ["2026-01-01T09:00:00Z"]).cast(pa.string())
    batch = pa.record_batch(
        {
            "event_id": pa.array([1, 1, 2], pa.int32()),
            "status": ["first", "second", "only"],
            "updated_at": at,
        }
    )
    older = pa.record_batch(
        {
            "event_id": pa.array([2], pa.int32()),
            "status": ["older"],
            "updated_at": pa.array(["2026-01-01T08:00:00Z"]),
        }
    )
    loader = DuckDBLoader(warehouse)
    reader = pa.RecordBatchReader.from_batches(batch.schema, [batch, older])
    result = loader.load(spec, columns, loader.plan(spec, columns), reader)
    assert (result.rows_read, result.inserted) == (4, 2)
    assert landed(warehouse, "SELECT event_id, status FROM raw.events ORDER BY 1") == [
        (1, "second"),
        (2, "only"),
    ]


def test_later_version_wins_on_update(warehouse):
    spec = parse_table("events", {**BUILT_IN_DEFAULTS, "primary_key": ["event_id"]})
    columns = [
        SourceColumn("event_id", "integer", '"event_id"', "INTEGER"),
        SourceColumn("status", "text", '"status"', "VARCHAR"),
        SourceColumn("updated_at", "timestamptz", '"updated_at"', "TIMESTAMP WITH TIME ZONE"),
    ]
    loader = DuckDBLoader(warehouse)

    def load(event_ids: list[int], statuses: list[str], times: list[str]):
        batch = pa.record_batch(
            {
                "event_id": pa.array(event_ids, pa.int32()),
                "status": statuses,
                "updated_at": pa.array(times),
            }
        )
        reader = pa.RecordBatchReader.from_batches(batch.schema, [batch])
        return loader.load(spec, columns, loader.plan(spec, columns), reader)

    load([1, 2], ["open", "open"], ["2026-01-01T08:00:00Z"] * 2)
    result = load(
        [1, 1, 2],
        ["paid", "shipped", "open"],
        ["2026-01-01T10:00:00Z", "2026-01-01T09:00:00Z", "2026-01-01T08:00:00Z"],
    )
    assert (result.rows_read, result.inserted) == (3, 0)
    assert (result.updated, result.unchanged) == (1, 1)
    assert landed(warehouse, "SELECT event_id, status FROM raw.events ORDER BY 1") == [
        (1, "paid"),
        (2, "open"),
    ]


def test_reconcile_deletes_hard_deleted_rows(source, warehouse):
    values = ", ".join(f"({i}, 'open', '2026-01-01T10:00Z')" for i in range(1, 21))
    source.run(
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, status TEXT, updated_at TIMESTAMPTZ)",
        f"INSERT INTO orders VALUES {values}",
    )
    extract("orders", source, warehouse)
    source.run("DELETE FROM orders WHERE order_id IN (4, 9)")
    incremental = extract("orders", source, warehouse)
    reconciled = extract("orders", source, warehouse, reconcile=True)
    assert incremental.deleted == 0
    assert reconciled.deleted == 2
    assert landed(warehouse, "SELECT count(*) FROM raw.orders WHERE order_id IN (4, 9)") == [(0,)]
    assert landed(warehouse, "SELECT count(*) FROM raw.orders") == [(18,)]


STALE_ORDERS = (
    "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, status TEXT, updated_at TIMESTAMPTZ)",
    "INSERT INTO orders VALUES (1, 'open', '2026-01-01T10:00Z'), (2, 'open', '2026-03-01T10:00Z')",
)


@pytest.mark.parametrize(
    "landed_first, corrected",
    [
        # A cursor set in the future by mistake, then corrected to a date below the watermark.
        ("(3, 'typo', '2099-01-01T00:00Z')", "(3, 'corrected', '2026-01-15T10:00Z')"),
        # A NULL cursor (null_cursor: reload) filled in with the row's creation date.
        ("(3, 'legacy', NULL)", "(3, 'filled', '2026-01-15T10:00Z')"),
        # A row restored from a backup over a newer version, with its older cursor.
        ("(3, 'newer', '2026-03-01T09:00Z')", "(3, 'restored', '2026-01-15T10:00Z')"),
    ],
)
def test_reconcile_reloads_cursor_moved_back(source, warehouse, landed_first, corrected):
    # No incremental read reaches a cursor moved below the watermark, and the key comparison
    # found every key present, so the landed version stayed for good.
    source.run(*STALE_ORDERS, f"INSERT INTO orders VALUES {landed_first}")
    extract("orders", source, warehouse, null_cursor="reload")
    source.run("DELETE FROM orders WHERE order_id = 3", f"INSERT INTO orders VALUES {corrected}")
    incremental = extract("orders", source, warehouse, null_cursor="reload")
    reconciled = extract("orders", source, warehouse, reconcile=True, null_cursor="reload")

    assert incremental.updated == 0
    assert (reconciled.reloaded_stale_rows, reconciled.updated) == (1, 1)
    assert landed(warehouse, "SELECT status FROM raw.orders WHERE order_id = 3") == [
        (corrected.split("'")[1],)
    ]
    assert extract("orders", source, warehouse, reconcile=True).reloaded_stale_rows == 0


def test_stale_rows_exclude_next_read_reach():
    # A row changed during the reconciliation, above the next read's lower bound, is read by the
    # next incremental run: counting it would cost a full read for nothing.
    spec = parse_table("orders", {**BUILT_IN_DEFAULTS, "primary_key": ["order_id"]})
    connection = duckdb.connect()
    connection.execute(
        "CREATE SCHEMA raw; CREATE TABLE raw.orders AS SELECT * FROM (VALUES "
        "(1, TIMESTAMP '2026-03-01 10:00'), (2, TIMESTAMP '2026-03-01 10:00'), "
        "(3, TIMESTAMP '2026-03-01 10:00')) AS t(order_id, updated_at)"
    )
    connection.execute(
        f"CREATE TABLE {SOURCE_KEYS} AS SELECT * FROM (VALUES "
        "(1, TIMESTAMP '2026-01-01 10:00'), (2, TIMESTAMP '2026-03-01 09:55'), "
        "(3, TIMESTAMP '2026-03-01 10:00'), (4, TIMESTAMP '2026-01-01 10:00')) "
        "AS k(order_id, updated_at)"
    )
    query = unreachable_rows_query(spec, "raw.orders", "TIMESTAMP '2026-03-01 09:50'")
    assert connection.execute(query).fetchall() == [(1, 1)]


def test_reconcile_reloads_restored_old_row(source, warehouse):
    values = ", ".join(f"({i}, 'open', '2026-01-01T10:00Z')" for i in range(1, 21))
    source.run(
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, status TEXT, updated_at TIMESTAMPTZ)",
        f"INSERT INTO orders VALUES {values}",
        "INSERT INTO orders VALUES (21, 'open', '2026-03-01T10:00Z')",
    )
    extract("orders", source, warehouse, reconcile=True)
    source.run("DELETE FROM orders WHERE order_id = 5")
    extract("orders", source, warehouse, reconcile=True)
    # Restored from a backup: the row comes back with its old cursor, below the watermark.
    source.run("INSERT INTO orders VALUES (5, 'restored', '2026-01-01T10:00Z')")
    incremental = extract("orders", source, warehouse)
    reconciled = extract("orders", source, warehouse, reconcile=True)
    assert incremental.inserted == 0
    assert reconciled.reloaded_missing_keys == 1
    assert reconciled.inserted == 1
    assert reconciled.updated == 0
    assert landed(warehouse, "SELECT status FROM raw.orders WHERE order_id = 5") == [("restored",)]
    assert landed(warehouse, "SELECT count(*) FROM raw.orders") == [(21,)]


def test_reconcile_guard_rejects_mass_delete(source, warehouse):
    values = ", ".join(f"({i}, 'open', '2026-01-01T10:00Z')" for i in range(1, 21))
    source.run(
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, status TEXT, updated_at TIMESTAMPTZ)",
        f"INSERT INTO orders VALUES {values}",
    )
    extract("orders", source, warehouse)
    source.run("DELETE FROM orders WHERE order_id <= 3")
    with pytest.raises(
        MassDeleteRefused, match=r"'orders'.* 3 of 20 rows \(15.0%\).*max_delete_share"
    ):
        extract("orders", source, warehouse, reconcile=True)
    assert landed(warehouse, "SELECT count(*) FROM raw.orders") == [(20,)]
    allowed = extract("orders", source, warehouse, reconcile=True, max_delete_share=0.2)
    assert allowed.deleted == 3


def test_append_distinct_skips_known_rows(source, warehouse):
    source.run(
        "CREATE TABLE audit_log (message TEXT, logged_at TIMESTAMPTZ)",
        "INSERT INTO audit_log VALUES ('a', '2026-01-01T10:00Z'), ('b', '2026-01-01T10:00Z')",
    )
    settings = {"cursor": "logged_at", "no_primary_key": "append_distinct", "deletes": "none"}
    extract("audit_log", source, warehouse, **settings)
    source.run("INSERT INTO audit_log VALUES ('c', '2026-01-01T10:01Z')")
    result = extract("audit_log", source, warehouse, **settings)
    assert (result.rows_read, result.inserted) == (3, 1)
    assert landed(warehouse, "SELECT count(*) FROM raw.audit_log") == [(3,)]
