"""Simulate one business hour of activity on a generated Base Opération.

Every row the hour inserts or changes gets the same updated_at, strictly later than every
updated_at already in the database, so an extraction filtering on ``updated_at > watermark``
reads the whole hour or none of it. Business instants (ordered_at, shipped_at, paid_at...) fall in
the hour before that transaction time. The hour commits as one transaction.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from dagster_project.demo import vocabulary
from dagster_project.demo.amounts import (
    format_cents,
    format_rate,
    to_cents,
)
from dagster_project.demo.database import (
    TABLES,
    BaseOperationDatabase,
    DemoDatabaseError,
    format_instant,
    parse_instant,
)
from dagster_project.demo.order_flow import HOUR
from dagster_project.demo.order_lines import draw_line, draw_line_count, popular_product
from dagster_project.demo.simulate_fulfilment import Fulfilment, find_zone
from dagster_project.zones import Zone, load_zones

# At scale 1 (2,000 customers) this gives about 20 orders an hour. The generated history has
# about 210 orders per working day, so this is its rate over a ten-hour working day.
ORDERS_PER_CUSTOMER_HOUR = 1 / 100
CANCELLED_SHARE = 0.05
# Any fixed number works: it only has to be the same for every simulator process.
SIMULATION_LOCK_KEY = 7_343_001


def simulate_business_hour(url: str, seed: int | None = None) -> dict[str, int]:
    """Add one hour of orders, fulfilment, payments, stock moves and production to ``url``.

    Return the count of each kind of change. Raise DemoDatabaseError when the database has no
    generated Base Opération.
    """
    rng = random.Random(seed)
    zones = {zone.code: zone for zone in load_zones()}
    with BaseOperationDatabase(url, create=False) as database:
        database.begin()
        if database.dialect == "postgresql":
            # Two simulators at once would compute the same transaction time and the same ids.
            database.query("SELECT pg_advisory_xact_lock(?)", (SIMULATION_LOCK_KEY,))
        missing = sorted(set(TABLES) - set(database.existing_tables()))
        if missing or not database.query("SELECT 1 FROM customers LIMIT 1"):
            raise DemoDatabaseError(
                f"the database at {database.describe()} has no generated Base Opération "
                f"(missing or empty tables: {', '.join(missing) or 'customers'}); run "
                "zone-marts generate first"
            )
        now = transaction_time(database)
        counts = OrderDesk(database, rng, zones, now).run()
        counts |= Fulfilment(database, rng, zones, now).run(counts["new_orders"])
        database.commit()
    return counts


# Rows stamped at most this far ahead of the clock are taken as clock skew between writers, and
# the simulated hour is stamped just after them. Rows further ahead are bad data (a placeholder
# date such as 2099-01-01), and following them would date every simulated change in the future.
MAX_CLOCK_SKEW = timedelta(minutes=5)


def transaction_time(database: BaseOperationDatabase) -> datetime:
    """Return the current UTC time, or 1 microsecond after the latest updated_at if slightly later.

    "Slightly" means within MAX_CLOCK_SKEW of the clock.
    """
    latest_per_table = " UNION ALL ".join(
        f"SELECT max(updated_at) AS updated_at FROM {table}" for table in TABLES
    )
    (latest,) = database.query(f"SELECT max(updated_at) FROM ({latest_per_table}) AS latest")[0]
    now = datetime.now(UTC)
    if latest is not None and now <= parse_instant(latest) <= now + MAX_CLOCK_SKEW:
        return parse_instant(latest) + timedelta(microseconds=1)
    return now


class OrderDesk:
    """New orders with their lines, and cancellations of orders not yet shipped."""

    def __init__(self, database, rng: random.Random, zones: dict[str, Zone], now: datetime):
        self.database = database
        self.rng = rng
        self.zones = zones
        self.now = now
        self.now_text = format_instant(now)

    def run(self) -> dict[str, int]:
        counts = self._cancel_orders()
        customer_count, first_customer, last_customer = self.database.query(
            "SELECT count(*), min(customer_id), max(customer_id) FROM customers"
        )[0]
        new_orders = max(
            1, round(customer_count * ORDERS_PER_CUSTOMER_HOUR * self.rng.uniform(0.7, 1.3))
        )
        (last_order,) = self.database.query("SELECT coalesce(max(order_id), 0) FROM sales_orders")[
            0
        ]
        (product_count,) = self.database.query("SELECT max(product_id) FROM products")[0]
        orders, lines = [], []
        for order_id in range(last_order + 1, last_order + 1 + new_orders):
            customer_id, zone_code = self.database.query(
                "SELECT customer_id, zone_code FROM customers WHERE customer_id >= ? "
                "ORDER BY customer_id LIMIT 1",
                (self.rng.randint(first_customer, last_customer),),
            )[0]
            ordered_at = format_instant(self.now - self.rng.random() * HOUR)
            orders.append(
                (
                    order_id,
                    customer_id,
                    self.rng.choices(vocabulary.CHANNELS, vocabulary.CHANNEL_WEIGHTS)[0],
                    "open",
                    find_zone(self.zones, zone_code).currency,
                    ordered_at,
                    self.now_text,
                )
            )
            lines += self._order_lines(order_id, product_count)
        self.database.insert_rows("sales_orders", orders)
        self.database.insert_rows("sales_order_lines", lines)
        return counts | {"new_orders": len(orders), "new_order_lines": len(lines)}

    def _order_lines(self, order_id: int, product_count: int) -> list[tuple]:
        lines, products = [], set()
        for line_number in range(1, draw_line_count(self.rng) + 1):
            row = self.database.query(
                "SELECT product_id, list_price FROM products WHERE product_id >= ? "
                "ORDER BY product_id LIMIT 1",
                (popular_product(self.rng, product_count),),
            )
            if not row or row[0][0] in products:
                continue
            product_id, list_price = row[0]
            products.add(product_id)
            quantity, unit_price, discount = draw_line(self.rng, to_cents(list_price))
            lines.append(
                (
                    order_id,
                    line_number,
                    product_id,
                    quantity,
                    format_cents(unit_price),
                    format_rate(discount),
                    self.now_text,
                )
            )
        # Line numbers stay 1, 2, 3... when a product drawn twice was skipped.
        return [(order_id, number, *line[2:]) for number, line in enumerate(lines, start=1)]

    def _cancel_orders(self) -> dict[str, int]:
        """Cancel a few open or confirmed orders and delete their lines and unshipped shipment."""
        candidates = self.database.query(
            "SELECT order_id FROM sales_orders o WHERE order_status IN ('open', 'confirmed') "
            "AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = o.order_id) "
            "ORDER BY order_id DESC LIMIT 50"
        )
        chosen = [order_id for (order_id,) in candidates if self.rng.random() < CANCELLED_SHARE]
        if candidates and not chosen:
            chosen = [self.rng.choice(candidates)[0]]
        deleted_lines = deleted_shipments = 0
        for order_id in chosen:
            deleted_lines += self.database.execute(
                "DELETE FROM sales_order_lines WHERE order_id = ?", (order_id,)
            )
            deleted_shipments += self.database.execute(
                "DELETE FROM shipments WHERE order_id = ? AND shipped_at IS NULL", (order_id,)
            )
            self.database.execute(
                "UPDATE sales_orders SET order_status = 'cancelled', updated_at = ? "
                "WHERE order_id = ?",
                (self.now_text, order_id),
            )
        return {
            "cancelled_orders": len(chosen),
            "deleted_order_lines": deleted_lines,
            "deleted_shipments": deleted_shipments,
        }
