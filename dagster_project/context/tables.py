"""Build the zone_context tables (zone_settings, zone_calendar) from the zone declaration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import holidays

from dagster_project.zones import Zone

# The range covers the demo history and several years ahead. Facts dated outside it get NULL
# working-day counts, and the not_in_future dbt test flags dates beyond the run time.
CALENDAR_START = date(2020, 1, 1)
CALENDAR_END = date(2031, 12, 31)


@dataclass(frozen=True)
class ContextTable:
    """One warehouse table: its name, column names with SQL types, and rows as tuples."""

    name: str
    columns: tuple[tuple[str, str], ...]
    rows: list[tuple]


ZONE_SETTINGS_COLUMNS = (
    ("zone_code", "varchar"),
    ("zone_name", "varchar"),
    ("time_zone", "varchar"),
    ("currency", "varchar"),
    ("holiday_country", "varchar"),
    ("holiday_subdivision", "varchar"),
    ("working_days", "varchar"),
    ("delivery_sla_days", "integer"),
    ("daily_revenue_target", "decimal(14, 2)"),
    ("on_time_rate_target", "decimal(5, 4)"),
    ("business_start", "varchar"),
    ("business_end", "varchar"),
    ("loaded_at", "timestamp with time zone"),
)

ZONE_CALENDAR_COLUMNS = (
    ("zone_code", "varchar"),
    ("calendar_date", "date"),
    ("iso_year", "integer"),
    ("iso_week", "integer"),
    ("iso_weekday", "integer"),
    ("week_start_date", "date"),
    ("is_public_holiday", "boolean"),
    ("holiday_name", "varchar"),
    ("is_working_day", "boolean"),
    ("working_day_number", "integer"),
)


def build_zone_settings(zones: list[Zone], loaded_at: datetime | None = None) -> ContextTable:
    """Build one row per zone, with its targets, SLA, hours and working days."""
    loaded_at = loaded_at or datetime.now(UTC)
    rows = [
        (
            zone.code,
            zone.name,
            zone.time_zone,
            zone.currency,
            zone.holiday_country,
            zone.holiday_subdivision,
            ",".join(str(day) for day in zone.working_days),
            zone.delivery_sla_days,
            # Decimal, so a row read back from the warehouse compares equal when unchanged.
            Decimal(str(zone.daily_revenue_target)).quantize(Decimal("0.01")),
            Decimal(str(zone.on_time_rate_target)).quantize(Decimal("0.0001")),
            zone.business_start.strftime("%H:%M"),
            zone.business_end.strftime("%H:%M"),
            loaded_at,
        )
        for zone in zones
    ]
    return ContextTable("zone_settings", ZONE_SETTINGS_COLUMNS, rows)


def _holidays_of(zone: Zone, start: date, end: date) -> holidays.HolidayBase:
    try:
        return holidays.country_holidays(
            zone.holiday_country,
            subdiv=zone.holiday_subdivision,
            years=range(start.year, end.year + 1),
            language="fr",
        )
    except NotImplementedError as error:
        raise ValueError(
            f"zone {zone.code}: holidays country={zone.holiday_country!r} "
            f"subdivision={zone.holiday_subdivision!r} is not known to the holidays package"
        ) from error


def build_zone_calendar(
    zones: list[Zone], start: date = CALENDAR_START, end: date = CALENDAR_END
) -> ContextTable:
    """Build one row per zone and date from ``start`` to ``end`` inclusive.

    A date is a working day when its ISO weekday is among the zone's working days and it is not a
    public holiday of the zone's country and subdivision (holiday names in French).
    """
    if end < start:
        raise ValueError(f"zone calendar: end {end} is before start {start}")
    rows = []
    for zone in zones:
        public_holidays = _holidays_of(zone, start, end)
        working_day_number = 0
        day = start
        while day <= end:
            iso = day.isocalendar()
            holiday_name = public_holidays.get(day)
            is_working_day = iso.weekday in zone.working_days and holiday_name is None
            working_day_number += int(is_working_day)
            rows.append(
                (
                    zone.code,
                    day,
                    iso.year,
                    iso.week,
                    iso.weekday,
                    day - timedelta(days=iso.weekday - 1),
                    holiday_name is not None,
                    holiday_name,
                    is_working_day,
                    working_day_number,
                )
            )
            day += timedelta(days=1)
    return ContextTable("zone_calendar", ZONE_CALENDAR_COLUMNS, rows)


def keep_unchanged_loaded_at(table: ContextTable, previous_rows: list[tuple]) -> ContextTable:
    """Give each zone whose settings did not change its previous loaded_at.

    Incremental marts re-read the rows of a zone whose loaded_at moved. So an edit of
    marts/zones.yml (a time zone, an SLA) reaches existing facts, and an unchanged zone costs
    nothing.
    """
    previous = {row[0]: row for row in previous_rows}
    rows = []
    for row in table.rows:
        old = previous.get(row[0])
        unchanged = old is not None and tuple(old[:-1]) == tuple(row[:-1])
        rows.append((*row[:-1], old[-1]) if unchanged else row)
    return ContextTable(table.name, table.columns, rows)
