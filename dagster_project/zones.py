"""Load and validate the zone declaration (marts/zones.yml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from dagster_project.settings import ZONES_FILE

ZONE_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class ZoneConfigError(ValueError):
    """The zone declaration is invalid; the message names the zone and the field."""


@dataclass(frozen=True)
class Zone:
    code: str
    name: str
    time_zone: str
    currency: str
    holiday_country: str
    holiday_subdivision: str | None
    working_days: tuple[int, ...]
    delivery_sla_days: int
    daily_revenue_target: float
    on_time_rate_target: float
    business_start: time
    business_end: time

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def validate_zone_code(code: object) -> str:
    """Return ``code`` if it is a safe zone identifier, else raise ZoneConfigError.

    Zone codes become file names and PostgreSQL schema names, so only lowercase letters, digits
    and underscores are accepted.
    """
    if not isinstance(code, str) or not ZONE_CODE_PATTERN.match(code):
        raise ZoneConfigError(
            f"invalid zone code {code!r}: use 1 to 40 lowercase letters, digits or underscores, "
            "starting with a letter"
        )
    return code


def _parse_hour(zone_code: str, field: str, value: object) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError as error:
        raise ZoneConfigError(
            f"zone {zone_code}: business_hours.{field}={value!r} is not a HH:MM time"
        ) from error


def _parse_zone(raw: dict) -> Zone:
    code = validate_zone_code(raw.get("code"))
    missing = [
        field
        for field in ("name", "time_zone", "currency", "holidays", "delivery_sla_days", "targets")
        if field not in raw
    ]
    if missing:
        raise ZoneConfigError(f"zone {code}: missing field(s) {', '.join(missing)}")
    try:
        ZoneInfo(raw["time_zone"])
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ZoneConfigError(
            f"zone {code}: time_zone={raw['time_zone']!r} is not an IANA time zone name"
        ) from error
    working_days = tuple(raw.get("working_days", [1, 2, 3, 4, 5]))
    if not working_days or any(day not in range(1, 8) for day in working_days):
        raise ZoneConfigError(
            f"zone {code}: working_days={list(working_days)} must list ISO weekdays 1 to 7"
        )
    targets = raw["targets"]
    hours = raw.get("business_hours", {"start": "08:00", "end": "18:00"})
    return Zone(
        code=code,
        name=str(raw["name"]),
        time_zone=raw["time_zone"],
        currency=str(raw["currency"]),
        holiday_country=str(raw["holidays"]["country"]),
        holiday_subdivision=raw["holidays"].get("subdivision"),
        working_days=working_days,
        delivery_sla_days=int(raw["delivery_sla_days"]),
        daily_revenue_target=float(targets["daily_revenue"]),
        on_time_rate_target=float(targets["on_time_rate"]),
        business_start=_parse_hour(code, "start", hours["start"]),
        business_end=_parse_hour(code, "end", hours["end"]),
    )


def load_zones(path: Path = ZONES_FILE) -> list[Zone]:
    """Parse the zone declaration; raise ZoneConfigError naming the faulty zone and field."""
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    zones = [_parse_zone(raw) for raw in document.get("zones", [])]
    if not zones:
        raise ZoneConfigError(f"{path}: no zone declared under 'zones:'")
    codes = [zone.code for zone in zones]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise ZoneConfigError(f"{path}: zone code(s) declared twice: {', '.join(duplicates)}")
    return zones
