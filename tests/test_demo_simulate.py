"""One simulated business hour on a generated SQLite Base Opération."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from dagster_project.demo.database import TABLES, DemoDatabaseError
from dagster_project.demo.generate import generate_base_operation
from dagster_project.demo.simulate import simulate_business_hour

AS_OF = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)


@pytest.fixture
def database(tmp_path) -> tuple[str, sqlite3.Connection]:
    path = tmp_path / "base_operation.sqlite"
    url = f"sqlite:///{path}"
    generate_base_operation(url, scale=0.02, seed=11, as_of=AS_OF)
    connection = sqlite3.connect(path)
    yield url, connection
    connection.close()


def count(connection: sqlite3.Connection, statement: str) -> int:
    return connection.execute(statement).fetchone()[0]


def latest_updated_at(connection: sqlite3.Connection) -> str:
    union = " UNION ALL ".join(f"SELECT max(updated_at) AS value FROM {t}" for t in TABLES)
    return count(connection, f"SELECT max(value) FROM ({union})")


def test_simulate_adds_orders_and_lines(database):
    url, connection = database
    orders = count(connection, "SELECT count(*) FROM sales_orders")
    lines = count(connection, "SELECT count(*) FROM sales_order_lines")
    counts = simulate_business_hour(url, seed=1)
    assert counts["new_orders"] > 0
    assert counts["new_order_lines"] >= counts["new_orders"]
    assert count(connection, "SELECT count(*) FROM sales_orders") == orders + counts["new_orders"]
    assert count(connection, "SELECT count(*) FROM sales_order_lines") == (
        lines + counts["new_order_lines"] - counts["deleted_order_lines"]
    )


def test_simulate_deletes_cancelled_order_lines(database):
    url, connection = database
    # The first hour places open orders, which the second hour can cancel.
    simulate_business_hour(url, seed=1)
    lines = count(connection, "SELECT count(*) FROM sales_order_lines")
    counts = simulate_business_hour(url, seed=2)
    assert counts["cancelled_orders"] > 0
    assert counts["deleted_order_lines"] > 0
    assert count(connection, "SELECT count(*) FROM sales_order_lines") == (
        lines + counts["new_order_lines"] - counts["deleted_order_lines"]
    )
    orphans = count(
        connection,
        "SELECT count(*) FROM sales_order_lines l JOIN sales_orders o USING (order_id) "
        "WHERE o.order_status = 'cancelled'",
    )
    assert orphans == 0


def test_simulate_advances_updated_at(database):
    url, connection = database
    before = latest_updated_at(connection)
    simulate_business_hour(url, seed=1)
    after = latest_updated_at(connection)
    assert after > before
    for table in TABLES:
        stamps = connection.execute(
            f"SELECT DISTINCT updated_at FROM {table} WHERE updated_at > ?", (before,)
        ).fetchall()
        assert stamps in ([], [(after,)]), table


def test_simulate_after_skewed_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'ahead.sqlite'}"
    generate_base_operation(url, scale=0.02, seed=11)
    # One row stamped two minutes ahead of this clock, as by a server whose clock is ahead.
    ahead = (datetime.now(UTC) + timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
    with sqlite3.connect(tmp_path / "ahead.sqlite") as connection:
        connection.execute(
            "UPDATE carriers SET updated_at = ? "
            "WHERE carrier_id = (SELECT min(carrier_id) FROM carriers)",
            (ahead,),
        )
        connection.commit()
        simulate_business_hour(url, seed=1)
        after = datetime.fromisoformat(latest_updated_at(connection))
    assert after == datetime.fromisoformat(ahead) + timedelta(microseconds=1)


def test_simulate_ignores_far_future_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'placeholder.sqlite'}"
    generate_base_operation(url, scale=0.02, seed=11)
    with sqlite3.connect(tmp_path / "placeholder.sqlite") as connection:
        connection.execute(
            "UPDATE carriers SET updated_at = '2099-01-01 00:00:00.000000+00:00' "
            "WHERE carrier_id = (SELECT min(carrier_id) FROM carriers)"
        )
        connection.commit()
        started = datetime.now(UTC)
        simulate_business_hour(url, seed=1)
        stamped = connection.execute("SELECT max(updated_at) FROM sales_orders").fetchone()[0]
    assert started <= datetime.fromisoformat(stamped) <= datetime.now(UTC)


def test_simulated_instants_within_hour(database):
    url, connection = database
    before = latest_updated_at(connection)
    simulate_business_hour(url, seed=1)
    now = datetime.fromisoformat(latest_updated_at(connection))
    instants = [
        datetime.fromisoformat(value)
        for (value,) in connection.execute(
            "SELECT ordered_at FROM sales_orders WHERE updated_at > ? AND order_status = 'open' "
            "UNION ALL SELECT paid_at FROM payments WHERE updated_at > ? "
            "UNION ALL SELECT delivered_at FROM shipments WHERE updated_at > ? "
            "AND delivered_at IS NOT NULL",
            (before, before, before),
        )
    ]
    assert instants
    assert all(now - timedelta(hours=1) <= instant <= now for instant in instants)


def test_simulated_invoices_equal_line_sums(database):
    url, connection = database
    before = latest_updated_at(connection)
    counts = simulate_business_hour(url, seed=1)
    invoices = connection.execute(
        "SELECT order_id, CAST(amount AS TEXT) FROM invoices WHERE updated_at > ? "
        "AND invoice_status = 'issued' AND invoice_id NOT IN (SELECT invoice_id FROM payments)",
        (before,),
    ).fetchall()
    assert len(invoices) == counts["new_invoices"] > 0
    for order_id, amount in invoices:
        lines = connection.execute(
            "SELECT quantity, CAST(unit_price AS TEXT), CAST(discount_rate AS TEXT) "
            "FROM sales_order_lines WHERE order_id = ?",
            (order_id,),
        )
        total = sum(
            (q * Decimal(p) * (1 - Decimal(r))).quantize(Decimal("0.01"), ROUND_HALF_UP)
            for q, p, r in lines
        )
        assert Decimal(amount) == total, order_id


def test_simulate_needs_generated_database(tmp_path):
    path = tmp_path / "missing.sqlite"
    with pytest.raises(DemoDatabaseError, match="run zone-marts generate first"):
        simulate_business_hour(f"sqlite:///{path}")
    assert not path.exists()
