"""Zone settings and calendars built from marts/zones.yml, and their warehouse writers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import duckdb
import psycopg
import pytest

from dagster_project.context.tables import (
    build_zone_calendar,
    build_zone_settings,
    keep_unchanged_loaded_at,
)
from dagster_project.context.writer import read_duckdb_rows, write_duckdb, write_postgres
from dagster_project.zones import load_zones

ZONES = load_zones()
START = date(2026, 1, 1)
END = date(2026, 12, 31)


def calendar_day(zone_code: str, day: date) -> dict:
    table = build_zone_calendar(ZONES, START, END)
    names = [name for name, _ in table.columns]
    for row in table.rows:
        if row[0] == zone_code and row[1] == day:
            return dict(zip(names, row, strict=True))
    raise AssertionError(f"no calendar row for {zone_code} {day}")


def test_calendar_covers_every_declared_zone():
    table = build_zone_calendar(ZONES, START, END)
    codes = {row[0] for row in table.rows}
    assert codes == {zone.code for zone in ZONES}
    assert len(table.rows) == 365 * len(ZONES)


def test_public_holiday_is_not_working_day():
    may_day = calendar_day("idf", date(2026, 5, 1))
    assert may_day["holiday_name"] == "Fête du Travail"
    assert may_day["is_working_day"] is False


def test_reunion_abolition_day_only_in_reunion():
    assert calendar_day("reunion", date(2026, 12, 18))["holiday_name"] is None
    assert calendar_day("reunion", date(2026, 12, 20))["is_public_holiday"] is True
    assert calendar_day("idf", date(2026, 12, 20))["is_public_holiday"] is False


def test_working_day_number_skips_weekend_and_holiday():
    # Thursday 30 April to Monday 4 May 2026: Friday 1 May is a holiday, then a weekend.
    before = calendar_day("hdf", date(2026, 4, 30))["working_day_number"]
    after = calendar_day("hdf", date(2026, 5, 4))["working_day_number"]
    assert after - before == 1


def test_iso_week_and_week_start():
    day = calendar_day("paca", date(2026, 1, 1))
    assert (day["iso_year"], day["iso_week"], day["iso_weekday"]) == (2026, 1, 4)
    assert day["week_start_date"] == date(2025, 12, 29)


def test_calendar_rejects_end_before_start():
    with pytest.raises(ValueError, match="before start"):
        build_zone_calendar(ZONES, END, START)


def test_settings_one_row_per_zone():
    table = build_zone_settings(ZONES)
    reunion = next(row for row in table.rows if row[0] == "reunion")
    assert len(table.rows) == len(ZONES)
    assert reunion[2] == "Indian/Reunion"
    assert reunion[5] == "RE"
    assert reunion[7] == 5


def test_duckdb_writer_replaces_tables(tmp_path):
    tables = [build_zone_settings(ZONES), build_zone_calendar(ZONES, START, END)]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        write_duckdb(connection, tables)
        write_duckdb(connection, tables)
        counts = connection.execute(
            "select (select count(*) from zone_context.zone_settings), "
            "(select count(*) from zone_context.zone_calendar)"
        ).fetchall()
    assert counts == [(len(ZONES), 365 * len(ZONES))]


@pytest.mark.postgres
def test_postgres_writer_replaces_tables(postgres_database):
    tables = [build_zone_settings(ZONES), build_zone_calendar(ZONES, START, END)]
    write_postgres(postgres_database, tables)
    write_postgres(postgres_database, tables)
    with psycopg.connect(postgres_database) as connection:
        counts = connection.execute(
            "select (select count(*) from zone_context.zone_settings), "
            "(select count(*) from zone_context.zone_calendar)"
        ).fetchall()
    assert counts == [(len(ZONES), 365 * len(ZONES))]


@pytest.mark.postgres
def test_postgres_writer_keeps_dependent_views(postgres_database):
    tables = [build_zone_settings(ZONES)]
    write_postgres(postgres_database, tables)
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute(
            "create view zone_codes as select zone_code from zone_context.zone_settings"
        )
    write_postgres(postgres_database, tables)
    with psycopg.connect(postgres_database) as connection:
        rows = connection.execute("select count(*) from zone_codes").fetchall()
    assert rows == [(len(ZONES),)]


def test_unchanged_zone_keeps_loaded_at(tmp_path):
    first = build_zone_settings(ZONES, loaded_at=datetime(2026, 1, 1, tzinfo=UTC))
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        write_duckdb(connection, [first])
        previous = read_duckdb_rows(connection, first)
    edited = [replace(zone, delivery_sla_days=9) if zone.code == "idf" else zone for zone in ZONES]
    second = build_zone_settings(edited, loaded_at=datetime(2026, 2, 1, tzinfo=UTC))
    loaded_at = {row[0]: row[-1] for row in keep_unchanged_loaded_at(second, previous).rows}
    assert loaded_at["idf"] == datetime(2026, 2, 1, tzinfo=UTC)
    assert loaded_at["reunion"] == datetime(2026, 1, 1, tzinfo=UTC)
