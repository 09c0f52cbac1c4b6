"""Incremental behaviour of fct_order_lines: each test runs dbt on a fresh DuckDB file."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import dbt_raw_data as raw
import duckdb
import pytest

# Landing times of later extractions: each load stamps its rows with a later _loaded_at.
LATER = raw.LOADED_AT + timedelta(days=1)
LATEST = LATER + timedelta(days=1)
SELECTION = ["--select", "+fct_order_lines"]


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory):
    # One target directory for the module, so dbt reuses its partial parse between runs.
    return tmp_path_factory.mktemp("dbt_incremental")


@pytest.fixture
def warehouse(work_dir):
    """A DuckDB file at a fixed path, holding the zone context and the base rows."""
    path = work_dir / "warehouse.duckdb"
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as connection:
        raw.write_zone_context_duckdb(connection)
        raw.write_duckdb(connection, raw.base_rows())
    return path


def land(path, rows: dict[str, list[tuple]]) -> None:
    with duckdb.connect(str(path)) as connection:
        raw.write_duckdb(connection, rows)


def run(path, work_dir, *arguments: str):
    result = raw.run_dbt(list(arguments), raw.dbt_env(warehouse_path=path), work_dir)
    assert result.returncode == 0, result.stdout[-4000:]
    return result


def order_lines(path, where: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(
            "select order_id, line_number, quantity from marts.fct_order_lines "
            f"where {where} order by order_id, line_number"
        ).fetchall()


def test_empty_target_builds_fully(warehouse, work_dir):
    run(warehouse, work_dir, "run", *SELECTION)
    assert len(order_lines(warehouse, "true")) == len(raw.base_rows()["sales_order_lines"])


def test_row_dated_2099_does_not_freeze(warehouse, work_dir):
    run(warehouse, work_dir, "run", *SELECTION)
    future = raw.utc("2099-01-01T00:00:00")
    land(
        warehouse,
        {
            "sales_orders": [(1005, 10, "web", "open", "EUR", future, future, LATER)],
            "sales_order_lines": [(1005, 1, 100, 1, Decimal("19.90"), Decimal("0"), future, LATER)],
        },
    )
    run(warehouse, work_dir, "run", *SELECTION)
    ordered_at = raw.utc("2026-06-30T09:00:00")
    land(
        warehouse,
        {
            "sales_orders": [(1006, 10, "web", "open", "EUR", ordered_at, ordered_at, LATEST)],
            "sales_order_lines": [
                (1006, 1, 100, 2, Decimal("19.90"), Decimal("0"), ordered_at, LATEST)
            ],
        },
    )
    run(warehouse, work_dir, "run", *SELECTION)
    assert order_lines(warehouse, "order_id in (1005, 1006)") == [(1005, 1, 1), (1006, 1, 2)]
    check = raw.run_dbt(
        ["test", "--select", "test_name:not_in_future,fct_order_lines"],
        raw.dbt_env(warehouse_path=warehouse),
        work_dir,
    )
    assert check.returncode != 0
    assert "not_in_future_fct_order_lines_ordered_at" in check.stdout


def test_landing_duplicate_stops_build(warehouse, work_dir):
    # The extraction merges by primary key, so a landing table contains one row per key. A second
    # row for a key, written here by hand, must stop the build before the fact changes.
    run(warehouse, work_dir, "run", *SELECTION)
    before = order_lines(warehouse, "order_id = 1000 and line_number = 1")
    again = raw.utc("2026-06-30T11:00:00")
    land(
        warehouse,
        {"sales_order_lines": [(1000, 1, 100, 5, Decimal("19.90"), Decimal("0.1"), again, LATER)]},
    )
    result = raw.run_dbt(["build", *SELECTION], raw.dbt_env(warehouse_path=warehouse), work_dir)
    assert result.returncode != 0
    assert "unique_in_changed_rows_stg_base_operation__sales_order_lines" in result.stdout
    assert order_lines(warehouse, "order_id = 1000 and line_number = 1") == before


def test_null_in_composite_key_not_duplicated(warehouse, work_dir):
    land(
        warehouse,
        {"sales_order_lines": [(1000, None, 100, 9, Decimal("19.90"), Decimal("0"), raw.U)]},
    )
    run(warehouse, work_dir, "run", *SELECTION)
    run(warehouse, work_dir, "run", *SELECTION)
    assert order_lines(warehouse, "order_id = 1000 and line_number is null") == [(1000, None, 9)]


def test_late_row_with_old_updated_at_arrives(warehouse, work_dir):
    run(warehouse, work_dir, "run", *SELECTION)
    old = raw.utc("2026-01-02T00:00:00")
    land(
        warehouse,
        {"sales_order_lines": [(1002, 2, 100, 6, Decimal("19.90"), Decimal("0"), old, LATER)]},
    )
    run(warehouse, work_dir, "run", *SELECTION)
    assert order_lines(warehouse, "order_id = 1002") == [(1002, 1, 2), (1002, 2, 6)]


def test_source_delete_removes_line(warehouse, work_dir):
    run(warehouse, work_dir, "run", *SELECTION)
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("delete from raw.sales_order_lines where order_id = 1004")
    run(warehouse, work_dir, "run", *SELECTION)
    assert order_lines(warehouse, "order_id = 1004") == []
    assert len(order_lines(warehouse, "true")) == len(raw.base_rows()["sales_order_lines"]) - 1


def invoice_ageing(path) -> dict[int, tuple]:
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute(
            "select invoice_id, days_overdue, as_of_local_date from marts.fct_invoices"
        ).fetchall()
    return {invoice_id: (days, as_of) for invoice_id, days, as_of in rows}


def test_open_invoice_ages_on_local_day(warehouse, work_dir):
    selection = ["--select", "+fct_invoices"]
    run(warehouse, work_dir, "run", *selection)
    env = raw.dbt_env(warehouse_path=warehouse)
    # 23:30 UTC is already the next day in La Réunion (UTC+4), where invoice 9001's customer is.
    for as_of in ("2026-06-30T23:30:00+00:00", "2026-07-01T10:00:00+00:00"):
        result = raw.run_dbt(["run", *selection], env, work_dir, {"as_of": as_of})
        assert result.returncode == 0, result.stdout[-4000:]
        ageing = invoice_ageing(warehouse)
        assert ageing[9001] == (81, date(2026, 7, 1)), as_of
        assert ageing[9000][0] == 0


def invoice_payments(path) -> dict[int, tuple]:
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute(
            "select invoice_id, paid_amount, outstanding_amount, is_paid from marts.fct_invoices"
        ).fetchall()
    return {invoice_id: tuple(values) for invoice_id, *values in rows}


def test_payment_change_updates_invoice(warehouse, work_dir):
    selection = ["--select", "+fct_invoices"]
    run(warehouse, work_dir, "run", *selection)
    assert invoice_payments(warehouse)[9000] == (Decimal("178.73"), Decimal("0.00"), True)
    # A deletion leaves no newer _loaded_at behind, yet the invoice must be recomputed.
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("delete from raw.payments where payment_id = 9500")
    run(warehouse, work_dir, "run", *selection)
    assert invoice_payments(warehouse)[9000] == (Decimal("0.00"), Decimal("178.73"), False)
    # Payment 9501 moves from invoice 9001 to 9002: both invoices change.
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "update raw.payments set invoice_id = 9002, _loaded_at = ? where payment_id = 9501",
            [LATER],
        )
    run(warehouse, work_dir, "run", *selection)
    payments = invoice_payments(warehouse)
    assert payments[9001] == (Decimal("0.00"), Decimal("121.89"), False)
    assert payments[9002] == (Decimal("60.00"), Decimal("174.00"), False)


PARENT_FACTS = ("fct_order_lines", "fct_shipments", "fct_payments", "fct_invoices")


def fact_rows(path, table: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(f"select * from marts.{table} order by all").fetchall()


def test_parent_change_matches_full_rebuild(warehouse, work_dir):
    # The facts read only rows whose own load or whose parent's load is newer than the cutoff.
    selection = ["--select", *(f"+{table}" for table in PARENT_FACTS)]
    run(warehouse, work_dir, "run", *selection)
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "update raw.sales_orders set order_status = 'cancelled', _loaded_at = ? "
            "where order_id = 1000",
            [LATER],
        )
        connection.execute(
            "update raw.products set family = 'vannes inox', _loaded_at = ? where product_id = 101",
            [LATER],
        )
        connection.execute(
            "update raw.customers set zone_code = 'hdf', _loaded_at = ? where customer_id = 10",
            [LATER],
        )
        # Same amount paid: only the payment's load time shows that its invoice changed.
        connection.execute(
            "update raw.payments set payment_method = 'transfer', _loaded_at = ? "
            "where payment_id = 9501",
            [LATER],
        )
    land(
        warehouse,
        {"payments": [(9502, 9002, Decimal("34.00"), "card", raw.U, raw.U, LATER)]},
    )
    run(warehouse, work_dir, "run", *selection)
    incremental = {table: fact_rows(warehouse, table) for table in PARENT_FACTS}
    run(warehouse, work_dir, "run", "--full-refresh", *selection)
    for table in PARENT_FACTS:
        assert incremental[table] == fact_rows(warehouse, table), table
