"""Draw the lines of a sales order: products, quantities, prices and discounts."""

from __future__ import annotations

import random

LINE_COUNT_WEIGHTS = (30, 22, 18, 13, 10, 7)  # orders with 1, 2, ... 6 lines
MEAN_LINE_COUNT = sum(n * w for n, w in enumerate(LINE_COUNT_WEIGHTS, 1)) / sum(LINE_COUNT_WEIGHTS)
# Line value in euros is log-normal with median 150 and mean about 225, which puts the five
# demo zones near their daily revenue targets at scale 1.
LINE_VALUE_MEDIAN_CENTS = 15_000
LINE_VALUE_SIGMA = 0.9


def popular_product(rng: random.Random, product_count: int) -> int:
    """Pick a product id, the lowest ids the most often, as a best-seller list would."""
    return 1 + int(product_count * rng.random() ** 1.6)


def draw_line(rng: random.Random, list_price: int) -> tuple[int, int, int]:
    """Return a line's quantity, unit price in cents and discount in basis points.

    The unit price is within 4 % of the list price, and 45 % of lines get a discount of
    0.5 % to 15 % in steps of 0.5 %.
    """
    unit_price = max(1, round(list_price * rng.uniform(0.96, 1.04)))
    value = LINE_VALUE_MEDIAN_CENTS * rng.lognormvariate(0, LINE_VALUE_SIGMA)
    quantity = _pack_quantity(value / unit_price)
    discount = 0 if rng.random() < 0.55 else rng.randrange(1, 31) * 50
    return quantity, unit_price, discount


def draw_line_count(rng: random.Random) -> int:
    return rng.choices(range(1, 7), LINE_COUNT_WEIGHTS)[0]


def _pack_quantity(units: float) -> int:
    """Round a wanted quantity to how it is sold: by the unit, by 10, or by 50."""
    if units < 20:
        return max(1, round(units))
    if units < 200:
        return round(units / 10) * 10
    return round(units / 50) * 50
