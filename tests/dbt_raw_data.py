"""A small hand-made Base Opération landed in ``raw``, written identically to DuckDB and PostgreSQL.

The rows cover the cases the marts must get right. An order placed at 22:30 UTC falls on the
same local day in Paris but on the next day in La Réunion. One delivery spans the 1 May public
holiday. There are a paid, a part-paid and an overdue invoice, a late work order and a stock-out.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg

from dagster_project.context import writer as context_writer
from dagster_project.context.tables import build_zone_calendar, build_zone_settings
from dagster_project.settings import DBT_PROJECT_DIR, PROJECT_DIR, load_settings
from dagster_project.transform.environment import DBT_EXECUTABLE, dbt_environment
from dagster_project.zones import load_zones

SCHEMA_FILE = PROJECT_DIR / "dagster_project" / "demo" / "schema.sql"
LOADED_AT = datetime(2026, 6, 30, 6, 0, tzinfo=UTC)
# The instant dbt treats as "now" in these tests (var as_of).
AS_OF = "2026-06-30T12:00:00+00:00"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def landing_columns() -> dict[str, list[tuple[str, str]]]:
    """Table name to (column, landing type) from the source DDL, plus _loaded_at."""
    tables = {}
    for name, body in re.findall(r"CREATE TABLE (\w+) \((.*?)\n\);", SCHEMA_FILE.read_text(), re.S):
        columns = []
        for line in body.splitlines():
            words = line.strip().rstrip(",").split()
            if not words or words[0] in ("PRIMARY", "--"):
                continue
            sql_type = " ".join(words[1:3]) if words[1].startswith("NUMERIC(") else words[1]
            sql_type = sql_type.replace("NUMERIC", "DECIMAL").replace("TEXT", "VARCHAR")
            columns.append((words[0], sql_type.rstrip(",")))
        tables[name] = [*columns, ("_loaded_at", "TIMESTAMPTZ")]
    return tables


def _day(text: str) -> date:
    return date.fromisoformat(text)


# updated_at of every row unless a case needs another.
U = utc("2026-06-01T00:00:00")


def base_rows() -> dict[str, list[tuple]]:
    """Rows per table, without _loaded_at, in the DDL column order."""
    money = Decimal
    return {
        "zones": [
            ("idf", "Île-de-France", "Île-de-France", U),
            ("hdf", "Hauts-de-France", "Hauts-de-France", U),
            ("ara", "Auvergne-Rhône-Alpes", "Auvergne-Rhône-Alpes", U),
            ("paca", "Provence-Alpes-Côte d'Azur", "PACA", U),
            ("reunion", "La Réunion", "La Réunion", U),
        ],
        "sites": [
            (1, "idf", "Entrepôt Paris Nord", "Gonesse", "warehouse", U),
            (2, "reunion", "Entrepôt Le Port", "Le Port", "warehouse", U),
            (3, "hdf", "Usine Lille", "Lille", "plant", U),
        ],
        "customers": [
            (10, "Atelier Dupont", "industry", "idf", "Paris", utc("2025-01-05T09:00:00"), U),
            (
                11,
                "Pharmacie du Lagon",
                "healthcare",
                "reunion",
                "Saint-Denis",
                utc("2025-02-01T05:00:00"),
                U,
            ),
            (12, "Mairie de Roubaix", "public", "hdf", "Roubaix", utc("2025-03-01T08:00:00"), U),
        ],
        "products": [
            (
                100,
                "SKU-100",
                "Vanne inox",
                "robinetterie",
                "vannes",
                money("12.40"),
                money("19.90"),
                U,
            ),
            (
                101,
                "SKU-101",
                "Pompe doseuse",
                "pompes",
                "doseuses",
                money("80.00"),
                money("125.00"),
                U,
            ),
        ],
        "carriers": [(1, "Transports Martin", U), (2, "Océan Fret", U)],
        "sales_orders": [
            (1000, 10, "web", "delivered", "EUR", utc("2026-03-10T22:30:00"), U),
            (1001, 11, "sales_rep", "delivered", "EUR", utc("2026-03-10T22:30:00"), U),
            (1002, 12, "edi", "delivered", "EUR", utc("2026-04-28T08:00:00"), U),
            (1003, 10, "web", "cancelled", "EUR", utc("2026-06-02T10:00:00"), U),
            (1004, 11, "web", "open", "EUR", utc("2026-06-20T06:15:00"), U),
        ],
        "sales_order_lines": [
            (1000, 1, 100, 3, money("19.90"), money("0.1000"), U),
            (1000, 2, 101, 1, money("125.00"), money("0.0000"), U),
            (1001, 1, 100, 7, money("18.33"), money("0.0500"), U),
            (1002, 1, 101, 2, money("120.00"), money("0.0250"), U),
            (1003, 1, 100, 1, money("19.90"), money("0.0000"), U),
            (1004, 1, 101, 4, money("125.00"), money("0.1500"), U),
        ],
        "shipments": [
            (
                5000,
                1000,
                1,
                1,
                utc("2026-03-12T17:00:00"),
                utc("2026-03-11T08:00:00"),
                utc("2026-03-12T15:00:00"),
                U,
            ),
            (
                5001,
                1001,
                2,
                2,
                utc("2026-03-17T12:00:00"),
                utc("2026-03-12T05:00:00"),
                utc("2026-03-19T09:00:00"),
                U,
            ),
            # Ordered Tuesday 28 April; Friday 1 May is a public holiday in France.
            (
                5002,
                1002,
                1,
                3,
                utc("2026-05-01T16:00:00"),
                utc("2026-04-29T07:00:00"),
                utc("2026-05-04T10:00:00"),
                U,
            ),
            (5003, 1004, 2, 2, utc("2026-06-29T12:00:00"), None, None, U),
        ],
        "production_orders": [
            (
                7000,
                3,
                101,
                100,
                100,
                _day("2026-05-04"),
                _day("2026-05-15"),
                utc("2026-05-04T06:00:00"),
                utc("2026-05-20T15:00:00"),
                "completed",
                U,
            ),
            (
                7001,
                3,
                100,
                200,
                50,
                _day("2026-06-15"),
                _day("2026-06-26"),
                utc("2026-06-15T06:00:00"),
                None,
                "in_progress",
                U,
            ),
            (7002, 1, 100, 80, 0, _day("2026-07-06"), _day("2026-07-10"), None, None, "planned", U),
        ],
        "stock_levels": [
            (1, 100, 40, 10, 50, U),
            (1, 101, 5, 5, 2, U),
            (2, 101, 30, 4, 10, U),
        ],
        "invoices": [
            (
                9000,
                1000,
                10,
                _day("2026-03-11"),
                _day("2026-04-10"),
                money("178.73"),
                "EUR",
                "paid",
                U,
            ),
            (
                9001,
                1001,
                11,
                _day("2026-03-12"),
                _day("2026-04-11"),
                money("121.89"),
                "EUR",
                "issued",
                U,
            ),
            (
                9002,
                1002,
                12,
                _day("2026-05-04"),
                _day("2026-06-03"),
                money("234.00"),
                "EUR",
                "issued",
                U,
            ),
            # Paid three times over before its due date: the overpayment settles no other
            # invoice of the zone.
            (
                9003,
                1001,
                11,
                _day("2026-03-12"),
                _day("2026-04-01"),
                money("10.00"),
                "EUR",
                "paid",
                U,
            ),
        ],
        "payments": [
            (9500, 9000, money("178.73"), "transfer", utc("2026-04-02T09:00:00"), U),
            (9501, 9001, money("60.00"), "card", utc("2026-04-20T21:30:00"), U),
            (9503, 9003, money("30.00"), "card", utc("2026-03-20T08:00:00"), U),
        ],
    }


def write_duckdb(connection: duckdb.DuckDBPyConnection, rows: dict[str, list[tuple]]) -> None:
    """Create any missing raw table, then append ``rows`` with _loaded_at = LOADED_AT."""
    _write(connection.execute, connection.executemany, rows, "?")


def write_postgres(url: str, rows: dict[str, list[tuple]]) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.cursor()
        _write(cursor.execute, cursor.executemany, rows, "%s")


def _write(execute, executemany, rows: dict[str, list[tuple]], marker: str) -> None:
    tables = landing_columns()
    execute("create schema if not exists raw")
    for name, columns in tables.items():
        definition = ", ".join(f"{column} {sql_type}" for column, sql_type in columns)
        execute(f"create table if not exists raw.{name} ({definition})")
    for name, table_rows in rows.items():
        if not table_rows:
            continue
        width = len(tables[name])
        placeholders = ", ".join([marker] * width)
        loaded = [row if len(row) == width else (*row, LOADED_AT) for row in table_rows]
        executemany(f"insert into raw.{name} values ({placeholders})", loaded)


def write_zone_context_duckdb(connection: duckdb.DuckDBPyConnection) -> None:
    zones = load_zones()
    settings_table = build_zone_settings(zones, loaded_at=LOADED_AT)
    context_writer.write_duckdb(connection, [settings_table, build_zone_calendar(zones)])


def write_zone_context_postgres(url: str) -> None:
    zones = load_zones()
    settings_table = build_zone_settings(zones, loaded_at=LOADED_AT)
    context_writer.write_postgres(url, [settings_table, build_zone_calendar(zones)])


def dbt_env(warehouse_path: Path | None = None, postgres_url: str | None = None) -> dict[str, str]:
    """Process environment for a dbt run on the DuckDB file or the PostgreSQL database."""
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    mode = "production" if postgres_url else "embedded"
    settings = load_settings(
        {
            "ZONE_MARTS_MODE": mode,
            "BASE_OPERATION_URL": postgres_url or "sqlite:///unused.sqlite",
            "WAREHOUSE_PATH": str(warehouse_path or "unused.duckdb"),
            **({"WAREHOUSE_URL": postgres_url} if postgres_url else {}),
        }
    )
    return env | dbt_environment(settings)


def run_dbt(
    arguments: list[str], env: dict[str, str], work_dir: Path, dbt_vars: dict | None = None
) -> subprocess.CompletedProcess:
    """Run dbt with its own target and log directories under ``work_dir``, ``as_of`` pinned."""
    command = [
        DBT_EXECUTABLE,
        *arguments,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
        "--vars",
        json.dumps({"as_of": AS_OF, **(dbt_vars or {})}),
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)
