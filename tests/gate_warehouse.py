"""A small synthetic warehouse for the gate tests: raw order tables and three mart tables.

The marts are derived from the raw tables with the same net-amount rule as dbt, so every zone
reconciles until a test breaks something on purpose.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project.gate.assets import build_gate_definitions
from dagster_project.pipeline import build_jobs
from dagster_project.resources import WarehouseResource
from dagster_project.settings import EXPECTATIONS_DIR, Settings
from dagster_project.zones import load_zones

ZONE_CODES = ("idf", "hdf", "reunion")
ORDERS_PER_ZONE = 200
SUITE_TABLES = ("dim_carriers", "fct_order_lines", "fct_shipments")

BUILD_SQL = f"""
SET TimeZone = 'UTC';
CREATE SCHEMA raw;
CREATE SCHEMA marts;
CREATE TEMP TABLE zone_codes AS
    SELECT * FROM (VALUES {", ".join(f"({k}, '{z}')" for k, z in enumerate(ZONE_CODES))})
    AS t (k, zone_code);
CREATE TABLE raw.customers AS
    SELECT k * 1000 + i AS customer_id, zone_code FROM zone_codes, range(10) AS r (i);
CREATE TABLE raw.sales_orders AS
    SELECT k * 100000 + j AS order_id, k * 1000 + j % 10 AS customer_id,
           TIMESTAMPTZ '2026-11-01 08:00:00+00' + j * INTERVAL 1 HOUR AS ordered_at
    FROM zone_codes, range({ORDERS_PER_ZONE}) AS r (j);
CREATE TABLE raw.sales_order_lines AS
    SELECT order_id, 1 AS line_number, (1 + order_id % 5)::INTEGER AS quantity,
           (10.25 + order_id % 7)::DECIMAL(12, 2) AS unit_price,
           0.05::DECIMAL(5, 4) AS discount_rate
    FROM raw.sales_orders;
CREATE TABLE raw._extract_state (table_name VARCHAR, watermark TIMESTAMPTZ);
INSERT INTO raw._extract_state VALUES ('sales_orders', TIMESTAMPTZ '2026-11-10 00:00+00');
CREATE TABLE marts.fct_order_lines AS
    SELECT l.order_id || '|' || l.line_number AS order_line_key, l.order_id, l.line_number,
           c.zone_code, o.customer_id, 1 AS product_id, o.ordered_at, 'web' AS channel,
           'confirmed' AS order_status, l.quantity, l.unit_price, l.discount_rate,
           round(l.quantity * l.unit_price, 2) AS gross_amount,
           round(l.quantity * l.unit_price * (1 - l.discount_rate), 2) AS net_amount,
           round(l.quantity * 5.0, 2) AS cost_amount, 0.3 AS margin_rate,
           (o.ordered_at AT TIME ZONE 'Europe/Paris')::DATE AS order_local_date,
           hour(o.ordered_at AT TIME ZONE 'Europe/Paris') AS order_local_hour
    FROM raw.sales_order_lines AS l
    JOIN raw.sales_orders AS o USING (order_id)
    JOIN raw.customers AS c USING (customer_id);
CREATE TABLE marts.fct_shipments AS
    SELECT order_id AS shipment_id, order_id, zone_code, 1 AS carrier_id,
           ordered_at + INTERVAL 3 DAY AS promised_at,
           ordered_at + INTERVAL 1 DAY AS shipped_at,
           ordered_at + INTERVAL 2 DAY AS delivered_at,
           (ordered_at + INTERVAL 3 DAY)::DATE AS promised_local_date,
           (ordered_at + INTERVAL 2 DAY)::DATE AS delivered_local_date,
           3 AS delivery_sla_days, TRUE AS is_delivered
    FROM marts.fct_order_lines;
CREATE TABLE marts.dim_carriers AS
    SELECT * FROM (VALUES (1, 'Transports Martin'), (2, 'Rapide Sud')) AS t (carrier_id,
    carrier_name);
"""


def build_warehouse(path: Path) -> Path:
    """Create the synthetic warehouse DuckDB file at ``path``."""
    with duckdb.connect(str(path)) as connection:
        connection.execute(BUILD_SQL)
    return path


def copy_suites(directory: Path) -> Path:
    """Copy the project's suites of the synthetic mart tables into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for table in SUITE_TABLES:
        shutil.copy(EXPECTATIONS_DIR / f"{table}.json", directory / f"{table}.json")
    return directory


def execute(path: Path, sql: str) -> None:
    """Run ``sql`` against the warehouse, in UTC."""
    with duckdb.connect(str(path)) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(sql)


def inject_bad_rows(path: Path, zone_code: str) -> None:
    """Break one zone's marts: a NULL key, negative quantities, delivered before shipped, 2099."""
    execute(
        path,
        f"""
        UPDATE marts.fct_order_lines SET order_line_key = NULL
        WHERE order_id = (SELECT min(order_id) FROM marts.fct_order_lines
                          WHERE zone_code = '{zone_code}');
        UPDATE marts.fct_order_lines SET quantity = -quantity
        WHERE zone_code = '{zone_code}' AND order_id % 10 = 3;
        UPDATE marts.fct_shipments SET delivered_at = shipped_at - INTERVAL 5 HOUR
        WHERE zone_code = '{zone_code}' AND order_id % 10 = 4;
        UPDATE marts.fct_order_lines SET ordered_at = TIMESTAMPTZ '2099-01-01 00:00+00'
        WHERE zone_code = '{zone_code}' AND order_id % 10 = 5;
        """,
    )


def publish_definitions(settings: Settings, expectations_dir: Path) -> dg.Definitions:
    """Return the gate assets for zones idf and hdf with the project's publish_zones job."""
    zones = [zone for zone in load_zones() if zone.code in ("idf", "hdf")]
    _, publish_job = build_jobs(zones)
    return dg.Definitions.merge(
        build_gate_definitions(zones, settings, copy_suites(expectations_dir)),
        dg.Definitions(
            jobs=[publish_job],
            resources={"warehouse": WarehouseResource(path=str(settings.warehouse_path))},
            executor=dg.in_process_executor,
        ),
    )
