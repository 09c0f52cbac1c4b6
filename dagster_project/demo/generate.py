"""Generate a complete demo Base Opération in one transaction."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from dagster_project.demo.database import BaseOperationDatabase, DemoDatabaseError, RowBuffer
from dagster_project.demo.operations import generate_stock_levels, generate_work_orders
from dagster_project.demo.order_flow import OrderHistory, history_start
from dagster_project.demo.reference import generate_reference
from dagster_project.zones import load_zones


def generate_base_operation(
    url: str,
    scale: float = 1.0,
    seed: int = 42,
    as_of: datetime | None = None,
    overwrite: bool = False,
) -> dict[str, int]:
    """Fill the Base Opération at ``url`` with demo data; return the row count of each table.

    Scale 1 is about 50,000 order lines over the 120 days before ``as_of`` (default: now).
    Customers, products, orders, work orders and stock levels grow with the scale, while zones,
    sites and carriers are fixed. The same seed and as_of give the same content. Rows are
    written in chunks, and the whole generation commits at once, so a failure leaves the
    database as it was. A database holding any table with rows is rejected unless
    ``overwrite`` is set, which drops and recreates the Base Opération tables only.
    """
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale={scale!r} is invalid: use a positive number such as 1 or 0.02")
    as_of = datetime.now(UTC) if as_of is None else as_of
    if as_of.tzinfo is None:
        raise ValueError(f"as_of={as_of.isoformat()} has no time zone: pass an aware datetime")
    as_of = as_of.astimezone(UTC)
    zones = load_zones()
    with BaseOperationDatabase(url) as database:
        database.begin()
        if not overwrite:
            found = database.non_empty_tables()
            if found:
                raise DemoDatabaseError(
                    f"the database at {database.describe()} is not empty (tables: "
                    f"{', '.join(found)}); pass overwrite=True (zone-marts generate "
                    "--overwrite) to replace its Base Opération tables"
                )
        database.recreate_schema()
        buffer = RowBuffer(database)
        catalog = generate_reference(buffer, zones, scale, seed, history_start(as_of))
        OrderHistory(buffer, catalog, scale, seed, as_of).generate()
        generate_work_orders(buffer, catalog, scale, seed, as_of)
        generate_stock_levels(buffer, catalog, seed, as_of)
        buffer.flush()
        database.commit()
    return dict(buffer.written)
