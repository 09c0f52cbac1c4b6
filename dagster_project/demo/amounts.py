"""Exact money arithmetic shared by the generator and the simulator.

Amounts are handled as integer cents and discount rates as integer basis points of 1/10000, so
an invoice amount equals the sum of its rounded line net amounts to the cent on every back end.
"""

from __future__ import annotations

from decimal import Decimal

# Payment terms in days after the invoice date, chosen per customer from its id, so the
# simulator finds the same terms as the generator without a column for them.
PAYMENT_TERMS_DAYS = (30, 45, 60)
PUBLIC_SECTOR_TERMS_DAYS = 60


def line_net_cents(quantity: int, unit_price_cents: int, discount_basis_points: int) -> int:
    """Return quantity * unit_price * (1 - discount_rate), rounded half up to the cent."""
    scaled = quantity * unit_price_cents * (10_000 - discount_basis_points)
    return (scaled + 5_000) // 10_000


def format_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole}.{fraction:02d}"


def format_rate(basis_points: int) -> str:
    return f"{basis_points // 10_000}.{basis_points % 10_000:04d}"


def to_cents(value: object) -> int:
    """Convert a NUMERIC read back from SQLite (float) or PostgreSQL (Decimal) to cents."""
    return int((Decimal(str(value)) * 100).to_integral_value())


def to_basis_points(value: object) -> int:
    return int((Decimal(str(value)) * 10_000).to_integral_value())


def payment_terms_days(customer_id: int, market_segment: str) -> int:
    if market_segment == "public":
        return PUBLIC_SECTOR_TERMS_DAYS
    return PAYMENT_TERMS_DAYS[customer_id % len(PAYMENT_TERMS_DAYS)]
