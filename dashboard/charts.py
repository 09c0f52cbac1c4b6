"""Charts of the dashboard, with dates, numbers and legends written for the page's language.

Streamlit's own charts label axes the English way ("Oct 18", "200,000") and cut legend labels
longer than about twenty characters. These Altair charts print dates as day/month and numbers
with a narrow space between thousands and a decimal comma in French, and show legends whole.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

# strftime format of the week labels, per language.
DAY_FORMATS = {"fr": "%d/%m", "en": "%b %d"}
# Field names of the long tables the charts draw, whatever the headers shown.
CATEGORY, SERIES, VALUE = "category", "series", "value"


def number_labels(language: str) -> str | None:
    """Return the Vega expression printing an axis number in ``language``, None for English."""
    if language != "fr":
        return None
    grouped = "format(datum.value, ',')"
    spaced = f"replace({grouped}, regexp(',', 'g'), '\u202f')"
    return f"replace({spaced}, regexp('\\\\.', 'g'), ',')"


def _long(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` as rows of (category, series, value): its index, a column, a value."""
    wide = frame.copy()
    wide.index.name = CATEGORY
    return wide.reset_index().melt(id_vars=CATEGORY, var_name=SERIES, value_name=VALUE)


def _value_axis(title: str | None, language: str, whole_numbers: bool) -> alt.Axis:
    return alt.Axis(
        title=title,
        labelExpr=number_labels(language) or alt.Undefined,
        tickMinStep=1 if whole_numbers else alt.Undefined,
    )


def _legend(frame: pd.DataFrame) -> alt.Color:
    # The series keep the order of the frame's columns, in the legend and in the colours.
    return alt.Color(
        f"{SERIES}:N",
        sort=list(frame.columns),
        title=None,
        legend=alt.Legend(orient="bottom", labelLimit=0),
    )


def weekly_lines(
    frame: pd.DataFrame,
    language: str,
    week_title: str,
    unit: str | None = None,
    whole_numbers: bool = False,
) -> alt.Chart:
    """Return a line chart of each column of ``frame``, indexed by the Monday of each week."""
    long = _long(frame)
    long[CATEGORY] = pd.to_datetime(long[CATEGORY])
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                f"{CATEGORY}:T",
                axis=alt.Axis(title=week_title, format=DAY_FORMATS[language], labelAngle=0),
            ),
            y=alt.Y(f"{VALUE}:Q", axis=_value_axis(unit, language, whole_numbers)),
            color=_legend(frame),
            tooltip=[
                alt.Tooltip(f"{CATEGORY}:T", title=week_title, format=DAY_FORMATS[language]),
                alt.Tooltip(f"{SERIES}:N", title=" "),
                alt.Tooltip(f"{VALUE}:Q", title=unit or " "),
            ],
        )
    )


def bars(
    frame: pd.DataFrame,
    language: str,
    category_title: str,
    value_title: str | None = None,
    horizontal: bool = False,
    whole_numbers: bool = False,
) -> alt.Chart:
    """Return a bar chart stacking the columns of ``frame`` per index value, in index order."""
    long = _long(frame)
    category = alt.Y if horizontal else alt.X
    value = alt.X if horizontal else alt.Y
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            category(
                f"{CATEGORY}:N",
                sort=None,
                axis=alt.Axis(title=category_title, labelLimit=0, labelAngle=0),
            ),
            value(f"{VALUE}:Q", stack=True, axis=_value_axis(value_title, language, whole_numbers)),
            color=_legend(frame),
            tooltip=[
                alt.Tooltip(f"{CATEGORY}:N", title=category_title),
                alt.Tooltip(f"{SERIES}:N", title=" "),
                alt.Tooltip(f"{VALUE}:Q", title=value_title or " "),
            ],
        )
    )
