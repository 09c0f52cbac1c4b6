"""Row-level views for the drill-down page: one query per mart table, filtered in SQL.

Each dataset names the filters it supports, so the page shows only the filters that apply
(a stock position has no customer, a work order no carrier).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from dashboard.mart_access import MartSession

# Enough for any zone of the demo (about 50,000 order lines for all zones together) while
# keeping one export below about 100 MB of CSV.
MAX_EXPORT_ROWS = 200_000

CUSTOMER = "customer"
PRODUCT = "product"
SEGMENT = "segment"
CARRIER = "carrier"

# SQL expression filtered by each filter, in the joined query of every dataset.
FILTER_COLUMNS = {
    CUSTOMER: "cu.customer_name",
    PRODUCT: "p.product_name",
    SEGMENT: "cu.market_segment",
    CARRIER: "ca.carrier_name",
}
JOINS = {
    CUSTOMER: "left join dim_customers as cu on d.customer_id = cu.customer_id",
    PRODUCT: "left join dim_products as p on d.product_id = p.product_id",
    CARRIER: "left join dim_carriers as ca on d.carrier_id = ca.carrier_id",
}
JOIN_COLUMNS = {
    CUSTOMER: ["cu.customer_name", "cu.market_segment"],
    PRODUCT: ["p.sku", "p.product_name"],
    CARRIER: ["ca.carrier_name"],
}


@dataclass(frozen=True)
class Dataset:
    """A mart table offered for drill-down, its period column and the dimensions it joins."""

    table: str
    date_column: str | None
    dimensions: tuple[str, ...]
    order_by: str
    filters: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        filters = list(self.dimensions)
        if CUSTOMER in self.dimensions:
            filters.insert(filters.index(CUSTOMER) + 1, SEGMENT)
        object.__setattr__(self, "filters", tuple(filters))


DATASETS = {
    dataset.table: dataset
    for dataset in (
        Dataset("fct_order_lines", "order_local_date", (CUSTOMER, PRODUCT), "d.order_line_key"),
        Dataset("fct_shipments", "order_local_date", (CUSTOMER, CARRIER), "d.shipment_id"),
        Dataset("fct_work_orders", "planned_end_date", (PRODUCT,), "d.work_order_id"),
        Dataset("fct_stock_positions", None, (PRODUCT,), "d.stock_position_key"),
        Dataset("fct_invoices", "invoice_date", (CUSTOMER,), "d.invoice_id"),
        Dataset("fct_payments", "paid_local_date", (CUSTOMER,), "d.payment_id"),
    )
}


@dataclass(frozen=True)
class Selection:
    """The filters chosen on the page; an empty tuple means no filter on that dimension."""

    values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    first_day: date | None = None
    last_day: date | None = None


def filter_options(session: MartSession, dataset: Dataset, name: str) -> list[str]:
    """Return the distinct values of filter ``name`` present in ``dataset``, sorted."""
    column = FILTER_COLUMNS[name]
    dimension = CUSTOMER if name == SEGMENT else name
    frame = session.query(
        f"select distinct {column} as value from {dataset.table} as d "
        f"{JOINS[dimension]} where {column} is not null order by 1"
    )
    return [str(value) for value in frame["value"]]


def build_query(dataset: Dataset, selection: Selection) -> tuple[str, dict[str, Any]]:
    """Return the SELECT of the dataset's rows matching ``selection``, and its parameters."""
    columns = ["d.*"] + [column for name in dataset.dimensions for column in JOIN_COLUMNS[name]]
    conditions: list[str] = []
    params: dict[str, Any] = {}
    for name in dataset.filters:
        chosen = selection.values.get(name, ())
        if not chosen:
            continue
        placeholders = []
        for index, value in enumerate(chosen):
            params[f"{name}_{index}"] = value
            placeholders.append(f"%({name}_{index})s")
        conditions.append(f"{FILTER_COLUMNS[name]} in ({', '.join(placeholders)})")
    if dataset.date_column and selection.first_day:
        conditions.append(f"d.{dataset.date_column} >= %(first_day)s")
        params["first_day"] = selection.first_day
    if dataset.date_column and selection.last_day:
        conditions.append(f"d.{dataset.date_column} <= %(last_day)s")
        params["last_day"] = selection.last_day
    joins = " ".join(JOINS[name] for name in dataset.dimensions)
    where = f"where {' and '.join(conditions)}" if conditions else ""
    sql = (
        f"select {', '.join(columns)} from {dataset.table} as d {joins} {where} "
        f"order by {dataset.order_by} limit {MAX_EXPORT_ROWS + 1}"
    )
    return sql, params


def read_rows(session: MartSession, dataset: Dataset, selection: Selection) -> pd.DataFrame:
    sql, params = build_query(dataset, selection)
    return session.query(sql, params)


def period_bounds(session: MartSession, dataset: Dataset) -> tuple[date, date] | None:
    """Return the first and last day of the dataset's period column, or None without one."""
    if dataset.date_column is None:
        return None
    frame = session.query(
        f"select min({dataset.date_column}) as first_day, "
        f"max({dataset.date_column}) as last_day from {dataset.table}"
    )
    first, last = frame.loc[0, "first_day"], frame.loc[0, "last_day"]
    if pd.isna(first) or pd.isna(last):
        return None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


# A spreadsheet runs a cell that starts with one of these as a formula, which can send other
# cells' contents to a web address (=HYPERLINK, =WEBSERVICE).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_export(rows: pd.DataFrame) -> bytes:
    """Return ``rows`` as CSV for a spreadsheet, with text cells that a formula could start in
    prefixed by a quote. The byte order mark lets Excel read accented names as UTF-8."""
    safe = rows.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(
                lambda value: (
                    "'" + value
                    if isinstance(value, str) and value.startswith(FORMULA_STARTS)
                    else value
                )
            )
    return safe.to_csv(index=False).encode("utf-8-sig")
