"""Generate the reference tables: zones, sites, carriers, products and customers.

The returned Catalog keeps only what the order and operations generators need, in compact
arrays, so memory grows by a few bytes per customer or product and never by whole rows.
"""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from faker import Faker

from dagster_project.demo import vocabulary
from dagster_project.demo.amounts import format_cents
from dagster_project.demo.database import RowBuffer, format_instant
from dagster_project.zones import Zone

CUSTOMERS_AT_SCALE_1 = 2_000
PRODUCTS_AT_SCALE_1 = 800
MINIMUM_CUSTOMERS = 25
MINIMUM_PRODUCTS = 40
REFERENCE_AGE = timedelta(days=730)


@dataclass
class Catalog:
    zones: list[Zone]
    # Site ids per zone index; every zone has at least one plant and one warehouse.
    plants: list[list[int]] = field(default_factory=list)
    warehouses: list[list[int]] = field(default_factory=list)
    # (carrier_id, share of deliveries late) per zone index.
    carriers: list[list[tuple[int, float]]] = field(default_factory=list)
    # Customer ids per zone index, and the market segment index of customer id i at [i - 1].
    customers_by_zone: list[array] = field(default_factory=list)
    customer_segments: array = field(default_factory=lambda: array("B"))
    # List price in cents of product id i at [i - 1].
    product_prices: array = field(default_factory=lambda: array("q"))

    @property
    def product_count(self) -> int:
        return len(self.product_prices)


def scaled_count(base: int, scale: float, minimum: int) -> int:
    return max(minimum, round(base * scale))


def generate_reference(
    buffer: RowBuffer, zones: list[Zone], scale: float, seed: int, orders_start: datetime
) -> Catalog:
    """Write the reference tables, created two years before ``orders_start``.

    Customers and products are created and changed between then and ``orders_start``, so every
    order references rows that already existed when it was placed.
    """
    catalog = Catalog(zones=zones)
    history = History(start=orders_start - REFERENCE_AGE, end=orders_start)
    created_at = format_instant(history.start)
    _add_zones_and_sites(buffer, catalog, seed, created_at)
    _add_carriers(buffer, catalog, created_at)
    _add_products(buffer, catalog, scale, seed, history)
    _add_customers(buffer, catalog, scale, seed, history)
    return catalog


@dataclass(frozen=True)
class History:
    start: datetime
    end: datetime

    def instant(self, rng: random.Random, earliest: datetime | None = None) -> datetime:
        """Return a random instant between ``earliest`` (default: the start) and the end."""
        begin = earliest or self.start
        return begin + timedelta(seconds=rng.random() * (self.end - begin).total_seconds())


def _add_zones_and_sites(buffer: RowBuffer, catalog: Catalog, seed: int, created_at: str) -> None:
    faker = Faker("fr_FR")
    faker.seed_instance(seed)
    site_id = 0
    for zone in catalog.zones:
        region = vocabulary.REGIONS.get(zone.code, vocabulary.DEFAULT_REGION)
        buffer.add("zones", (zone.code, zone.name, region, created_at))
        sites = vocabulary.SITES.get(zone.code)
        if sites is None:
            sites = (("plant", faker.city()), ("warehouse", faker.city()))
        plants, warehouses = [], []
        for site_type, city in sites:
            site_id += 1
            name = f"{vocabulary.SITE_NAME_PREFIX[site_type]} {city}"
            buffer.add("sites", (site_id, zone.code, name, city, site_type, created_at))
            (plants if site_type == "plant" else warehouses).append(site_id)
        catalog.plants.append(plants)
        catalog.warehouses.append(warehouses)


def _add_carriers(buffer: RowBuffer, catalog: Catalog, created_at: str) -> None:
    for carrier_id, (name, _, _) in enumerate(vocabulary.CARRIERS, start=1):
        buffer.add("carriers", (carrier_id, name, created_at))
    catalog.carriers = [carriers_serving(zone.code) for zone in catalog.zones]


def carriers_serving(zone_code: str) -> list[tuple[int, float]]:
    """Return (carrier_id, share of deliveries late) of the carriers that serve a zone."""
    serving, national = [], []
    for carrier_id, (_, late_share, served) in enumerate(vocabulary.CARRIERS, start=1):
        if served is None:
            national.append((carrier_id, late_share))
        if zone_code in (served or ()):
            serving.append((carrier_id, late_share))
        elif served is None and zone_code not in vocabulary.OVERSEAS_ZONES:
            serving.append((carrier_id, late_share))
    # A zone that no carrier lists is served by every national carrier.
    return serving or national


def _add_products(
    buffer: RowBuffer, catalog: Catalog, scale: float, seed: int, history: History
) -> None:
    rng = random.Random(f"{seed}:products")
    families = list(vocabulary.PRODUCT_FAMILIES.items())
    for product_id in range(1, scaled_count(PRODUCTS_AT_SCALE_1, scale, MINIMUM_PRODUCTS) + 1):
        family, (prefix, categories, variants) = families[product_id % len(families)]
        category, low, high = rng.choice(categories)
        list_price = round(low * (high / low) ** rng.random() * 100)
        list_price = max(list_price, 2)
        unit_cost = min(list_price - 1, max(1, round(list_price * rng.uniform(0.45, 0.8))))
        name = f"{category} {rng.choice(variants)} réf. {product_id:05d}"
        # One product in ten had its price revised after its creation.
        changed = rng.random() < 0.1
        updated_at = history.instant(rng) if changed else history.start
        buffer.add(
            "products",
            (
                product_id,
                f"{prefix}-{product_id:06d}",
                name,
                family,
                category,
                format_cents(unit_cost),
                format_cents(list_price),
                format_instant(updated_at),
            ),
        )
        catalog.product_prices.append(list_price)
        buffer.flush_if_full()


def _add_customers(
    buffer: RowBuffer, catalog: Catalog, scale: float, seed: int, history: History
) -> None:
    rng = random.Random(f"{seed}:customers")
    faker = Faker("fr_FR")
    faker.seed_instance(seed)
    zone_weights = [zone.daily_revenue_target for zone in catalog.zones]
    catalog.customers_by_zone = [array("l") for _ in catalog.zones]
    for customer_id in range(1, scaled_count(CUSTOMERS_AT_SCALE_1, scale, MINIMUM_CUSTOMERS) + 1):
        # The first customers cover every zone once, so even a tiny scale has orders everywhere.
        if customer_id <= len(catalog.zones):
            zone_index = customer_id - 1
        else:
            zone_index = rng.choices(range(len(catalog.zones)), zone_weights)[0]
        zone = catalog.zones[zone_index]
        segment = rng.choices(
            range(len(vocabulary.MARKET_SEGMENTS)), vocabulary.MARKET_SEGMENT_WEIGHTS
        )[0]
        cities = vocabulary.CITIES.get(zone.code)
        city = rng.choice(cities) if cities else faker.city()
        created_at = history.instant(rng)
        # One customer in five changed an address or a contact since.
        updated_at = history.instant(rng, created_at) if rng.random() < 0.2 else created_at
        buffer.add(
            "customers",
            (
                customer_id,
                faker.company(),
                vocabulary.MARKET_SEGMENTS[segment],
                zone.code,
                city,
                format_instant(created_at),
                format_instant(updated_at),
            ),
        )
        catalog.customers_by_zone[zone_index].append(customer_id)
        catalog.customer_segments.append(segment)
        buffer.flush_if_full()
