"""The demo Base Opération on PostgreSQL: same data as on SQLite, written with COPY."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import psycopg
import pytest

from dagster_project.demo.database import TABLES, DemoDatabaseError
from dagster_project.demo.generate import generate_base_operation
from dagster_project.demo.simulate import simulate_business_hour

AS_OF = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)

pytestmark = pytest.mark.postgres


def scalar(url: str, statement: str):
    with psycopg.connect(url) as connection:
        return connection.execute(statement).fetchone()[0]


def latest_updated_at(url: str) -> datetime:
    union = " UNION ALL ".join(f"SELECT max(updated_at) AS value FROM {t}" for t in TABLES)
    return scalar(url, f"SELECT max(value) FROM ({union}) AS latest")


def test_postgres_matches_sqlite(postgres_database, tmp_path):
    postgres_counts = generate_base_operation(postgres_database, 0.02, seed=5, as_of=AS_OF)
    sqlite_path = tmp_path / "base.sqlite"
    sqlite_counts = generate_base_operation(f"sqlite:///{sqlite_path}", 0.02, seed=5, as_of=AS_OF)
    assert postgres_counts == sqlite_counts
    for table in TABLES:
        assert scalar(postgres_database, f"SELECT count(*) FROM {table}") == sqlite_counts[table]
    with sqlite3.connect(sqlite_path) as connection:
        sqlite_total = connection.execute(
            "SELECT sum(CAST(round(amount * 100) AS INTEGER)) FROM invoices"
        ).fetchone()[0]
    assert scalar(postgres_database, "SELECT sum(amount * 100) FROM invoices") == sqlite_total


def test_postgres_invoice_amounts_equal_line_sums(postgres_database):
    generate_base_operation(postgres_database, 0.02, seed=5, as_of=AS_OF)
    simulate_business_hour(postgres_database, seed=1)
    mismatches = scalar(
        postgres_database,
        "SELECT count(*) FROM invoices i JOIN (SELECT order_id, "
        "sum(round(quantity * unit_price * (1 - discount_rate), 2)) AS net "
        "FROM sales_order_lines GROUP BY order_id) l USING (order_id) WHERE i.amount <> l.net",
    )
    assert scalar(postgres_database, "SELECT count(*) FROM invoices") > 0
    assert mismatches == 0


def test_postgres_simulate_changes(postgres_database):
    generate_base_operation(postgres_database, 0.02, seed=5, as_of=AS_OF)
    simulate_business_hour(postgres_database, seed=1)
    before = latest_updated_at(postgres_database)
    orders = scalar(postgres_database, "SELECT count(*) FROM sales_orders")
    counts = simulate_business_hour(postgres_database, seed=2)
    assert counts["new_orders"] > 0
    assert counts["deleted_order_lines"] > 0
    assert latest_updated_at(postgres_database) > before
    assert scalar(postgres_database, "SELECT count(*) FROM sales_orders") == (
        orders + counts["new_orders"]
    )
    orphans = scalar(
        postgres_database,
        "SELECT count(*) FROM sales_order_lines l JOIN sales_orders o USING (order_id) "
        "WHERE o.order_status = 'cancelled'",
    )
    assert orphans == 0


def test_postgres_non_empty_rejected(postgres_database):
    first = generate_base_operation(postgres_database, 0.02, seed=5, as_of=AS_OF)
    with pytest.raises(DemoDatabaseError, match="is not empty"):
        generate_base_operation(postgres_database, 0.02, seed=6, as_of=AS_OF)
    orders = scalar(postgres_database, "SELECT count(*) FROM sales_orders")
    assert orders == first["sales_orders"]


def test_postgres_overwrite_replaces_content(postgres_database):
    generate_base_operation(postgres_database, 0.02, seed=5, as_of=AS_OF)
    second = generate_base_operation(postgres_database, 0.03, seed=6, as_of=AS_OF, overwrite=True)
    orders = scalar(postgres_database, "SELECT count(*) FROM sales_orders")
    assert orders == second["sales_orders"]
