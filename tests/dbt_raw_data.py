"""A small hand-made Base Opération landed in ``raw``, written identically to DuckDB and PostgreSQL.

The rows cover the cases the marts must get right: an order at 22:30 UTC (same local day in
Paris, next day in La Réunion), a delivery across the 1 May public holiday, a paid, a part-paid
and an overdue invoice, a late work order and a stock-out.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import psycopg

from dagster_project.settings import PROJECT_DIR

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


U = utc("2026-06-01T00:00:00")  # updated_at of every row unless a case needs another


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
        ],
        "payments": [
            (9500, 9000, money("178.73"), "transfer", utc("2026-04-02T09:00:00"), U),
            (9501, 9001, money("60.00"), "card", utc("2026-04-20T21:30:00"), U),
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
