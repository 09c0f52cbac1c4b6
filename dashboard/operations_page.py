"""The operations page: logistics, production, stock and overdue invoices of the zone."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import charts, indicators
from dashboard.frame import run_data_page
from dashboard.page_context import PageContext
from dashboard.translations import TEXTS, format_day


def _table(context: PageContext, frame) -> None:
    if frame.empty:
        st.caption(context.text("nothing"))
        return
    st.dataframe(context.with_headers(frame), hide_index=True)


def render_logistics(context: PageContext) -> None:
    st.header(context.text("logistics"))
    first_monday = context.as_of - timedelta(
        days=context.as_of.weekday() + 7 * (indicators.TREND_WEEKS - 1)
    )
    since = format_day(first_monday, context.language)
    late = indicators.late_deliveries_by_carrier(context.session, first_monday)
    st.subheader(context.text("late_by_carrier", day=since))
    if late[["delivered_late", "overdue_in_transit"]].to_numpy().sum() == 0:
        st.caption(context.text("nothing"))
    else:
        chart = charts.bars(
            context.with_headers(late.set_index("carrier_name")),
            context.language,
            category_title=context.text("carrier_name"),
            value_title=context.text("shipments"),
            horizontal=True,
            whole_numbers=True,
        )
        st.altair_chart(chart, width="stretch")
    st.subheader(context.text("overdue_shipments"))
    _table(context, indicators.overdue_shipments(context.session))
    st.subheader(context.text("carrier_ranking", day=since))
    ranking = indicators.carrier_ranking(context.session, first_monday)
    ranking["on_time_rate"] = ranking["on_time_rate"] * 100
    ranking["carrier_company_on_time_rate"] = ranking["carrier_company_on_time_rate"] * 100
    if ranking.empty:
        st.caption(context.text("nothing"))
    else:
        st.dataframe(
            context.with_headers(ranking),
            hide_index=True,
            column_config={
                context.text("on_time_rate"): st.column_config.ProgressColumn(
                    format="%.1f %%", min_value=0, max_value=100
                ),
                context.text("carrier_company_on_time_rate"): st.column_config.NumberColumn(
                    format="%.1f %%"
                ),
            },
        )


def render_production(context: PageContext) -> None:
    st.header(context.text("production"))
    work_orders = indicators.production_progress(context.session)
    late = int(work_orders["is_late"].fillna(False).astype(bool).sum())
    st.caption(context.text("open_work_orders", count=len(work_orders), late=late))
    if work_orders.empty:
        return
    work_orders["work_order_status"] = work_orders["work_order_status"].map(
        lambda status: context.text(f"status_{status}") if f"status_{status}" in TEXTS else status
    )
    st.dataframe(
        context.with_headers(work_orders),
        hide_index=True,
        column_config={
            context.text("progress_pct"): st.column_config.ProgressColumn(
                format="%.0f %%", min_value=0, max_value=100
            )
        },
    )


def render_stock(context: PageContext) -> None:
    st.header(context.text("stock"))
    _table(context, indicators.stock_below_reorder_point(context.session))


def bucket_label(context: PageContext, bucket: str) -> str:
    if bucket == "not_due":
        return context.text("bucket_not_due")
    return context.text("bucket_days", bucket=bucket)


def render_finance(context: PageContext) -> None:
    st.header(context.text("finance"))
    buckets = indicators.overdue_invoices_by_bucket(context.session)
    buckets.index = [bucket_label(context, bucket) for bucket in buckets.index]
    buckets.index.name = context.text("ageing_bucket")
    buckets = buckets.rename(
        columns={"outstanding": context.text("outstanding"), "invoices": context.text("invoices")}
    )
    chart = charts.bars(
        buckets[[context.text("outstanding")]],
        context.language,
        category_title=context.text("ageing_bucket"),
        value_title=context.zone.currency,
    )
    st.altair_chart(chart, width="stretch")
    st.dataframe(buckets)


def render(context: PageContext) -> None:
    if context.as_of is None:
        st.info(context.text("no_kpis"))
        return
    render_logistics(context)
    render_production(context)
    render_stock(context)
    render_finance(context)


# st.navigation runs this file as a script; importing it (from tests) renders nothing.
if __name__ == "__main__":
    run_data_page(render)
