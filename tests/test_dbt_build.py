"""dbt build on DuckDB and PostgreSQL from the same landed rows, and the marts they produce."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal

import dbt_raw_data as raw
import duckdb
import psycopg
import pytest

from dagster_project.transform.marts import mart_model_names

MART_TABLES = mart_model_names()
READER_ROLE_PREFIX = "zm_marts_reader_"


@pytest.fixture(scope="module")
def duckdb_warehouse(tmp_path_factory):
    """Build a DuckDB warehouse with one dbt build and return its path."""
    work_dir = tmp_path_factory.mktemp("dbt_duckdb")
    path = work_dir / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        raw.write_zone_context_duckdb(connection)
        raw.write_duckdb(connection, raw.base_rows())
    result = raw.run_dbt(["build"], raw.dbt_env(warehouse_path=path), work_dir)
    assert result.returncode == 0, result.stdout[-4000:]
    return path


@pytest.fixture(scope="module")
def postgres_warehouse(postgres_admin_url, tmp_path_factory):
    """Build a PostgreSQL warehouse with one dbt build and yield its URL, then drop it.

    The marts are granted to a reader role created for the module and dropped with the database.
    """
    suffix = uuid.uuid4().hex[:10]
    name = f"zm_dbt_{suffix}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        connection.execute(f'CREATE ROLE "{READER_ROLE_PREFIX}{suffix}"')
    url = f"{postgres_admin_url.rpartition('/')[0]}/{name}"
    dbt_vars = {"marts_reader_role": f"{READER_ROLE_PREFIX}{suffix}"}
    try:
        raw.write_zone_context_postgres(url)
        raw.write_postgres(url, raw.base_rows())
        work_dir = tmp_path_factory.mktemp("dbt_postgres")
        env = raw.dbt_env(postgres_url=url)
        result = raw.run_dbt(["build"], env, work_dir, dbt_vars)
        assert result.returncode == 0, result.stdout[-4000:]
        # A second, incremental run merges every row again (all are inside the lookback), so the
        # comparison with DuckDB's single full build also covers the PostgreSQL merge path.
        incremental = ["run", "--select", "config.materialized:incremental"]
        result = raw.run_dbt(incremental, env, work_dir, dbt_vars)
        assert result.returncode == 0, result.stdout[-4000:]
        yield url
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'DROP ROLE IF EXISTS "{READER_ROLE_PREFIX}{suffix}"')


def duckdb_rows(path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def normalized(value):
    """Compare values across engines: decimals and floats to 4 places, instants as UTC."""
    if isinstance(value, float | Decimal):
        return round(float(value), 4)
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.timestamp()
    return value


@pytest.mark.postgres
@pytest.mark.parametrize("table", MART_TABLES)
def test_marts_equal_on_duckdb_and_postgres(table, duckdb_warehouse, postgres_warehouse):
    with duckdb.connect(str(duckdb_warehouse), read_only=True) as connection:
        columns = [row[0] for row in connection.execute(f"describe marts.{table}").fetchall()]
    order = ", ".join(str(position) for position in range(1, len(columns) + 1))
    sql = f"select {', '.join(columns)} from marts.{table} order by {order}"
    expected = [tuple(map(normalized, row)) for row in duckdb_rows(duckdb_warehouse, sql)]
    with psycopg.connect(postgres_warehouse) as connection:
        actual = [tuple(map(normalized, row)) for row in connection.execute(sql).fetchall()]
    assert len(expected) > 0
    assert actual == expected


def test_reunion_date_ahead_of_paris(duckdb_warehouse):
    rows = duckdb_rows(
        duckdb_warehouse,
        "select zone_code, order_local_date, order_local_hour from marts.fct_order_lines "
        "where order_id in (1000, 1001) and line_number = 1 order by zone_code",
    )
    assert rows == [("idf", date(2026, 3, 10), 23), ("reunion", date(2026, 3, 11), 2)]


def test_public_holiday_not_counted_as_working_day(duckdb_warehouse):
    # Ordered Tuesday 28 April and delivered Monday 4 May. Friday 1 May is a holiday.
    rows = duckdb_rows(
        duckdb_warehouse,
        "select delivery_working_days, is_on_time from marts.fct_shipments "
        "where shipment_id = 5002",
    )
    assert rows == [(3, True)]


def test_daily_kpis_carry_holiday_name(duckdb_warehouse):
    rows = duckdb_rows(
        duckdb_warehouse,
        "select is_working_day, holiday_name from marts.fct_zone_daily_kpis "
        "where zone_code = 'hdf' and local_date = date '2026-05-01'",
    )
    assert rows == [(False, "Fête du Travail")]


def test_revenue_target_only_on_working_days(duckdb_warehouse):
    # A target on a public holiday or a Sunday made revenue_vs_target read as a missed day.
    rows = duckdb_rows(
        duckdb_warehouse,
        "select local_date, revenue_target is null, revenue_vs_target is null "
        "from marts.fct_zone_daily_kpis where zone_code = 'hdf' and local_date in "
        "(date '2026-05-01', date '2026-05-03', date '2026-05-04') order by local_date",
    )
    assert rows == [
        (date(2026, 5, 1), True, True),
        (date(2026, 5, 3), True, True),
        (date(2026, 5, 4), False, False),
    ]


def test_overdue_receivables_follow_payments(duckdb_warehouse):
    rows = duckdb_rows(
        duckdb_warehouse,
        "select local_date, overdue_receivables from marts.fct_zone_daily_kpis "
        "where zone_code = 'reunion' and local_date in "
        "(date '2026-04-11', date '2026-04-12', date '2026-04-21') order by local_date",
    )
    # 121.89 was due on 11 April. 60.00 was paid at 21:30 UTC on 20 April, 21 April in La Réunion.
    # Invoice 9003, overpaid by 20.00 before 1 April, lowers none of these balances.
    assert rows == [
        (date(2026, 4, 11), Decimal("0.00")),
        (date(2026, 4, 12), Decimal("121.89")),
        (date(2026, 4, 21), Decimal("61.89")),
    ]


def test_invoice_ageing_bucket(duckdb_warehouse):
    rows = duckdb_rows(
        duckdb_warehouse,
        "select invoice_id, outstanding_amount, days_overdue, ageing_bucket "
        "from marts.fct_invoices order by invoice_id",
    )
    assert rows == [
        (9000, Decimal("0.00"), 0, "settled"),
        (9001, Decimal("61.89"), 80, "61-90"),
        (9002, Decimal("234.00"), 27, "1-30"),
        (9003, Decimal("0.00"), 0, "settled"),
    ]


def test_docs_describe_every_mart_column(duckdb_warehouse, tmp_path):
    result = raw.run_dbt(
        ["docs", "generate"], raw.dbt_env(warehouse_path=duckdb_warehouse), tmp_path
    )
    assert result.returncode == 0, result.stdout[-4000:]
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text())
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "model":
            continue
        built = set(catalog["nodes"][unique_id]["columns"])
        documented = {
            name
            for name, column in node["columns"].items()
            if column.get("description") and column.get("meta", {}).get("label_fr")
        }
        assert node["description"], node["name"]
        assert built - documented == set(), node["name"]


@pytest.mark.postgres
def test_postgres_marts_granted_to_reader(postgres_warehouse):
    with psycopg.connect(postgres_warehouse) as connection:
        rows = connection.execute(
            "select table_name from information_schema.role_table_grants "
            "where table_schema = 'marts' and privilege_type = 'SELECT' "
            "and grantee like %s order by table_name",
            (READER_ROLE_PREFIX + "%",),
        ).fetchall()
    assert [table for (table,) in rows] == sorted(MART_TABLES)
