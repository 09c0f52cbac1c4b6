"""Generate the order-to-cash history: sales orders, their lines, shipments, invoices, payments.

Orders are placed day by day over the HISTORY_DAYS before ``as_of``, each day from its own random
stream, and every order is followed through confirmation, shipment, delivery, invoicing and
payment. An event later than ``as_of`` has not happened yet, which leaves recent orders open,
confirmed or shipped, and recent invoices unpaid. A cancelled order has no lines and no shipment,
because cancelling an order deletes its lines (see simulate.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dagster_project.demo import vocabulary
from dagster_project.demo.amounts import (
    format_cents,
    format_rate,
    line_net_cents,
    payment_terms_days,
)
from dagster_project.demo.business_calendar import (
    is_working_day,
    local_date,
    local_instant,
    promised_delivery,
)
from dagster_project.demo.database import RowBuffer, format_date, format_instant
from dagster_project.demo.order_lines import (
    MEAN_LINE_COUNT,
    draw_line,
    draw_line_count,
    popular_product,
)
from dagster_project.demo.reference import Catalog

HISTORY_DAYS = 120
ORDER_LINES_AT_SCALE_1 = 50_000
# Order volume of a day relative to a working day: web and EDI orders still arrive.
SATURDAY_WEIGHT = 0.08
CLOSED_DAY_WEIGHT = 0.03
CANCELLED_SHARE = 0.03

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def history_start(as_of: datetime) -> datetime:
    """Return an instant before the first order, whatever the zone's UTC offset."""
    first_day = as_of.date() - timedelta(days=HISTORY_DAYS)
    return datetime.combine(first_day, time(0), tzinfo=UTC) - DAY


def day_weight(zone, day: date) -> float:
    if is_working_day(zone, day):
        return 1.0
    return SATURDAY_WEIGHT if day.isoweekday() == 6 else CLOSED_DAY_WEIGHT


@dataclass
class IdCounters:
    order: int = 0
    shipment: int = 0
    invoice: int = 0
    payment: int = 0


