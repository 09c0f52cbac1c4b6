"""End-to-end: the real main job on a small demo, then one simulated business hour and a rerun.

Runs ``zone-marts demo`` and ``zone-marts refresh`` as a user would, each in its own process,
against a temporary data folder, marts folder and Dagster instance.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dagster_project.zones import load_zones

pytestmark = pytest.mark.slow

DEMO_SCALE = "0.05"
DOMAIN_TABLES = ("fct_order_lines", "fct_shipments", "fct_work_orders", "fct_invoices")
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("end_to_end")
    (root / "dagster_home").mkdir()
    (root / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ZONE_MARTS_", "BASE_OPERATION_", "WAREHOUSE_"))
    }
    env.update(
        ZONE_MARTS_DATA_DIR=str(root / "data"),
        ZONE_MARTS_DIR=str(root / "marts"),
        DAGSTER_HOME=str(root / "dagster_home"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def run_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        [str(BIN / "zone-marts"), *args], env=env, capture_output=True, text=True, timeout=1200
    )
    assert completed.returncode == 0, (
        f"zone-marts {' '.join(args)} exited {completed.returncode}\n"
        f"stdout:\n{completed.stdout[-4000:]}\nstderr:\n{completed.stderr[-4000:]}"
    )
    return completed


def source_net_amount_by_zone(source_path: Path) -> dict[str, Decimal]:
    """Sum of order-line net amounts per zone, each line rounded half up to the cent."""
    with sqlite3.connect(source_path) as connection:
        rows = connection.execute(
            """
            select c.zone_code, l.quantity, cast(l.unit_price as text),
                   cast(l.discount_rate as text)
            from sales_order_lines l
            join sales_orders o using (order_id)
            join customers c using (customer_id)
            """
        ).fetchall()
    totals: dict[str, Decimal] = {}
    for zone_code, quantity, unit_price, discount_rate in rows:
        gross = quantity * Decimal(unit_price)
        net = (gross * (1 - Decimal(discount_rate))).quantize(Decimal("0.01"), ROUND_HALF_UP)
        totals[zone_code] = totals.get(zone_code, Decimal(0)) + net
    return totals


def mart_net_amount(mart_path: Path) -> Decimal:
    with duckdb.connect(str(mart_path), read_only=True) as connection:
        total = connection.execute(
            "select coalesce(sum(net_amount), 0) from fct_order_lines"
        ).fetchall()[0][0]
    return Decimal(str(total))


def mart_order_ids(mart_path: Path) -> set[int]:
    with duckdb.connect(str(mart_path), read_only=True) as connection:
        rows = connection.execute("select distinct order_id from fct_order_lines").fetchall()
    return {order_id for (order_id,) in rows}


def latest_extract_metadata(env: dict[str, str], table: str) -> dict:
    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    event = instance.get_latest_materialization_event(dg.AssetKey(["base_operation", table]))
    assert event is not None, f"no materialization recorded for base_operation/{table}"
    metadata = event.asset_materialization.metadata
    return {key: value.value for key, value in metadata.items()}


@pytest.fixture(scope="module")
def first_run(environment):
    return run_command(environment, "demo", "--scale", DEMO_SCALE)


def test_demo_publishes_every_zone(first_run, environment):
    marts = Path(environment["ZONE_MARTS_DIR"])
    for zone in load_zones():
        assert f"[{zone.code}]: published" in first_run.stdout
        mart = marts / f"{zone.code}.duckdb"
        assert mart.exists(), f"{mart} was not published"
        with duckdb.connect(str(mart), read_only=True) as connection:
            for table in DOMAIN_TABLES:
                count = connection.execute(f"select count(*) from {table}").fetchall()[0][0]
                assert count > 0, f"{zone.code}: {table} is empty"


def test_demo_order_amounts_match_source(first_run, environment):
    source = Path(environment["ZONE_MARTS_DATA_DIR"]) / "base_operation.sqlite"
    expected = source_net_amount_by_zone(source)
    marts = Path(environment["ZONE_MARTS_DIR"])
    for zone in load_zones():
        assert mart_net_amount(marts / f"{zone.code}.duckdb") == expected[zone.code], zone.code


def source_order_ids_with_lines(source_path: Path) -> set[int]:
    with sqlite3.connect(source_path) as connection:
        rows = connection.execute("select distinct order_id from sales_order_lines").fetchall()
    return {order_id for (order_id,) in rows}


def test_refresh_after_simulate_reads_only_changes(first_run, environment):
    source = Path(environment["ZONE_MARTS_DATA_DIR"]) / "base_operation.sqlite"
    marts = Path(environment["ZONE_MARTS_DIR"])
    zones = load_zones()
    orders_before = source_order_ids_with_lines(source)

    run_command(environment, "simulate", "--seed", "7")
    orders_after_simulate = source_order_ids_with_lines(source)
    new_orders = orders_after_simulate - orders_before
    emptied_orders = orders_before - orders_after_simulate
    with sqlite3.connect(source) as connection:
        line_count = connection.execute("select count(*) from sales_order_lines").fetchone()[0]
    assert new_orders, "simulate created no order"
    assert emptied_orders, "simulate hard-deleted no order line"

    run_command(environment, "refresh")

    metadata = latest_extract_metadata(environment, "sales_order_lines")
    assert metadata["rows_read"] > 0, metadata
    assert metadata["rows_read"] < line_count / 5, metadata
    published_orders: set[int] = set()
    for zone in zones:
        published_orders |= mart_order_ids(marts / f"{zone.code}.duckdb")
    assert new_orders <= published_orders, "new orders are missing from the marts"
    assert not emptied_orders & published_orders, "hard-deleted order lines are still published"
    expected = source_net_amount_by_zone(source)
    for zone in zones:
        assert mart_net_amount(marts / f"{zone.code}.duckdb") == expected[zone.code], zone.code
