"""The drill-down page: rows of one mart table, filtered, shown and exported as CSV."""

from __future__ import annotations

import streamlit as st

from dashboard import drilldown
from dashboard.frame import run_data_page
from dashboard.page_context import PageContext
from dashboard.translations import format_number

# Rendering more rows than this in the browser takes seconds; the export has them all.
MAX_SHOWN_ROWS = 1_000


def choose_selection(context: PageContext, dataset: drilldown.Dataset) -> drilldown.Selection:
    values: dict[str, tuple[str, ...]] = {}
    columns = st.columns(len(dataset.filters) + 1)
    for column, name in zip(columns, dataset.filters, strict=False):
        options = drilldown.filter_options(context.session, dataset, name)
        chosen = column.multiselect(
            context.text(f"filter_{name}"), options, key=f"{dataset.table}_{name}"
        )
        values[name] = tuple(chosen)
    bounds = drilldown.period_bounds(context.session, dataset)
    if bounds is None:
        return drilldown.Selection(values)
    period = columns[-1].date_input(
        context.text("period"),
        value=bounds,
        min_value=bounds[0],
        max_value=bounds[1],
        format="DD/MM/YYYY" if context.language == "fr" else "YYYY-MM-DD",
        key=f"{dataset.table}_period",
    )
    # While the user picks the second end of the range, the widget returns one date only.
    first_day = period[0] if len(period) > 0 else None
    last_day = period[1] if len(period) > 1 else None
    return drilldown.Selection(values, first_day, last_day)


def render(context: PageContext) -> None:
    table = st.selectbox(
        context.text("dataset"),
        list(drilldown.DATASETS),
        format_func=lambda name: context.text(f"table_{name}"),
        key="dataset",
    )
    dataset = drilldown.DATASETS[table]
    selection = choose_selection(context, dataset)
    rows = drilldown.read_rows(context.session, dataset, selection)
    language = context.language
    if len(rows) > drilldown.MAX_EXPORT_ROWS:
        rows = rows.head(drilldown.MAX_EXPORT_ROWS)
        st.warning(
            context.text("rows_truncated", limit=format_number(drilldown.MAX_EXPORT_ROWS, language))
        )
    elif len(rows) > MAX_SHOWN_ROWS:
        st.caption(
            context.text(
                "rows_shown",
                count=format_number(len(rows), language),
                shown=format_number(MAX_SHOWN_ROWS, language),
            )
        )
    else:
        st.caption(context.text("rows_found", count=format_number(len(rows), language)))
    st.dataframe(rows.head(MAX_SHOWN_ROWS), hide_index=True)
    st.download_button(
        context.text("export_csv"),
        drilldown.csv_export(rows),
        file_name=f"{context.zone.code}_{table}.csv",
        mime="text/csv",
        key="export_csv",
        on_click="ignore",
    )


# st.navigation runs this file as a script; importing it (from tests) renders nothing.
if __name__ == "__main__":
    run_data_page(render)
