"""The fulfilment part of a simulated business hour: from confirmation to payment, plus the
stock and production changes of the hour.

Rows changed earlier in the same hour carry updated_at = now, so each step only picks rows with
an older updated_at: an order is never confirmed and shipped in the same simulated hour.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from dagster_project.demo import vocabulary
from dagster_project.demo.amounts import (
    format_cents,
    line_net_cents,
    payment_terms_days,
    to_basis_points,
    to_cents,
)
from dagster_project.demo.business_calendar import local_date, promised_delivery
from dagster_project.demo.database import (
    BaseOperationDatabase,
    DemoDatabaseError,
    format_date,
    format_instant,
    parse_instant,
)
from dagster_project.demo.order_flow import HOUR
from dagster_project.demo.reference import carriers_serving
from dagster_project.zones import Zone

PARTIAL_PAYMENT_SHARE = 0.15
STOCK_MOVES_PER_ORDER = 3


class Fulfilment:
    def __init__(
        self,
        database: BaseOperationDatabase,
        rng: random.Random,
        zones: dict[str, Zone],
        now: datetime,
    ):
        self.database = database
        self.rng = rng
        self.zones = zones
        self.now = now
        self.now_text = format_instant(now)

    def within_hour(self) -> datetime:
        """Return a random instant in the simulated hour."""
        return self.now - self.rng.random() * HOUR

    def run(self, new_orders: int) -> dict[str, int]:
        """Move about ``new_orders`` orders through each step, as a steady flow would."""
        counts = {"confirmed_orders": self._confirm(new_orders)}
        counts |= self._ship_and_invoice(new_orders)
        counts |= self._deliver(new_orders)
        counts |= self._collect_payments(new_orders)
        counts["stock_moves"] = self._move_stock(new_orders * STOCK_MOVES_PER_ORDER)
        counts |= self._progress_work_orders(max(1, new_orders // 4))
        return counts

    def _confirm(self, limit: int) -> int:
        """Confirm the oldest open orders and plan a shipment for each."""
        orders = self.database.query(
            "SELECT o.order_id, o.ordered_at, c.zone_code FROM sales_orders o "
            "JOIN customers c ON c.customer_id = o.customer_id "
            "WHERE o.order_status = 'open' AND o.updated_at < ? ORDER BY o.ordered_at LIMIT ?",
            (self.now_text, limit),
        )
        (last_shipment,) = self.database.query(
            "SELECT coalesce(max(shipment_id), 0) FROM shipments"
        )[0]
        shipments = []
        for shipment_id, (order_id, ordered_at, zone_code) in enumerate(orders, last_shipment + 1):
            zone = find_zone(self.zones, zone_code)
            (site_id,) = self.database.query(
                "SELECT min(site_id) FROM sites WHERE zone_code = ? AND site_type = 'warehouse'",
                (zone_code,),
            )[0]
            carrier_id, _ = self.rng.choice(carriers_serving(zone_code))
            promised_at = promised_delivery(zone, parse_instant(ordered_at))
            shipments.append(
                (
                    shipment_id,
                    order_id,
                    carrier_id,
                    site_id,
                    format_instant(promised_at),
                    None,
                    None,
                    self.now_text,
                )
            )
        self._set_order_status("confirmed", [order_id for order_id, _, _ in orders])
        self.database.insert_rows("shipments", shipments)
        return len(orders)

    def _ship_and_invoice(self, limit: int) -> dict[str, int]:
        """Ship the confirmed orders promised first, and invoice each on shipment."""
        shipments = self.database.query(
            "SELECT s.shipment_id, o.order_id, c.customer_id, c.market_segment, c.zone_code "
            "FROM shipments s JOIN sales_orders o ON o.order_id = s.order_id "
            "JOIN customers c ON c.customer_id = o.customer_id "
            "WHERE o.order_status = 'confirmed' AND s.shipped_at IS NULL AND s.updated_at < ? "
            "ORDER BY s.promised_at LIMIT ?",
            (self.now_text, limit),
        )
        (last_invoice,) = self.database.query("SELECT coalesce(max(invoice_id), 0) FROM invoices")[
            0
        ]
        invoices = []
        for invoice_id, (shipment_id, order_id, customer_id, segment, zone_code) in enumerate(
            shipments, last_invoice + 1
        ):
            zone = find_zone(self.zones, zone_code)
            shipped_at = self.within_hour()
            self.database.execute(
                "UPDATE shipments SET shipped_at = ?, updated_at = ? WHERE shipment_id = ?",
                (format_instant(shipped_at), self.now_text, shipment_id),
            )
            invoice_date = local_date(zone, shipped_at)
            due_date = invoice_date + timedelta(days=payment_terms_days(customer_id, segment))
            amount = order_net_total(self.database, order_id)
            invoices.append(
                (
                    invoice_id,
                    order_id,
                    customer_id,
                    format_date(invoice_date),
                    format_date(due_date),
                    format_cents(amount),
                    zone.currency,
                    "issued",
                    self.now_text,
                )
            )
        self._set_order_status("shipped", [row[1] for row in shipments])
        self.database.insert_rows("invoices", invoices)
        return {"shipments_shipped": len(shipments), "new_invoices": len(invoices)}

    def _deliver(self, limit: int) -> dict[str, int]:
        """Deliver shipments that left before this hour, late if past their promised time."""
        shipments = self.database.query(
            "SELECT shipment_id, order_id, promised_at, carrier_id FROM shipments "
            "WHERE shipped_at IS NOT NULL AND delivered_at IS NULL AND shipped_at < ? "
            "ORDER BY promised_at LIMIT ?",
            (format_instant(self.now - HOUR), limit * 2),
        )
        late_shares = {
            carrier_id: share
            for carrier_id, (_, share, _) in enumerate(vocabulary.CARRIERS, start=1)
        }
        delivered, late = [], 0
        for shipment_id, order_id, promised_at, carrier_id in shipments:
            # A carrier that is often late also delivers fewer of its pending shipments an hour.
            if self.rng.random() < late_shares.get(carrier_id, 0.1) * 3 or len(delivered) >= limit:
                continue
            delivered_at = self.within_hour()
            late += delivered_at > parse_instant(promised_at)
            self.database.execute(
                "UPDATE shipments SET delivered_at = ?, updated_at = ? WHERE shipment_id = ?",
                (format_instant(delivered_at), self.now_text, shipment_id),
            )
            delivered.append(order_id)
        self._set_order_status("delivered", delivered)
        return {"deliveries": len(delivered), "late_deliveries": late}

    def _collect_payments(self, limit: int) -> dict[str, int]:
        """Record payments on issued invoices, due first, some for only part of the balance."""
        invoices = self.database.query(
            "SELECT invoice_id, amount FROM invoices WHERE invoice_status = 'issued' "
            "AND updated_at < ? ORDER BY due_date, invoice_id LIMIT ?",
            (self.now_text, limit * 4),
        )
        invoices = self.rng.sample(invoices, min(limit, len(invoices)))
        if not invoices:
            return {"payments": 0, "paid_invoices": 0}
        ids = [invoice_id for invoice_id, _ in invoices]
        placeholders = ", ".join("?" for _ in ids)
        already_paid = dict(
            self.database.query(
                "SELECT invoice_id, sum(amount) FROM payments "
                f"WHERE invoice_id IN ({placeholders}) GROUP BY invoice_id",
                ids,
            )
        )
        (last_payment,) = self.database.query("SELECT coalesce(max(payment_id), 0) FROM payments")[
            0
        ]
        payments, paid_invoices = [], []
        for payment_id, (invoice_id, amount) in enumerate(invoices, last_payment + 1):
            balance = to_cents(amount) - to_cents(already_paid.get(invoice_id, 0))
            cents = balance
            if balance > 1 and self.rng.random() < PARTIAL_PAYMENT_SHARE:
                cents = max(1, round(balance * self.rng.uniform(0.3, 0.7)))
            if cents == balance:
                paid_invoices.append(invoice_id)
            method = self.rng.choices(vocabulary.PAYMENT_METHODS, vocabulary.PAYMENT_METHOD_WEIGHTS)
            payments.append(
                (
                    payment_id,
                    invoice_id,
                    format_cents(cents),
                    method[0],
                    format_instant(self.within_hour()),
                    self.now_text,
                )
            )
        self.database.insert_rows("payments", payments)
        self.database.execute_many(
            "UPDATE invoices SET invoice_status = 'paid', updated_at = ? WHERE invoice_id = ?",
            [(self.now_text, invoice_id) for invoice_id in paid_invoices],
        )
        return {"payments": len(payments), "paid_invoices": len(paid_invoices)}

    def _move_stock(self, moves: int) -> int:
        """Pick goods out of stock or receive them, on random stock positions."""
        sites = [site_id for (site_id,) in self.database.query("SELECT site_id FROM sites")]
        (product_count,) = self.database.query("SELECT max(product_id) FROM products")[0]
        moved: set[tuple[int, int]] = set()
        for _ in range(moves):
            position = self.database.query(
                "SELECT site_id, product_id, on_hand_quantity, reserved_quantity, reorder_point "
                "FROM stock_levels WHERE site_id = ? AND product_id >= ? "
                "ORDER BY product_id LIMIT 1",
                (self.rng.choice(sites), self.rng.randint(1, product_count)),
            )
            if not position or position[0][:2] in moved:
                continue
            site_id, product_id, on_hand, reserved, reorder_point = position[0]
            if on_hand < reorder_point or self.rng.random() < 0.3:
                on_hand += round(reorder_point * self.rng.uniform(1, 3))
            else:
                on_hand -= self.rng.randint(1, max(1, on_hand - reserved))
                on_hand = max(on_hand, 0)
            reserved = min(reserved, on_hand)
            self.database.execute(
                "UPDATE stock_levels SET on_hand_quantity = ?, reserved_quantity = ?, "
                "updated_at = ? WHERE site_id = ? AND product_id = ?",
                (on_hand, reserved, self.now_text, site_id, product_id),
            )
            moved.add((site_id, product_id))
        return len(moved)

    def _progress_work_orders(self, limit: int) -> dict[str, int]:
        """Start planned work orders that are due, and report production on running ones."""
        today = format_date(self.now.date())
        due = self.database.query(
            "SELECT work_order_id FROM production_orders WHERE work_order_status = 'planned' "
            "AND planned_start_date <= ? ORDER BY planned_start_date, work_order_id LIMIT ?",
            (today, limit),
        )
        self.database.execute_many(
            "UPDATE production_orders SET work_order_status = 'in_progress', "
            "actual_start_at = ?, updated_at = ? WHERE work_order_id = ?",
            [
                (format_instant(self.within_hour()), self.now_text, work_order_id)
                for (work_order_id,) in due
            ],
        )
        running = self.database.query(
            "SELECT work_order_id, planned_quantity, produced_quantity FROM production_orders "
            "WHERE work_order_status = 'in_progress' AND updated_at < ? "
            "ORDER BY work_order_id LIMIT ?",
            (self.now_text, limit * 2),
        )
        completed = 0
        for work_order_id, planned, produced in running:
            produced += max(1, round(planned * self.rng.uniform(0.05, 0.25)))
            status, ended_at = "in_progress", None
            if produced >= planned:
                produced = min(produced, round(planned * 1.01))
                status, ended_at = "completed", format_instant(self.within_hour())
                completed += 1
            self.database.execute(
                "UPDATE production_orders SET produced_quantity = ?, work_order_status = ?, "
                "actual_end_at = ?, updated_at = ? WHERE work_order_id = ?",
                (produced, status, ended_at, self.now_text, work_order_id),
            )
        return {
            "work_orders_started": len(due),
            "work_orders_progressed": len(running),
            "work_orders_completed": completed,
        }

    def _set_order_status(self, status: str, order_ids: list[int]) -> None:
        self.database.execute_many(
            "UPDATE sales_orders SET order_status = ?, updated_at = ? WHERE order_id = ?",
            [(status, self.now_text, order_id) for order_id in order_ids],
        )


def find_zone(zones: dict[str, Zone], zone_code: str) -> Zone:
    try:
        return zones[zone_code]
    except KeyError:
        raise DemoDatabaseError(
            f"the Base Opération has rows in zone {zone_code!r}, which marts/zones.yml does not "
            "declare: declare the zone or regenerate the Base Opération"
        ) from None


def order_net_total(database: BaseOperationDatabase, order_id: int) -> int:
    """Return the sum of an order's line net amounts in cents, each rounded to the cent."""
    lines = database.query(
        "SELECT quantity, unit_price, discount_rate FROM sales_order_lines WHERE order_id = ?",
        (order_id,),
    )
    return sum(
        line_net_cents(quantity, to_cents(price), to_basis_points(rate))
        for quantity, price, rate in lines
    )
