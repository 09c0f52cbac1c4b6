"""Generate the production and stock tables: work orders per plant, stock levels per site."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from dagster_project.demo.business_calendar import local_instant
from dagster_project.demo.database import RowBuffer, format_date, format_instant
from dagster_project.demo.order_flow import DAY, HISTORY_DAYS, HOUR
from dagster_project.demo.order_lines import popular_product
from dagster_project.demo.reference import Catalog

WORK_ORDERS_AT_SCALE_1 = 3_000
# Work orders are planned up to this many days ahead of as_of.
PLANNING_HORIZON_DAYS = 14
SHIFT_START = time(6, 0)
CANCELLED_SHARE = 0.03
# Share of the products each site stocks, and of stock positions under their reorder point.
STOCKED_SHARE = {"warehouse": 0.4, "plant": 0.2}
BELOW_REORDER_SHARE = 0.12


def generate_work_orders(
    buffer: RowBuffer, catalog: Catalog, scale: float, seed: int, as_of: datetime
) -> None:
    """Write the work orders planned from HISTORY_DAYS before as_of to the planning horizon.

    A work order starts up to 30 hours late and runs 0.8 to 1.4 times its planned duration, so
    some finish after their planned end date and some planned in the past have not started.
    """
    plants = [
        (catalog.zones[zone_index], site_id)
        for zone_index, site_ids in enumerate(catalog.plants)
        for site_id in site_ids
    ]
    day_count = HISTORY_DAYS + PLANNING_HORIZON_DAYS
    per_plant_day = WORK_ORDERS_AT_SCALE_1 * scale / day_count / len(plants)
    first_day = as_of.date() - timedelta(days=HISTORY_DAYS)
    work_order_id = 0
    for offset in range(day_count + 1):
        day = first_day + timedelta(days=offset)
        rng = random.Random(f"{seed}:work_orders:{day.isoformat()}")
        for zone, site_id in plants:
            for _ in range(int(per_plant_day * rng.uniform(0.5, 1.5) + rng.random())):
                row = _work_order(rng, catalog, zone, site_id, day, as_of)
                if row is not None:
                    work_order_id += 1
                    buffer.add("production_orders", (work_order_id, *row))
                    buffer.flush_if_full()


def _work_order(rng, catalog, zone, site_id, day, as_of) -> tuple | None:
    """Return one work order's columns after its id, or None if it was not planned by as_of."""
    product_id = popular_product(rng, catalog.product_count)
    planned = max(10, round(rng.lognormvariate(6.0, 0.7) / 10) * 10)
    planned_days = rng.randint(1, 8)
    planned_start = local_instant(zone, day, SHIFT_START)
    planned_at = planned_start - rng.uniform(3, 20) * DAY
    if planned_at > as_of:
        return None
    columns = [
        site_id,
        product_id,
        planned,
        0,
        format_date(day),
        format_date(day + timedelta(days=planned_days)),
        None,
        None,
        "planned",
        planned_at,
    ]
    cancelled_at = planned_at + rng.uniform(1, 10) * DAY
    started_at = planned_start + rng.uniform(-4, 30) * HOUR
    if rng.random() < CANCELLED_SHARE and cancelled_at <= min(as_of, started_at):
        columns[8:] = ["cancelled", cancelled_at]
    elif started_at <= as_of:
        ended_at = started_at + planned_days * rng.uniform(0.8, 1.4) * DAY
        columns[6] = format_instant(started_at)
        if ended_at <= as_of:
            columns[3] = round(planned * rng.uniform(0.92, 1.01))
            columns[7] = format_instant(ended_at)
            columns[8:] = ["completed", ended_at]
        else:
            # Production is reported a few times per shift, the last report up to 4 hours ago.
            reported_at = max(started_at, as_of - rng.uniform(0, 4) * HOUR)
            done = (reported_at - started_at) / (ended_at - started_at)
            columns[3] = int(planned * done)
            columns[8:] = ["in_progress", reported_at]
    columns[9] = format_instant(columns[9])
    return tuple(columns)


def generate_stock_levels(buffer: RowBuffer, catalog: Catalog, seed: int, as_of: datetime) -> None:
    """Write the stock position of each product a site stocks, counted in the last seven days."""
    rng = random.Random(f"{seed}:stock_levels")
    sites = []
    for zone_index in range(len(catalog.zones)):
        sites += [(site_id, "warehouse") for site_id in catalog.warehouses[zone_index]]
        sites += [(site_id, "plant") for site_id in catalog.plants[zone_index]]
    sites.sort()
    for site_id, site_type in sites:
        for product_id in range(1, catalog.product_count + 1):
            if rng.random() >= STOCKED_SHARE[site_type]:
                continue
            reorder_point = max(5, round(rng.lognormvariate(3.7, 0.8)))
            if rng.random() < BELOW_REORDER_SHARE:
                on_hand = rng.randrange(reorder_point)
            else:
                on_hand = round(reorder_point * rng.uniform(1.0, 4.0))
            reserved = int(on_hand * rng.uniform(0, 0.4))
            counted_at = as_of - rng.uniform(0, 7) * DAY
            buffer.add(
                "stock_levels",
                (site_id, product_id, on_hand, reserved, reorder_point, format_instant(counted_at)),
            )
            buffer.flush_if_full()
