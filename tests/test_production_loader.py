"""The PostgreSQL warehouse loader: merge, watermark, schema changes and reconciliation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pyarrow as pa
import pytest

from dagster_project.extract.columns import SourceColumn
from dagster_project.extract.declaration import BUILT_IN_DEFAULTS, parse_table
from dagster_project.extract.loader import LoadError
from dagster_project.extract.loader_postgres import PostgresLoader
from dagster_project.extract.reconcile import MassDeleteRefused
from dagster_project.extract.schema_change import SchemaChangeError
from dagster_project.resources import connect_postgres, warehouse_writer_lock

pytest.register_assert_rewrite("extract_support")
from extract_support import LOOSELY_EQUAL, LOOSELY_EQUAL_UPDATE, extract  # noqa: E402

pytest_plugins = ("extract_support",)

ORDERS = "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, status TEXT, updated_at TIMESTAMPTZ)"


@pytest.fixture
def warehouse_url(make_postgres_database) -> str:
    return make_postgres_database("zm_warehouse")


@pytest.fixture
def pg_warehouse(warehouse_url) -> Iterator:
    with connect_postgres(warehouse_url) as connection:
        yield connection


def landed(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return connection.execute(query).fetchall()


def fill_orders(source, count: int = 20) -> None:
    values = ", ".join(f"({i}, 'open', '2026-01-01T10:00Z')" for i in range(1, count + 1))
    source.run(ORDERS, f"INSERT INTO orders VALUES {values}")


def test_merge_updates_only_changed_rows(postgres_source, pg_warehouse, warehouse_url):
    fill_orders(postgres_source, 3)
    first = extract("orders", postgres_source, pg_warehouse)
    untouched = landed(warehouse_url, "SELECT _loaded_at FROM raw.orders WHERE order_id = 3")
    postgres_source.run(
        "UPDATE orders SET status = 'paid', updated_at = '2026-01-01T11:00Z' WHERE order_id = 2",
        "INSERT INTO orders VALUES (4, 'open', '2026-01-01T11:00Z')",
    )
    second = extract("orders", postgres_source, pg_warehouse)

    assert first.inserted == 3
    assert (second.inserted, second.updated) == (1, 1)
    assert landed(warehouse_url, "SELECT order_id, status FROM raw.orders ORDER BY 1") == [
        (1, "open"),
        (2, "paid"),
        (3, "open"),
        (4, "open"),
    ]
    assert landed(warehouse_url, "SELECT _loaded_at FROM raw.orders WHERE order_id = 3") == (
        untouched
    )
    assert landed(warehouse_url, "SELECT watermark FROM raw._extract_state") == [
        ("2026-01-01 11:00:00+00",)
    ]


def test_later_version_in_batch_wins(pg_warehouse, warehouse_url):
    spec = parse_table("events", {**BUILT_IN_DEFAULTS, "primary_key": ["event_id"]})
    columns = [
        SourceColumn("event_id", "integer", '"event_id"', "INTEGER"),
        SourceColumn("status", "text", '"status"', "VARCHAR"),
        SourceColumn("updated_at", "timestamptz", '"updated_at"', "TIMESTAMP WITH TIME ZONE"),
    ]
    at = pa.array([datetime(2026, 1, 1, 10, tzinfo=UTC)] * 2 + [datetime(2026, 1, 1, 9)])
    batch = pa.record_batch(
        {"event_id": pa.array([1, 1, 2], pa.int32()), "status": ["a", "b", "c"], "updated_at": at}
    )
    older = pa.record_batch(
        {
            "event_id": pa.array([2], pa.int32()),
            "status": ["older"],
            "updated_at": pa.array([datetime(2026, 1, 1, 8)]),
        }
    )
    loader = PostgresLoader(pg_warehouse)
    reader = pa.RecordBatchReader.from_batches(batch.schema, [batch, older])
    result = loader.load(spec, columns, loader.plan(spec, columns), reader)

    assert (result.rows_read, result.inserted) == (4, 2)
    assert landed(warehouse_url, "SELECT event_id, status FROM raw.events ORDER BY 1") == [
        (1, "b"),
        (2, "c"),
    ]


def test_concurrent_extractions_take_turns(
    postgres_source, warehouse_url, pg_warehouse, monkeypatch
):
    """A run extracting while another one merges the same new key waits, then finds it landed."""
    fill_orders(postgres_source, 2)
    extract("orders", postgres_source, pg_warehouse)
    postgres_source.run("INSERT INTO orders VALUES (3, 'open', '2026-01-02T10:00Z')")
    first_merged, release_first = threading.Event(), threading.Event()
    save_watermark = PostgresLoader._save_watermark

    def hold_first(loader, *arguments):
        if threading.current_thread().name == "first":
            first_merged.set()
            release_first.wait(timeout=30)
        return save_watermark(loader, *arguments)

    monkeypatch.setattr(PostgresLoader, "_save_watermark", hold_first)
    results, waited = {}, []

    def run(name: str) -> None:
        with connect_postgres(warehouse_url) as connection:
            results[name] = extract(
                "orders", postgres_source, connection, on_wait=lambda: waited.append(name)
            )

    first = threading.Thread(target=run, args=("first",), name="first")
    second = threading.Thread(target=run, args=("second",), name="second")
    first.start()
    assert first_merged.wait(timeout=30)
    second.start()
    second.join(timeout=2)
    second_waited = second.is_alive()
    release_first.set()
    first.join(timeout=30)
    second.join(timeout=30)

    assert second_waited
    assert waited == ["second"]
    assert (results["first"].inserted, results["second"].inserted) == (1, 0)
    assert landed(
        warehouse_url, "SELECT order_id, count(*) FROM raw.orders GROUP BY 1 ORDER BY 1"
    ) == [
        (1, 1),
        (2, 1),
        (3, 1),
    ]


def test_primary_key_change_replaces_landed_rows(postgres_source, pg_warehouse, warehouse_url):
    postgres_source.run(
        "CREATE TABLE lines (order_id INTEGER, line_no INTEGER, note TEXT, "
        "updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (order_id, line_no))",
        "INSERT INTO lines VALUES (1, 1, 'a', '2026-01-01T10:00Z'), "
        "(1, 2, 'b', '2026-01-01T10:00Z')",
    )
    extract("lines", postgres_source, pg_warehouse)
    postgres_source.run(
        "DELETE FROM lines WHERE line_no = 1",
        "ALTER TABLE lines DROP CONSTRAINT lines_pkey",
        "ALTER TABLE lines ADD PRIMARY KEY (order_id)",
    )
    result = extract("lines", postgres_source, pg_warehouse)

    assert result.schema_changes == (
        "primary key (order_id, line_no) -> (order_id), landed rows replaced by a full read",
    )
    assert landed(warehouse_url, "SELECT order_id, line_no FROM raw.lines") == [(1, 2)]


def test_change_to_a_loosely_equal_value_lands(postgres_source, pg_warehouse, warehouse_url):
    postgres_source.run(*LOOSELY_EQUAL)
    extract("readings", postgres_source, pg_warehouse, cursor=None)
    postgres_source.run(*LOOSELY_EQUAL_UPDATE)
    assert extract("readings", postgres_source, pg_warehouse, cursor=None).updated == 4
    assert landed(
        warehouse_url,
        "SELECT span::text, level::text, levels::text, doc::text FROM raw.readings "
        "ORDER BY reading_id",
    ) == [
        ("24:00:00", "0", "{0,1}", '{"x": 1.0}'),
        ("1 day", "-0", "{0,1}", '{"x": 1.0}'),
        ("1 day", "0", "{-0,1}", '{"x": 1.0}'),
        ("1 day", "0", "{0,1}", '{"x": 1.00}'),
    ]


def test_value_too_large_rolls_back(pg_warehouse, warehouse_url):
    spec = parse_table("readings", {**BUILT_IN_DEFAULTS, "primary_key": ["reading_id"]})
    columns = [
        SourceColumn("reading_id", "smallint", '"reading_id"', "SMALLINT"),
        SourceColumn("updated_at", "timestamptz", '"updated_at"', "TIMESTAMP WITH TIME ZONE"),
    ]
    loader = PostgresLoader(pg_warehouse)

    def load(ids: list[int], day: int):
        batch = pa.record_batch(
            {
                "reading_id": pa.array(ids, pa.int64()),
                "updated_at": pa.array([datetime(2026, 1, day, tzinfo=UTC)] * len(ids)),
            }
        )
        reader = pa.RecordBatchReader.from_batches(batch.schema, [batch])
        return loader.load(spec, columns, loader.plan(spec, columns), reader)

    load([1], day=1)
    with pytest.raises(LoadError, match=r"'readings'.*does not fit.*reading_id SMALLINT"):
        load([2, 10**9], day=2)
    assert landed(warehouse_url, "SELECT count(*) FROM raw.readings") == [(1,)]
    assert landed(warehouse_url, "SELECT watermark FROM raw._extract_state") == [
        ("2026-01-01 00:00:00+00",)
    ]


def test_added_column_is_applied(postgres_source, pg_warehouse, warehouse_url):
    fill_orders(postgres_source, 2)
    extract("orders", postgres_source, pg_warehouse)
    postgres_source.run(
        "ALTER TABLE orders ADD COLUMN amount NUMERIC(12, 2)",
        "UPDATE orders SET amount = 1.5, updated_at = '2026-01-02T10:00Z' WHERE order_id = 1",
    )
    result = extract("orders", postgres_source, pg_warehouse)

    assert result.schema_changes == ("added amount DECIMAL(12,2)",)
    assert landed(warehouse_url, "SELECT amount::text FROM raw.orders ORDER BY order_id") == [
        ("1.50",),
        (None,),
    ]


def test_dropped_column_is_refused(postgres_source, pg_warehouse):
    fill_orders(postgres_source, 2)
    extract("orders", postgres_source, pg_warehouse)
    postgres_source.run("ALTER TABLE orders DROP COLUMN status")

    with pytest.raises(SchemaChangeError, match=r"column status of raw.orders is missing"):
        extract("orders", postgres_source, pg_warehouse)


def test_reconcile_deletes_and_guards(postgres_source, pg_warehouse, warehouse_url):
    fill_orders(postgres_source)
    extract("orders", postgres_source, pg_warehouse)
    postgres_source.run("DELETE FROM orders WHERE order_id <= 3")

    with pytest.raises(MassDeleteRefused, match=r"'orders'.* 3 of 20 rows \(15.0%\)"):
        extract("orders", postgres_source, pg_warehouse, reconcile=True)
    assert landed(warehouse_url, "SELECT count(*) FROM raw.orders") == [(20,)]
    allowed = extract("orders", postgres_source, pg_warehouse, reconcile=True, max_delete_share=0.2)
    assert allowed.deleted == 3
    assert landed(warehouse_url, "SELECT count(*) FROM raw.orders") == [(17,)]


def test_reconcile_reloads_restored_row(postgres_source, pg_warehouse, warehouse_url):
    fill_orders(postgres_source)
    extract("orders", postgres_source, pg_warehouse)
    postgres_source.run(
        # A copy from an old backup: its cursor is far below the watermark.
        "CREATE TABLE restored AS SELECT order_id, status, timestamptz '2025-06-01T10:00Z' "
        "AS updated_at FROM orders WHERE order_id = 7",
        "DELETE FROM orders WHERE order_id = 7",
    )
    extract("orders", postgres_source, pg_warehouse, reconcile=True)
    postgres_source.run("INSERT INTO orders SELECT * FROM restored")
    reconciled = extract("orders", postgres_source, pg_warehouse, reconcile=True)
    assert reconciled.reloaded_missing_keys == 1
    assert reconciled.inserted == 1
    assert landed(warehouse_url, "SELECT count(*) FROM raw.orders WHERE order_id = 7") == [(1,)]


def test_reconcile_reloads_cursor_moved_back(postgres_source, pg_warehouse, warehouse_url):
    fill_orders(postgres_source)
    postgres_source.run("UPDATE orders SET updated_at = '2099-01-01T00:00Z' WHERE order_id = 7")
    extract("orders", postgres_source, pg_warehouse)
    postgres_source.run(
        "UPDATE orders SET status = 'corrected', updated_at = '2025-12-31T10:00Z' "
        "WHERE order_id = 7"
    )
    reconciled = extract("orders", postgres_source, pg_warehouse, reconcile=True)
    assert (reconciled.reloaded_stale_rows, reconciled.updated) == (1, 1)
    assert landed(warehouse_url, "SELECT status FROM raw.orders WHERE order_id = 7") == [
        ("corrected",)
    ]


def test_infinite_dates_land_as_infinity(postgres_source, pg_warehouse, warehouse_url):
    postgres_source.run(
        "CREATE TABLE contracts (contract_id INTEGER PRIMARY KEY, valid_to DATE, "
        "signed_at TIMESTAMPTZ, updated_at TIMESTAMPTZ NOT NULL)",
        "INSERT INTO contracts VALUES (1, 'infinity', '-infinity', '2026-01-01 10:00+00'), "
        "(2, '2026-12-31', '2026-06-01 08:00+00', '2026-01-01 10:00+00')",
    )
    extract("contracts", postgres_source, pg_warehouse)
    rows = landed(
        warehouse_url,
        "SELECT contract_id, valid_to::text, signed_at::text FROM raw.contracts ORDER BY 1",
    )
    assert rows == [(1, "infinity", "-infinity"), (2, "2026-12-31", "2026-06-01 08:00:00+00")]


def test_writer_lock_ignores_server_timeouts(warehouse_url):
    # With lock_timeout set on the database, a writer's wait for the lock ended in an error, and
    # with idle_session_timeout the server closed the session holding it during a long build.
    database = warehouse_url.rpartition("/")[2]
    with psycopg.connect(warehouse_url, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE \"{database}\" SET lock_timeout = '500ms'")
        admin.execute(f"ALTER DATABASE \"{database}\" SET idle_session_timeout = '1s'")
    waited = threading.Event()
    errors = []

    def wait_for_lock() -> None:
        try:
            with connect_postgres(warehouse_url) as connection:
                with warehouse_writer_lock(connection, on_wait=waited.set):
                    pass
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    with connect_postgres(warehouse_url) as holder:
        with warehouse_writer_lock(holder):
            waiting = threading.Thread(target=wait_for_lock)
            waiting.start()
            time.sleep(2)
            assert waited.is_set()
            assert errors == []
            assert waiting.is_alive()
            granted = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            assert landed(warehouse_url, granted) == [(1,)]
        waiting.join(timeout=30)
    assert errors == []


def test_float_change_lands_whatever_the_float_digits(postgres_source, pg_warehouse, warehouse_url):
    # Compared as text alone, 0.3 and 0.1 + 0.2 printed alike with extra_float_digits = 0.
    database = warehouse_url.rpartition("/")[2]
    with psycopg.connect(warehouse_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" SET extra_float_digits = 0')
    postgres_source.run(
        "CREATE TABLE levels (level_id INTEGER PRIMARY KEY, level FLOAT8)",
        "INSERT INTO levels VALUES (1, 0.3)",
    )
    with connect_postgres(warehouse_url) as connection:
        extract("levels", postgres_source, connection, cursor=None)
    postgres_source.run("UPDATE levels SET level = 0.1::float8 + 0.2::float8")
    with connect_postgres(warehouse_url) as connection:
        assert extract("levels", postgres_source, connection, cursor=None).updated == 1
