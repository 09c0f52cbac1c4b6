"""Working days and local business hours of a zone, for order dates and delivery promises."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays

from dagster_project.zones import Zone


@lru_cache(maxsize=64)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return frozenset(calendar)


def is_working_day(zone: Zone, day: date) -> bool:
    if day.isoweekday() not in zone.working_days:
        return False
    return day not in _public_holidays(zone.holiday_country, zone.holiday_subdivision, day.year)


def add_working_days(zone: Zone, day: date, count: int) -> date:
    """Return the date ``count`` working days after ``day`` in the zone's calendar."""
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(zone, day):
            count -= 1
    return day


def local_instant(zone: Zone, day: date, clock: time) -> datetime:
    """Return the UTC instant of ``clock`` on ``day`` in the zone's local time."""
    return datetime.combine(day, clock, tzinfo=zone.tz).astimezone(UTC)


def local_date(zone: Zone, instant: datetime) -> date:
    return instant.astimezone(zone.tz).date()


def promised_delivery(zone: Zone, ordered_at: datetime) -> datetime:
    """Return the end of business on the day the zone's SLA promises delivery for an order."""
    due_day = add_working_days(zone, local_date(zone, ordered_at), zone.delivery_sla_days)
    return local_instant(zone, due_day, zone.business_end)
