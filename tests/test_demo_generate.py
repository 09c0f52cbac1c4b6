"""The demo Base Opération generator, on SQLite."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from dagster_project.demo.database import TABLES, DemoDatabaseError
from dagster_project.demo.generate import generate_base_operation

AS_OF = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
PRIMARY_KEYS = {
    "zones": ("zone_code",),
    "sites": ("site_id",),
    "customers": ("customer_id",),
    "products": ("product_id",),
    "carriers": ("carrier_id",),
    "sales_orders": ("order_id",),
    "sales_order_lines": ("order_id", "line_number"),
    "shipments": ("shipment_id",),
    "production_orders": ("work_order_id",),
    "stock_levels": ("site_id", "product_id"),
    "invoices": ("invoice_id",),
    "payments": ("payment_id",),
}
INSTANT_TEXT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00$")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[sqlite3.Connection, dict[str, int]]:
    path = tmp_path_factory.mktemp("demo") / "base_operation.sqlite"
    counts = generate_base_operation(f"sqlite:///{path}", scale=0.02, seed=7, as_of=AS_OF)
    connection = sqlite3.connect(path)
    yield connection, counts
    connection.close()


def dump(path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as connection:
        return {
            table: connection.execute(
                f"SELECT * FROM {table} ORDER BY {', '.join(PRIMARY_KEYS[table])}"
            ).fetchall()
            for table in TABLES
        }


def test_same_seed_same_content(tmp_path):
    for name in ("first", "second"):
        generate_base_operation(f"sqlite:///{tmp_path / name}.db", 0.02, seed=3, as_of=AS_OF)
    assert dump(tmp_path / "first.db") == dump(tmp_path / "second.db")


def test_other_seed_other_content(tmp_path):
    for name, seed in (("first", 3), ("second", 4)):
        generate_base_operation(f"sqlite:///{tmp_path / name}.db", 0.02, seed=seed, as_of=AS_OF)
    first, second = dump(tmp_path / "first.db"), dump(tmp_path / "second.db")
    assert first["sales_order_lines"] != second["sales_order_lines"]


def test_every_table_filled(generated):
    connection, counts = generated
    for table in TABLES:
        (rows,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert rows > 0, table
        assert counts[table] == rows, table


def test_primary_keys_unique(generated):
    connection, _ = generated
    for table, key in PRIMARY_KEYS.items():
        columns = ", ".join(key)
        duplicates = connection.execute(
            f"SELECT {columns} FROM {table} GROUP BY {columns} HAVING count(*) > 1"
        ).fetchall()
        assert duplicates == [], table


def test_foreign_keys_hold(generated):
    connection, _ = generated
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def test_updated_at_set_and_not_after_as_of(generated):
    connection, _ = generated
    for table in TABLES:
        values = [value for (value,) in connection.execute(f"SELECT updated_at FROM {table}")]
        assert None not in values, table
        assert all(INSTANT_TEXT.match(value) for value in values), table
        assert max(datetime.fromisoformat(value) for value in values) <= AS_OF, table


def test_five_zones_with_reunion(generated):
    connection, _ = generated
    zones = dict(connection.execute("SELECT zone_code, zone_name FROM zones"))
    assert len(zones) == 5
    assert zones["reunion"] == "La Réunion"
    (reunion_customers,) = connection.execute(
        "SELECT count(*) FROM customers WHERE zone_code = 'reunion'"
    ).fetchone()
    assert reunion_customers > 0


def test_invoice_amounts_equal_line_net_sums(generated):
    connection, _ = generated
    lines: dict[int, Decimal] = {}
    for order_id, quantity, price, rate in connection.execute(
        "SELECT order_id, quantity, CAST(unit_price AS TEXT), CAST(discount_rate AS TEXT) "
        "FROM sales_order_lines"
    ):
        # Half up, as SQL round() does on PostgreSQL and DuckDB numerics.
        net = quantity * Decimal(price) * (1 - Decimal(rate))
        net = net.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        lines[order_id] = lines.get(order_id, Decimal(0)) + net
    invoices = connection.execute(
        "SELECT invoice_id, order_id, CAST(amount AS TEXT) FROM invoices"
    ).fetchall()
    assert invoices
    for invoice_id, order_id, amount in invoices:
        assert Decimal(amount) == lines[order_id], invoice_id


def test_cancelled_orders_have_no_lines(generated):
    connection, _ = generated
    (cancelled,) = connection.execute(
        "SELECT count(*) FROM sales_orders WHERE order_status = 'cancelled'"
    ).fetchone()
    (with_lines,) = connection.execute(
        "SELECT count(*) FROM sales_orders o WHERE order_status = 'cancelled' "
        "AND EXISTS (SELECT 1 FROM sales_order_lines l WHERE l.order_id = o.order_id)"
    ).fetchone()
    assert cancelled > 0
    assert with_lines == 0


def test_order_status_matches_shipment(generated):
    connection, _ = generated
    rows = connection.execute(
        "SELECT o.order_status, s.shipment_id IS NOT NULL, s.shipped_at IS NOT NULL, "
        "s.delivered_at IS NOT NULL FROM sales_orders o "
        "LEFT JOIN shipments s ON s.order_id = o.order_id"
    ).fetchall()
    expected = {
        "open": (0, 0, 0),
        "cancelled": (0, 0, 0),
        "confirmed": (1, 0, 0),
        "shipped": (1, 1, 0),
        "delivered": (1, 1, 1),
    }
    for status, *shipment in rows:
        assert tuple(shipment) == expected[status], status


def test_some_deliveries_late(generated):
    connection, _ = generated
    late, delivered = connection.execute(
        "SELECT sum(delivered_at > promised_at), count(*) FROM shipments "
        "WHERE delivered_at IS NOT NULL"
    ).fetchone()
    assert 0 < late < delivered * 0.3


def test_unit_cost_below_list_price(generated):
    connection, _ = generated
    (violations,) = connection.execute(
        "SELECT count(*) FROM products WHERE unit_cost >= list_price OR unit_cost <= 0"
    ).fetchone()
    assert violations == 0


def test_scale_one_order_lines(tmp_path):
    counts = generate_base_operation(f"sqlite:///{tmp_path / 'one.db'}", as_of=AS_OF)
    assert 45_000 <= counts["sales_order_lines"] <= 55_000


def test_non_empty_database_rejected(tmp_path):
    url = f"sqlite:///{tmp_path / 'base.db'}"
    generate_base_operation(url, 0.02, seed=1, as_of=AS_OF)
    with pytest.raises(DemoDatabaseError, match=r"base\.db is not empty"):
        generate_base_operation(url, 0.02, seed=2, as_of=AS_OF)


def test_overwrite_replaces_content(tmp_path):
    url = f"sqlite:///{tmp_path / 'base.db'}"
    generate_base_operation(url, 0.02, seed=1, as_of=AS_OF)
    generate_base_operation(url, 0.02, seed=2, as_of=AS_OF, overwrite=True)
    generate_base_operation(f"sqlite:///{tmp_path / 'fresh.db'}", 0.02, seed=2, as_of=AS_OF)
    assert dump(tmp_path / "base.db") == dump(tmp_path / "fresh.db")


def test_other_tables_count_as_content(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices_2019 (id INTEGER)")
    with pytest.raises(DemoDatabaseError, match="invoices_2019"):
        generate_base_operation(f"sqlite:///{path}", 0.02, as_of=AS_OF)


@pytest.mark.parametrize("scale", [0, -1, float("nan")])
def test_invalid_scale_rejected(tmp_path, scale):
    with pytest.raises(ValueError, match="scale="):
        generate_base_operation(f"sqlite:///{tmp_path / 'x.db'}", scale, as_of=AS_OF)


def test_naive_as_of_rejected(tmp_path):
    with pytest.raises(ValueError, match="no time zone"):
        generate_base_operation(f"sqlite:///{tmp_path / 'x.db'}", 0.02, as_of=datetime(2026, 1, 1))


def test_unsupported_url_rejected():
    with pytest.raises(DemoDatabaseError, match="unsupported Base Opération URL mysql://"):
        generate_base_operation("mysql://localhost/base", 0.02, as_of=AS_OF)