class OrderHistory:
    """Writes the orders of every day in the history, in ordered_at order."""

    def __init__(self, buffer: RowBuffer, catalog: Catalog, scale: float, seed: int, as_of):
        self.buffer = buffer
        self.catalog = catalog
        self.seed = seed
        self.as_of = as_of
        self.ids = IdCounters()
        self.first_day = as_of.date() - timedelta(days=HISTORY_DAYS)
        self.days = [self.first_day + timedelta(days=n) for n in range(HISTORY_DAYS + 1)]
        revenue = [zone.daily_revenue_target for zone in catalog.zones]
        self.zone_shares = [value / sum(revenue) for value in revenue]
        total_weight = sum(
            share * day_weight(zone, day)
            for zone, share in zip(catalog.zones, self.zone_shares, strict=True)
            for day in self.days
        )
        self.orders_per_weight = ORDER_LINES_AT_SCALE_1 * scale / MEAN_LINE_COUNT / total_weight

    def generate(self) -> None:
        for day in self.days:
            rng = random.Random(f"{self.seed}:orders:{day.isoformat()}")
            placed = []
            for zone_index, zone in enumerate(self.catalog.zones):
                expected = self.orders_per_weight * self.zone_shares[zone_index]
                expected *= day_weight(zone, day) * rng.uniform(0.75, 1.25)
                # Rounding up with probability equal to the fraction keeps the mean exact.
                for _ in range(int(expected + rng.random())):
                    channel = rng.choices(vocabulary.CHANNELS, vocabulary.CHANNEL_WEIGHTS)[0]
                    ordered_at = _order_time(rng, zone, day, channel)
                    if ordered_at <= self.as_of:
                        placed.append((ordered_at, zone_index, channel))
            placed.sort()
            for ordered_at, zone_index, channel in placed:
                self._add_order(rng, ordered_at, zone_index, channel)
                self.buffer.flush_if_full()

    def _add_order(self, rng: random.Random, ordered_at: datetime, zone_index: int, channel: str):
        zone = self.catalog.zones[zone_index]
        self.ids.order += 1
        order_id = self.ids.order
        customer_id = rng.choice(self.catalog.customers_by_zone[zone_index])

        def add_order_row(status: str, updated_at: datetime) -> None:
            self.buffer.add(
                "sales_orders",
                (
                    order_id,
                    customer_id,
                    channel,
                    status,
                    zone.currency,
                    format_instant(ordered_at),
                    format_instant(updated_at),
                ),
            )

        if rng.random() < CANCELLED_SHARE:
            cancelled_at = ordered_at + rng.uniform(0.5, 30) * HOUR
            if cancelled_at <= self.as_of:
                add_order_row("cancelled", cancelled_at)
                return

        net_cents = self._add_lines(rng, order_id, format_instant(ordered_at))
        hours_to_confirm = (1 / 60, 1 / 3) if channel == "edi" else (0.2, 6)
        confirmed_at = ordered_at + rng.uniform(*hours_to_confirm) * HOUR
        if confirmed_at > self.as_of:
            add_order_row("open", ordered_at)
            return

        shipped_at = confirmed_at + rng.uniform(2, 30) * HOUR
        events = self._add_shipment(rng, order_id, zone_index, ordered_at, confirmed_at, shipped_at)
        status = ("confirmed", "shipped", "delivered")[len(events) - 1]
        add_order_row(status, events[-1])
        if status != "confirmed":
            issued_at = shipped_at + rng.uniform(1, 20) * HOUR
            self._add_invoices(rng, order_id, customer_id, zone, issued_at, net_cents)

    def _add_lines(self, rng: random.Random, order_id: int, ordered_text: str) -> int:
        """Write the order's lines, each for another product; return their net sum in cents."""
        catalog = self.catalog
        line_count = min(draw_line_count(rng), catalog.product_count)
        products: set[int] = set()
        total = 0
        for line_number in range(1, line_count + 1):
            product_id = popular_product(rng, catalog.product_count)
            while product_id in products:
                product_id = popular_product(rng, catalog.product_count)
            products.add(product_id)
            quantity, unit_price, discount = draw_line(rng, catalog.product_prices[product_id - 1])
            total += line_net_cents(quantity, unit_price, discount)
            self.buffer.add(
                "sales_order_lines",
                (
                    order_id,
                    line_number,
                    product_id,
                    quantity,
                    format_cents(unit_price),
                    format_rate(discount),
                    ordered_text,
                ),
            )
        return total

    def _add_shipment(
        self,
        rng: random.Random,
        order_id: int,
        zone_index: int,
        ordered_at: datetime,
        confirmed_at: datetime,
        shipped_at: datetime,
    ) -> list[datetime]:
        """Write the order's shipment, created at confirmation; return its events up to as_of."""
        zone = self.catalog.zones[zone_index]
        warehouses = self.catalog.warehouses[zone_index]
        # The zone's main warehouse ships most orders; the others and the plants the rest.
        if rng.random() < 0.7:
            site_id = warehouses[0]
        else:
            site_id = rng.choice(warehouses + self.catalog.plants[zone_index])
        carrier_id, late_share = rng.choice(self.catalog.carriers[zone_index])
        promised_at = promised_delivery(zone, ordered_at)
        if rng.random() < late_share or promised_at < shipped_at + 4 * HOUR:
            delivered_at = max(promised_at, shipped_at) + rng.uniform(1, 72) * HOUR
        else:
            delivered_at = shipped_at + (promised_at - shipped_at) * rng.uniform(0.3, 0.98)
        events = [
            event for event in (confirmed_at, shipped_at, delivered_at) if event <= self.as_of
        ]
        shipped = format_instant(shipped_at) if len(events) > 1 else None
        delivered = format_instant(delivered_at) if len(events) > 2 else None
        self.ids.shipment += 1
        self.buffer.add(
            "shipments",
            (
                self.ids.shipment,
                order_id,
                carrier_id,
                site_id,
                format_instant(promised_at),
                shipped,
                delivered,
                format_instant(events[-1]),
            ),
        )
        return events

    def _add_invoices(
        self,
        rng: random.Random,
        order_id: int,
        customer_id: int,
        zone,
        issued_at: datetime,
        amount: int,
    ) -> None:
        """Write the order's invoice and its payments, if issued by as_of.

        One invoice in 200 is cancelled a few days later and reissued under a new id for the
        same amount, so a mart summing invoices must leave cancelled ones out.
        """
        if issued_at > self.as_of:
            return
        reissued_at = issued_at + rng.uniform(1, 3) * DAY
        if rng.random() < 0.005 and reissued_at <= self.as_of:
            self._add_invoice_row(
                order_id, customer_id, zone, issued_at, amount, "cancelled", reissued_at
            )
            issued_at = reissued_at
        due_at = issued_at + self._payment_terms(customer_id) * DAY
        behaviour = rng.random()
        if behaviour < 0.72:
            paid_at = issued_at + (due_at - issued_at) * rng.uniform(0.1, 1.0)
        elif behaviour < 0.92:
            paid_at = due_at + rng.uniform(1, 45) * DAY
        else:
            paid_at = None
        installments = []
        if paid_at is not None and rng.random() < 0.1:
            first = round(amount * rng.uniform(0.3, 0.7))
            installments = [(first, paid_at), (amount - first, paid_at + rng.uniform(10, 40) * DAY)]
        elif paid_at is not None:
            installments = [(amount, paid_at)]
        installments = [(cents, at) for cents, at in installments if at <= self.as_of]
        paid = sum(cents for cents, _ in installments)
        status = "paid" if paid == amount else "issued"
        last_change = installments[-1][1] if installments else issued_at
        invoice_id = self._add_invoice_row(
            order_id, customer_id, zone, issued_at, amount, status, last_change
        )
        method = rng.choices(vocabulary.PAYMENT_METHODS, vocabulary.PAYMENT_METHOD_WEIGHTS)[0]
        for cents, at in installments:
            self.ids.payment += 1
            at_text = format_instant(at)
            self.buffer.add(
                "payments",
                (self.ids.payment, invoice_id, format_cents(cents), method, at_text, at_text),
            )

    def _add_invoice_row(
        self, order_id, customer_id, zone, issued_at, amount, status, updated_at
    ) -> int:
        self.ids.invoice += 1
        invoice_date = local_date(zone, issued_at)
        terms = self._payment_terms(customer_id)
        self.buffer.add(
            "invoices",
            (
                self.ids.invoice,
                order_id,
                customer_id,
                format_date(invoice_date),
                format_date(invoice_date + timedelta(days=terms)),
                format_cents(amount),
                zone.currency,
                status,
                format_instant(updated_at),
            ),
        )
        return self.ids.invoice

    def _payment_terms(self, customer_id: int) -> int:
        segment = self.catalog.customer_segments[customer_id - 1]
        return payment_terms_days(customer_id, vocabulary.MARKET_SEGMENTS[segment])


def _order_time(rng: random.Random, zone, day: date, channel: str) -> datetime:
    """Return when an order of ``channel`` arrives on ``day``, in UTC.

    Sales representatives enter orders during business hours, web orders arrive from 7:00 to
    22:00 local time, and EDI orders at any hour.
    """
    if channel == "sales_rep":
        opening, closing = zone.business_start, zone.business_end
        start = opening.hour + opening.minute / 60
        end = closing.hour + closing.minute / 60
    elif channel == "web":
        start, end = 7.0, 22.0
    else:
        start, end = 0.0, 24.0
    return local_instant(zone, day, time(0)) + rng.uniform(start, end) * HOUR
