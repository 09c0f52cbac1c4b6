"""Dashboard charts: dates, numbers and legends written for the page's language."""

from __future__ import annotations

import pandas as pd

from dashboard.charts import bars, number_labels, weekly_lines

WEEKS = pd.DataFrame(
    {"Chiffre d'affaires": [1234.5, 2000.0], "Objectif": [1500.0, 1500.0]},
    index=pd.to_datetime(["2026-10-12", "2026-10-19"]).date,
)


def encoding(chart) -> dict:
    return chart.to_dict()["encoding"]


def test_french_axis_formats():
    # Streamlit's line charts wrote "Oct 18" and "200,000" on the French pages.
    spec = encoding(weekly_lines(WEEKS, "fr", week_title="Semaine", unit="EUR"))
    assert spec["x"]["axis"]["format"] == "%d/%m"
    assert spec["x"]["axis"]["title"] == "Semaine"
    assert spec["y"]["axis"]["labelExpr"] == number_labels("fr")
    assert "\u202f" in number_labels("fr")
    assert spec["y"]["axis"]["title"] == "EUR"


def test_english_number_defaults():
    spec = encoding(weekly_lines(WEEKS, "en", week_title="Week"))
    assert spec["x"]["axis"]["format"] == "%b %d"
    assert "labelExpr" not in spec["y"]["axis"]


def test_legend_whole_in_column_order():
    # Streamlit cut "Non livrées, promesse dépassée" to "Non livrées, promesse dé...".
    frame = pd.DataFrame(
        {"Livrées en retard": [3, 1], "Non livrées, promesse dépassée": [1, 0]},
        index=pd.Index(["Fret Atlantique", "Transports Bréval"], name="Transporteur"),
    )
    chart = bars(frame, "fr", category_title="Transporteur", horizontal=True, whole_numbers=True)
    spec = encoding(chart)
    assert spec["color"]["legend"]["labelLimit"] == 0
    assert spec["color"]["sort"] == list(frame.columns)
    assert spec["y"]["sort"] is None
    assert spec["x"]["axis"]["tickMinStep"] == 1
    rows = chart.to_dict()["datasets"]
    (values,) = rows.values()
    assert {row["category"] for row in values} == {"Fret Atlantique", "Transports Bréval"}
    assert sum(row["value"] for row in values) == 5
