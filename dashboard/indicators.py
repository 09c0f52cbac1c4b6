"""Queries behind the tiles, charts and tables: one function per indicator, on one MartSession.

Every query filters on nothing zone-specific: the mart it reads holds the zone's rows only.
Windows end at the mart's as-of date (the latest local day of fct_zone_daily_kpis), so a mart
published yesterday still shows yesterday's full picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from dashboard.mart_access import MartSession

TILE_WINDOW_DAYS = 7
TREND_WEEKS = 8
AGEING_BUCKETS = ("not_due", "1-30", "31-60", "61-90", "90+")


@dataclass(frozen=True)
class Tiles:
    """Figures of the KPI tiles, over the TILE_WINDOW_DAYS days ending at ``as_of``."""

    as_of: date
    revenue: float
    revenue_target: float
    on_time_rate: float | None
    on_time_rate_target: float
    overdue_receivables: float
    overdue_receivables_week_before: float | None
    late_work_orders: int
    late_work_orders_week_before: int | None
    stock_outs: int
    below_reorder_point: int


def as_of_date(session: MartSession) -> date | None:
    """Return the latest local day of the daily KPIs, or None when the table is empty."""
    frame = session.query("select max(local_date) as as_of from fct_zone_daily_kpis")
    value = frame.loc[0, "as_of"]
    return None if pd.isna(value) else pd.Timestamp(value).date()


def daily_kpis(session: MartSession, first_day: date, last_day: date) -> pd.DataFrame:
    frame = session.query(
        """
        select local_date, is_working_day, holiday_name, revenue, revenue_target,
            delivered_shipments, on_time_shipments, on_time_rate, on_time_rate_target,
            overdue_receivables, late_work_orders, stock_out_positions
        from fct_zone_daily_kpis
        where local_date between %(first_day)s and %(last_day)s
        order by local_date
        """,
        {"first_day": first_day, "last_day": last_day},
    )
    frame["local_date"] = pd.to_datetime(frame["local_date"])
    return frame


def _value_on(frame: pd.DataFrame, day: date, column: str) -> float | None:
    rows = frame.loc[frame["local_date"] == pd.Timestamp(day), column]
    if rows.empty or pd.isna(rows.iloc[0]):
        return None
    return float(rows.iloc[0])


def read_tiles(session: MartSession, as_of: date) -> Tiles:
    week_before = as_of - timedelta(days=TILE_WINDOW_DAYS)
    frame = daily_kpis(session, week_before, as_of)
    window = frame[frame["local_date"] > pd.Timestamp(week_before)]
    # The daily target applies to business days only: weekends and holidays add no target.
    business_days = (
        window["is_working_day"].fillna(False).astype(bool) & window["holiday_name"].isna()
    )
    delivered = window["delivered_shipments"].fillna(0).sum()
    on_time = window["on_time_shipments"].fillna(0).sum()
    late_before = _value_on(frame, week_before, "late_work_orders")
    below_reorder = session.query(
        "select count(*) as positions from fct_stock_positions where is_below_reorder_point"
    )
    return Tiles(
        as_of=as_of,
        revenue=float(window["revenue"].fillna(0).sum()),
        revenue_target=float(window.loc[business_days, "revenue_target"].fillna(0).sum()),
        on_time_rate=float(on_time / delivered) if delivered else None,
        on_time_rate_target=float(window["on_time_rate_target"].max()),
        overdue_receivables=_value_on(frame, as_of, "overdue_receivables") or 0.0,
        overdue_receivables_week_before=_value_on(frame, week_before, "overdue_receivables"),
        late_work_orders=int(_value_on(frame, as_of, "late_work_orders") or 0),
        late_work_orders_week_before=None if late_before is None else int(late_before),
        stock_outs=int(_value_on(frame, as_of, "stock_out_positions") or 0),
        below_reorder_point=int(below_reorder.loc[0, "positions"]),
    )


def weekly_trends(session: MartSession, as_of: date) -> pd.DataFrame:
    """Return one row per ISO week (indexed by its Monday) over the last TREND_WEEKS weeks."""
    first_monday = as_of - timedelta(days=as_of.weekday() + 7 * (TREND_WEEKS - 1))
    frame = daily_kpis(session, first_monday, as_of)
    frame["week"] = frame["local_date"] - pd.to_timedelta(frame["local_date"].dt.weekday, "D")
    frame["business_target"] = frame["revenue_target"].where(
        frame["is_working_day"].fillna(False).astype(bool) & frame["holiday_name"].isna(), 0
    )
    weeks = frame.groupby("week").agg(
        revenue=("revenue", "sum"),
        revenue_target=("business_target", "sum"),
        delivered=("delivered_shipments", "sum"),
        on_time=("on_time_shipments", "sum"),
        on_time_rate_target=("on_time_rate_target", "max"),
        overdue_receivables=("overdue_receivables", "last"),
        late_work_orders=("late_work_orders", "last"),
    )
    weeks["on_time_rate"] = weeks["on_time"] / weeks["delivered"].where(weeks["delivered"] > 0)
    return weeks.drop(columns=["delivered", "on_time"])


def late_deliveries_by_carrier(session: MartSession, first_day: date) -> pd.DataFrame:
    """Count, per carrier, shipments delivered late and shipments still out past their promise."""
    return session.query(
        """
        select
            c.carrier_name,
            count(*) filter (
                where s.is_late and s.delivered_local_date >= %(first_day)s
            ) as delivered_late,
            count(*) filter (
                where not s.is_delivered and s.promised_at < current_timestamp
            ) as overdue_in_transit
        from fct_shipments as s
        inner join dim_carriers as c on s.carrier_id = c.carrier_id
        group by c.carrier_name
        order by delivered_late + overdue_in_transit desc, c.carrier_name
        """,
        {"first_day": first_day},
    )


def overdue_shipments(session: MartSession) -> pd.DataFrame:
    """List undelivered shipments past their promised time, the oldest promise first."""
    return session.query(
        """
        select
            s.shipment_id, s.order_id, cu.customer_name, c.carrier_name,
            s.promised_local_date, s.shipped_at_local
        from fct_shipments as s
        inner join dim_carriers as c on s.carrier_id = c.carrier_id
        left join dim_customers as cu on s.customer_id = cu.customer_id
        where not s.is_delivered and s.promised_at < current_timestamp
        order by s.promised_at, s.shipment_id
        """
    )


def carrier_ranking(session: MartSession, first_week: date) -> pd.DataFrame:
    """Rank carriers by on-time rate in the zone since ``first_week``, with the company rate."""
    return session.query(
        """
        select
            carrier_name,
            sum(delivered_shipments) as delivered_shipments,
            sum(on_time_shipments) * 1.0
                / nullif(sum(delivered_shipments), 0) as on_time_rate,
            sum(carrier_company_on_time_rate * delivered_shipments)
                / nullif(sum(delivered_shipments), 0) as carrier_company_on_time_rate
        from fct_carrier_performance_weekly
        where week_start_date >= %(first_week)s
        group by carrier_name
        order by on_time_rate desc nulls last, carrier_name
        """,
        {"first_week": first_week},
    )


def production_progress(session: MartSession) -> pd.DataFrame:
    """List open work orders (planned or in progress), late ones first."""
    return session.query(
        """
        select
            w.work_order_id, p.product_name, w.work_order_status,
            w.planned_quantity, w.produced_quantity, w.progress_pct,
            w.planned_end_date, w.expected_completion_date, w.is_late
        from fct_work_orders as w
        left join dim_products as p on w.product_id = p.product_id
        where w.work_order_status in ('planned', 'in_progress')
        order by w.is_late desc, w.planned_end_date, w.work_order_id
        """
    )


def stock_below_reorder_point(session: MartSession) -> pd.DataFrame:
    """List stock positions below their reorder point, the fewest days of cover first."""
    return session.query(
        """
        select
            s.site_name, p.sku, p.product_name, s.available_quantity,
            s.reorder_point, s.days_of_cover, s.is_stock_out
        from fct_stock_positions as s
        left join dim_products as p on s.product_id = p.product_id
        where s.is_below_reorder_point
        order by s.is_stock_out desc, s.days_of_cover nulls first, s.site_name, p.sku
        """
    )


def overdue_invoices_by_bucket(session: MartSession) -> pd.DataFrame:
    """Sum outstanding amounts per ageing bucket, in AGEING_BUCKETS order, empty buckets as 0."""
    frame = session.query(
        """
        select ageing_bucket, count(*) as invoices, sum(outstanding_amount) as outstanding
        from fct_invoices
        where outstanding_amount > 0
        group by ageing_bucket
        """
    )
    frame = frame.set_index("ageing_bucket").reindex(list(AGEING_BUCKETS), fill_value=0)
    frame.index.name = "ageing_bucket"
    return frame
