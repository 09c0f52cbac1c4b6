"""Mart access for the dashboard: the DuckDB file and the PostgreSQL schema read the same way."""

from __future__ import annotations

import uuid
from datetime import date

import psycopg
import pytest
from psycopg import sql

from dagster_project.settings import load_settings
from dashboard.mart_access import (
    DuckDbMart,
    MartNotFoundError,
    MartUnreadableError,
    PostgresMart,
    locate_mart,
)

COUNT_SINCE = "select count(*) as days from fct_zone_daily_kpis where local_date >= %(first_day)s"


def test_duckdb_missing_file_raises(tmp_path):
    with pytest.raises(MartNotFoundError, match="idf.duckdb"):
        with DuckDbMart(tmp_path / "idf.duckdb").session():
            pass


def test_duckdb_rewrites_named_parameters(tmp_path):
    import duckdb

    path = tmp_path / "idf.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create table fct_zone_daily_kpis (local_date date)")
        connection.execute("insert into fct_zone_daily_kpis values ('2026-12-01'), ('2026-12-03')")
    with DuckDbMart(path).session() as session:
        frame = session.query(COUNT_SINCE, {"first_day": date(2026, 12, 2)})
    assert int(frame.loc[0, "days"]) == 1


def test_production_needs_dashboard_url():
    settings = load_settings(
        {
            "ZONE_MARTS_MODE": "production",
            "BASE_OPERATION_URL": "postgresql://127.0.0.1/source",
            "WAREHOUSE_URL": "postgresql://127.0.0.1/warehouse",
        }
    )
    with pytest.raises(ValueError, match="ZONE_MARTS_DASHBOARD_URL"):
        locate_mart("idf", settings, environ={})


@pytest.fixture
def zone_login(postgres_database):
    """A database with schemas idf and reunion, and a login allowed to read idf only."""
    role = f"zm_dashboard_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        for schema, days in (("idf", ("2026-12-01", "2026-12-03")), ("reunion", ("2026-12-02",))):
            connection.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
            table = sql.Identifier(schema, "fct_zone_daily_kpis")
            connection.execute(sql.SQL("create table {} (local_date date)").format(table))
            for day in days:
                connection.execute(sql.SQL("insert into {} values (%s)").format(table), (day,))
        connection.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
        connection.execute(
            sql.SQL(
                "grant usage on schema idf to {0}; grant select on all tables in schema idf to {0}"
            ).format(sql.Identifier(role))
        )
    base, _, name = postgres_database.rpartition("/")
    user_url = base.replace("postgres@", f"{role}@", 1) + f"/{name}"
    yield user_url
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute(sql.SQL("drop owned by {0}; drop role {0}").format(sql.Identifier(role)))


@pytest.mark.postgres
def test_postgres_reads_zone_schema(zone_login):
    settings = load_settings(
        {
            "ZONE_MARTS_MODE": "production",
            "BASE_OPERATION_URL": "postgresql://127.0.0.1/source",
            "WAREHOUSE_URL": "postgresql://127.0.0.1/warehouse",
        }
    )
    mart = locate_mart("idf", settings, environ={"ZONE_MARTS_DASHBOARD_URL": zone_login})
    with mart.session() as session:
        assert session.tables() == {"fct_zone_daily_kpis"}
        frame = session.query(COUNT_SINCE, {"first_day": date(2026, 12, 2)})
    assert int(frame.loc[0, "days"]) == 1


@pytest.mark.postgres
def test_postgres_login_cannot_read_other_zone(zone_login):
    with pytest.raises(MartNotFoundError, match="reunion"):
        with PostgresMart(zone_login, "reunion").session():
            pass
    with PostgresMart(zone_login, "idf").session() as session:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            session.query("select count(*) from reunion.fct_zone_daily_kpis")


def test_unreachable_mart_database_is_not_missing_data():
    # The page showed the zone's data as not yet published, so managers waited for it.
    mart = PostgresMart("postgresql://alice:Secret9@127.0.0.1:1/warehouse", "idf")
    with pytest.raises(MartUnreadableError, match="cannot connect") as raised:
        with mart.session():
            pass
    assert "Secret9" not in str(raised.value)
