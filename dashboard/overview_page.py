"""The overview page: KPI tiles against the zone's targets, and weekly trends."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, indicators
from dashboard.frame import run_data_page
from dashboard.page_context import PageContext
from dashboard.translations import (
    format_amount,
    format_day,
    format_number,
    format_points,
    format_rate,
)


def _signed(text: str, value: float) -> str:
    # st.metric colours the delta by its leading sign, so positive values need an explicit "+".
    return f"+{text}" if value > 0 else text


def render_tiles(context: PageContext, tiles: indicators.Tiles) -> None:
    language, currency = context.language, context.zone.currency
    # Two rows of three: five columns cut amounts such as "1 234 567 EUR" short at 1400 px.
    columns = [*st.columns(3), *st.columns(3)]
    revenue_gap = tiles.revenue - tiles.revenue_target
    columns[0].metric(
        context.text("tile_revenue"),
        format_amount(tiles.revenue, currency, language),
        context.text(
            "vs_target",
            delta=_signed(format_amount(revenue_gap, currency, language), revenue_gap),
            target=format_amount(tiles.revenue_target, currency, language),
        ),
        border=True,
    )
    if tiles.on_time_rate is None:
        columns[1].metric(
            context.text("tile_on_time"),
            "—",
            context.text("no_delivery"),
            delta_color="off",
            border=True,
        )
    else:
        gap = tiles.on_time_rate - tiles.on_time_rate_target
        columns[1].metric(
            context.text("tile_on_time"),
            format_rate(tiles.on_time_rate, language),
            context.text(
                "vs_target",
                delta=_signed(format_points(gap, language), gap),
                target=format_rate(tiles.on_time_rate_target, language),
            ),
            border=True,
        )
    overdue_change = None
    if tiles.overdue_receivables_week_before is not None:
        change = tiles.overdue_receivables - tiles.overdue_receivables_week_before
        overdue_change = context.text(
            "vs_week_before", delta=_signed(format_amount(change, currency, language), change)
        )
    columns[2].metric(
        context.text("tile_overdue"),
        format_amount(tiles.overdue_receivables, currency, language),
        overdue_change,
        delta_color="inverse",
        border=True,
    )
    late_change = None
    if tiles.late_work_orders_week_before is not None:
        change = tiles.late_work_orders - tiles.late_work_orders_week_before
        late_change = context.text(
            "vs_week_before", delta=_signed(format_number(change, language), change)
        )
    columns[3].metric(
        context.text("tile_late_work_orders"),
        format_number(tiles.late_work_orders, language),
        late_change,
        delta_color="inverse",
        border=True,
    )
    columns[4].metric(
        context.text("tile_stock_outs"),
        format_number(tiles.stock_outs, language),
        border=True,
    )
    columns[5].metric(
        context.text("tile_below_reorder"),
        format_number(tiles.below_reorder_point, language),
        border=True,
    )


def render_trends(context: PageContext) -> None:
    weeks = indicators.weekly_trends(context.session, context.as_of)
    st.subheader(context.text("trends", weeks=indicators.TREND_WEEKS))
    weeks["on_time_rate"] *= 100
    weeks["on_time_rate_target"] *= 100
    trends = [
        ("tile_revenue", ["revenue", "revenue_target"], context.zone.currency),
        ("tile_on_time", ["on_time_rate", "on_time_rate_target"], "%"),
        ("tile_overdue", ["overdue_receivables"], context.zone.currency),
        ("tile_late_work_orders", ["late_work_orders"], None),
    ]
    columns = [*st.columns(2), *st.columns(2)]
    for column, (title, series, unit) in zip(columns, trends, strict=True):
        column.markdown(f"**{context.text(title)}**")
        chart = charts.weekly_lines(
            context.with_headers(weeks[series]),
            context.language,
            week_title=context.text("week"),
            unit=unit,
            whole_numbers=title == "tile_late_work_orders",
        )
        column.altair_chart(chart, width="stretch")


def render(context: PageContext) -> None:
    if context.as_of is None:
        st.info(context.text("no_kpis"))
        return
    st.caption(
        context.text(
            "kpis_as_of",
            day=format_day(context.as_of, context.language),
            days=indicators.TILE_WINDOW_DAYS,
        )
    )
    render_tiles(context, indicators.read_tiles(context.session, context.as_of))
    render_trends(context)


# st.navigation runs this file as a script; importing it (from tests) renders nothing.
if __name__ == "__main__":
    run_data_page(render)
