"""The zone dashboard driven in-process with Streamlit's AppTest, on small marts built here."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest
from test_dashboard_marts import CUSTOMERS, build_zone_mart

from dagster_project.dashboard_commands import build_streamlit_command
from dagster_project.settings import PROJECT_DIR
from dagster_project.zones import load_zones
from dashboard.translations import format_amount, translate

APP = PROJECT_DIR / "dashboard" / "app.py"
ZONES = {zone.code: zone for zone in load_zones()}
TILE_KEYS = (
    "tile_revenue",
    "tile_on_time",
    "tile_overdue",
    "tile_late_work_orders",
    "tile_stock_outs",
    "tile_below_reorder",
)


@pytest.fixture
def marts_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ZONE_MARTS_DIR", str(tmp_path / "marts"))
    monkeypatch.delenv("ZONE_MARTS_MODE", raising=False)
    monkeypatch.setenv("ZONE_MARTS_DASHBOARD_ZONE", "idf")
    return tmp_path / "marts"


@pytest.fixture
def published(marts_dir) -> Path:
    recent = datetime.now(UTC) - timedelta(minutes=5)
    for code in ("idf", "reunion"):
        build_zone_mart(marts_dir, ZONES[code], published_at=recent)
    return marts_dir


def run_app(page: str | None = None) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    if page:
        app.switch_page(page).run()
    assert not app.exception, [error.value for error in app.exception]
    return app


def test_overview_shows_banner_and_tiles(published):
    app = run_app()
    (banner,) = app.success
    assert banner.value.startswith("Données validées le ")
    assert translate("status_fresh", "fr") in banner.value
    assert "2 contrôles réussis" in banner.value
    assert [metric.label for metric in app.metric] == [translate(k, "fr") for k in TILE_KEYS]


def test_revenue_tile_sums_last_seven_days(published):
    with duckdb.connect(str(published / "idf.duckdb"), read_only=True) as connection:
        (expected,) = connection.execute(
            "select sum(revenue) from fct_zone_daily_kpis "
            "where local_date > (select max(local_date) from fct_zone_daily_kpis) - 7"
        ).fetchall()[0]
    app = run_app()
    assert app.metric[0].value == format_amount(float(expected), "EUR", "fr")


def test_banner_shows_local_time_of_zone(published, monkeypatch):
    published_at = datetime.now(UTC) - timedelta(minutes=5)
    build_zone_mart(published, ZONES["reunion"], published_at=published_at)
    monkeypatch.setenv("ZONE_MARTS_DASHBOARD_ZONE", "reunion")
    local = published_at.astimezone(ZONES["reunion"].tz).strftime("%H:%M")
    (banner,) = run_app().success
    assert f"à {local} (heure locale, Indian/Reunion)" in banner.value


def test_old_publish_shows_late_banner(marts_dir):
    build_zone_mart(marts_dir, ZONES["idf"], published_at=datetime.now(UTC) - timedelta(days=3))
    app = run_app()
    assert not app.success
    (banner,) = app.error
    assert "en retard" in banner.value


def test_empty_publish_log_warns(marts_dir):
    build_zone_mart(marts_dir, ZONES["idf"], published_at=None)
    app = run_app()
    assert [warning.value for warning in app.warning] == [translate("log_empty", "fr")]
    assert len(app.metric) == len(TILE_KEYS)


def test_missing_mart_explains(marts_dir):
    app = run_app()
    (warning,) = app.warning
    assert "ne sont pas encore publiées" in warning.value
    assert str(marts_dir / "idf.duckdb") in warning.value
    assert not app.metric


def test_other_zones_mart_is_refused(published):
    # A copy of La Réunion's mart under idf's name showed La Réunion's rows as idf's, under a
    # green "validated" banner.
    shutil.copy(published / "reunion.duckdb", published / "idf.duckdb")
    app = run_app()
    (error,) = app.error
    assert "published for zone reunion, not for zone idf" in error.value
    assert not app.success
    assert not app.metric


def test_damaged_mart_explains(published):
    (published / "idf.duckdb").write_bytes(b"not a database" * 100)
    app = run_app()
    (error,) = app.error
    assert "ne peuvent pas être affichées" in error.value
    assert "is not a DuckDB database file" in error.value
    assert not app.metric


def test_unknown_zone_stops(published, monkeypatch):
    monkeypatch.setenv("ZONE_MARTS_DASHBOARD_ZONE", "atlantis")
    app = run_app()
    (error,) = app.error
    assert "atlantis" in error.value
    assert not app.metric


def test_missing_zone_stops(published, monkeypatch):
    monkeypatch.delenv("ZONE_MARTS_DASHBOARD_ZONE")
    app = run_app()
    assert [error.value for error in app.error] == [translate("zone_missing", "fr")]


def test_english_switches_labels(published):
    app = run_app()
    app.sidebar.radio(key="language").set_value("en").run()
    assert app.title[0].value == "Dashboard — Île-de-France"
    assert [metric.label for metric in app.metric] == [translate(k, "en") for k in TILE_KEYS]
    assert app.success[0].value.startswith("Data validated on ")


def test_no_widget_switches_zone(published):
    app = run_app()
    widgets = [*app.selectbox, *app.radio, *app.multiselect, *app.sidebar.selectbox]
    options = {str(option) for widget in widgets for option in widget.options}
    assert not options & set(ZONES), sorted(options & set(ZONES))


def test_operations_lists_overdue_shipment(published):
    app = run_app("operations_page.py")
    headers = [header.value for header in app.header]
    assert headers == [
        translate(key, "fr") for key in ("logistics", "production", "stock", "finance")
    ]
    tables = [frame.value for frame in app.dataframe]
    overdue = tables[0]
    assert list(overdue[translate("customer_name", "fr")]) == ["Brasserie Montmartre"]


def test_operations_ranks_carriers(published):
    app = run_app("operations_page.py")
    ranking = app.dataframe[1].value
    assert list(ranking[translate("carrier_name", "fr")]) == ["Express Seine", "Transports Alizé"]


def test_details_filter_by_customer(published):
    app = run_app("details_page.py")
    assert len(app.dataframe[0].value) == 6
    app.multiselect(key="fct_order_lines_customer").select("Atelier Lutèce").run()
    rows = app.dataframe[0].value
    assert set(rows["customer_name"]) == {"Atelier Lutèce"}
    assert len(rows) == 2
    assert app.download_button(key="export_csv").proto.url.endswith(".csv")


def test_details_filter_by_carrier(published):
    app = run_app("details_page.py")
    app.selectbox(key="dataset").set_value("fct_shipments").run()
    app.multiselect(key="fct_shipments_carrier").select("Express Seine").run()
    rows = app.dataframe[0].value
    assert list(rows["shipment_id"]) == [1002]


def test_details_show_only_own_zone(published):
    app = run_app("details_page.py")
    for table in ("fct_order_lines", "fct_shipments", "fct_invoices", "fct_payments"):
        app.selectbox(key="dataset").set_value(table).run()
        displayed = set(app.dataframe[0].value["customer_name"].dropna())
        assert displayed, table
        assert displayed <= set(CUSTOMERS["idf"]), (table, displayed)


def test_guide_renders_in_french(published):
    app = run_app("guide_page.py")
    assert app.markdown[0].value.startswith("# Guide du tableau de bord de zone")


def test_command_binds_localhost_without_stats():
    command = build_streamlit_command("reunion", 8600)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--browser.gatherUsageStats") + 1] == "false"
    assert command[command.index("--server.headless") + 1] == "true"
    assert command[command.index("--server.port") + 1] == "8600"
    assert command[-3:] == ["--", "--zone", "reunion"]


def test_operations_work_order_status_in_french(published):
    # The table showed the mart's own values, such as 'in_progress', on the French page.
    app = run_app("operations_page.py")
    production = app.dataframe[2].value
    statuses = set(production[translate("work_order_status", "fr")])
    assert translate("status_in_progress", "fr") in statuses
    assert "in_progress" not in statuses
