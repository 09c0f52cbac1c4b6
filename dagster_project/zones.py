"""Load and validate the zone declaration (marts/zones.yml)."""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import yaml

from dagster_project.settings import ZONES_FILE

ZONE_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
DURATION_PATTERN = re.compile(r"^(\d+)\s*([mhd])$")
DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class ZoneConfigError(ValueError):
    """The zone declaration is invalid; the message names the zone and the field."""


@dataclass(frozen=True)
class DeadlineRule:
    """Data expected by ``deadline`` (zone local time) on each due day.

    The rule is met when the observed time (a source cursor or a publish time) is at or after
    ``deadline - lower_bound`` of the latest due day whose deadline has passed. Due days are the
    zone's business days (working days that are not public holidays) unless ``every_day``.
    """

    deadline: time
    lower_bound: timedelta
    every_day: bool = False


@dataclass(frozen=True)
class ZoneFreshness:
    """Freshness policy of one zone: pipeline heartbeat, published mart, source tables."""

    heartbeat_max_interval: timedelta = timedelta(hours=2)
    mart: DeadlineRule | None = None
    sources: tuple[tuple[str, DeadlineRule], ...] = ()

    def source_rule(self, table: str) -> DeadlineRule | None:
        return dict(self.sources).get(table)


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
    freshness: ZoneFreshness = field(default_factory=ZoneFreshness)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


# A zone code names a PostgreSQL schema that each publish replaces, and the DuckDB catalog of
# its candidate file. It must not be a schema of the warehouse, a name the publish derives with
# a double underscore (``<zone>__candidate``), or a catalog the gate attaches.
RESERVED_ZONE_CODES = frozenset(
    {
        "raw",
        "zone_context",
        "staging",
        "intermediate",
        "marts",
        "test_state",
        "public",
        "information_schema",
        "warehouse",
        "previous",
        "main",
        "temp",
        "system",
        "memory",
    }
)


def validate_zone_code(code: object) -> str:
    """Return ``code`` if it is a safe zone identifier, else raise ZoneConfigError.

    Zone codes become file names and PostgreSQL schema names, so only lowercase letters, digits
    and underscores are accepted, without a double underscore, and no name the warehouse uses.
    """
    if not isinstance(code, str) or not ZONE_CODE_PATTERN.match(code):
        raise ZoneConfigError(
            f"invalid zone code {code!r}: use 1 to 40 lowercase letters, digits or underscores, "
            "starting with a letter"
        )
    if code in RESERVED_ZONE_CODES or "__" in code or code.startswith("pg_"):
        raise ZoneConfigError(
            f"invalid zone code {code!r}: the warehouse uses this name (reserved: "
            f"{', '.join(sorted(RESERVED_ZONE_CODES))}, names starting with pg_ and names "
            "containing __)"
        )
    return code


def time_hint(value: object) -> str:
    """Explain a number where a time was expected: YAML reads an unquoted 8:00 as 480."""
    if isinstance(value, int) and not isinstance(value, bool):
        return " (YAML reads an unquoted 8:00 as the number 480: quote it, as '08:00')"
    return ""


def _parse_hour(zone_code: str, field: str, value: object) -> time:
    try:
        parsed = time.fromisoformat(str(value))
    except ValueError as error:
        raise ZoneConfigError(
            f"zone {zone_code}: business_hours.{field}={value!r} is not a HH:MM time"
            f"{time_hint(value)}"
        ) from error
    if parsed.tzinfo is not None:
        raise ZoneConfigError(
            f"zone {zone_code}: business_hours.{field}={value!r} has an offset; business hours "
            "are in the zone's own time zone, so give HH:MM only"
        )
    return parsed


def parse_duration(where: str, value: object) -> timedelta:
    """Parse ``30m``, ``2h`` or ``1d``; raise ZoneConfigError naming ``where`` otherwise."""
    match = DURATION_PATTERN.match(str(value).strip())
    if not match:
        raise ZoneConfigError(f"{where}={value!r} is not a duration such as 30m, 2h or 1d")
    amount, unit = match.groups()
    return timedelta(**{DURATION_UNITS[unit]: int(amount)})


def _parse_deadline_rule(where: str, raw: object) -> DeadlineRule | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or "deadline" not in raw or "lower_bound" not in raw:
        raise ZoneConfigError(f"{where} must be a mapping with deadline and lower_bound, or null")
    try:
        deadline = time.fromisoformat(str(raw["deadline"]))
    except ValueError as error:
        raise ZoneConfigError(
            f"{where}.deadline={raw['deadline']!r} is not a HH:MM time{time_hint(raw['deadline'])}"
        ) from error
    return DeadlineRule(
        deadline=deadline,
        lower_bound=parse_duration(f"{where}.lower_bound", raw["lower_bound"]),
        every_day=bool(raw.get("every_day", False)),
    )


def _parse_freshness(code: str, defaults: dict, raw: object) -> ZoneFreshness:
    """Merge the zone's ``freshness:`` block over ``freshness_defaults:``, key by key.

    Source tables merge one level deeper, so a zone can override or drop (``null``) one table.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ZoneConfigError(f"zone {code}: freshness must be a mapping")
    merged = {**defaults, **raw}
    for block in (defaults, raw):
        if not isinstance(block.get("sources") or {}, dict):
            raise ZoneConfigError(f"zone {code}: freshness sources must map table names to rules")
    sources = {**(defaults.get("sources") or {}), **(raw.get("sources") or {})}
    where = f"zone {code}: freshness"
    rules = {
        table: _parse_deadline_rule(f"{where}.sources.{table}", rule)
        for table, rule in sorted(sources.items())
    }
    return ZoneFreshness(
        heartbeat_max_interval=parse_duration(
            f"{where}.heartbeat_max_interval", merged.get("heartbeat_max_interval", "2h")
        ),
        mart=_parse_deadline_rule(f"{where}.mart", merged.get("mart")),
        sources=tuple((table, rule) for table, rule in rules.items() if rule is not None),
    )


ZONE_FIELDS = {
    "code",
    "name",
    "time_zone",
    "currency",
    "holidays",
    "working_days",
    "delivery_sla_days",
    "targets",
    "business_hours",
    "freshness",
}
REQUIRED_ZONE_FIELDS = ("name", "time_zone", "currency", "holidays", "delivery_sla_days", "targets")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")


def _number(
    code: str, field: str, value: object, low: float, high: float, decimals: int = 0
) -> float:
    """Return ``value`` as a float within [low, high] with at most ``decimals`` decimals.

    The bounds and decimals are those of the zone context column that stores the value, which
    would otherwise round it or fail with no zone named. Raise ZoneConfigError naming the field.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ZoneConfigError(f"zone {code}: {field}={value!r} is not a finite number")
    if value < low or value > high:
        raise ZoneConfigError(
            f"zone {code}: {field}={value!r} must be between {low:,} and {high:,}"
        )
    if round(value, decimals) != value:
        kind = "a whole number" if decimals == 0 else f"given to at most {decimals} decimals"
        raise ZoneConfigError(f"zone {code}: {field}={value!r} must be {kind}")
    return float(value)


def _text(code: str, field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ZoneConfigError(f"zone {code}: {field}={value!r} must be a non-empty text")
    return value


@functools.cache
def duckdb_time_zones() -> frozenset[str]:
    """Return the time zone names DuckDB accepts, which the dbt models convert times with.

    Python also accepts file names of its time zone database (posix/Europe/Paris, localtime)
    that DuckDB rejects, failing the dbt build for every zone.
    """
    import duckdb

    with duckdb.connect() as connection:
        rows = connection.execute("select name from pg_timezone_names()").fetchall()
    return frozenset(name for (name,) in rows)


def _validate_fields(code: str, raw: dict) -> None:
    """Reject unknown and missing fields, and values no zone can have."""
    unknown = sorted(set(raw) - ZONE_FIELDS)
    if unknown:
        raise ZoneConfigError(
            f"zone {code}: unknown field(s) {', '.join(unknown)}; "
            f"expected fields: {', '.join(sorted(ZONE_FIELDS))}"
        )
    missing = [field for field in REQUIRED_ZONE_FIELDS if field not in raw]
    if missing:
        raise ZoneConfigError(f"zone {code}: missing field(s) {', '.join(missing)}")
    _text(code, "name", raw["name"])
    if not isinstance(raw["currency"], str) or not CURRENCY_PATTERN.match(raw["currency"]):
        raise ZoneConfigError(
            f"zone {code}: currency={raw['currency']!r} is not an ISO 4217 code such as EUR"
        )
    holidays_setting = raw["holidays"]
    if not isinstance(holidays_setting, dict) or "country" not in holidays_setting:
        raise ZoneConfigError(f"zone {code}: holidays must be a mapping with a country")
    _text(code, "holidays.country", holidays_setting["country"])
    subdivision = holidays_setting.get("subdivision")
    if subdivision is not None:
        _text(code, "holidays.subdivision", subdivision)
    try:
        holidays.country_holidays(
            holidays_setting["country"], subdiv=holidays_setting.get("subdivision")
        )
    except NotImplementedError as error:
        raise ZoneConfigError(
            f"zone {code}: holidays {holidays_setting} is not a calendar of the holidays "
            f"package: {error}"
        ) from error
    if not isinstance(raw["targets"], dict) or {"daily_revenue", "on_time_rate"} - set(
        raw["targets"]
    ):
        raise ZoneConfigError(f"zone {code}: targets needs daily_revenue and on_time_rate")
    _number(code, "delivery_sla_days", raw["delivery_sla_days"], 0, 366)
    # The zone context stores the targets as decimal(14, 2) and decimal(5, 4).
    _number(
        code, "targets.daily_revenue", raw["targets"]["daily_revenue"], 0, 999_999_999_999.99, 2
    )
    _number(code, "targets.on_time_rate", raw["targets"]["on_time_rate"], 0, 1, 4)


def _parse_zone(raw: dict, freshness_defaults: dict | None = None) -> Zone:
    if not isinstance(raw, dict):
        raise ZoneConfigError(f"each entry under 'zones:' must be a mapping, not {raw!r}")
    code = validate_zone_code(raw.get("code"))
    _validate_fields(code, raw)
    time_zone = raw["time_zone"]
    try:
        known = isinstance(time_zone, str) and ZoneInfo(time_zone) is not None
    except (ZoneInfoNotFoundError, ValueError):
        known = False
    if not known or time_zone not in duckdb_time_zones():
        raise ZoneConfigError(
            f"zone {code}: time_zone={time_zone!r} is not an IANA time zone name "
            "(such as Indian/Reunion) that both Python and DuckDB know"
        )
    days = raw.get("working_days", [1, 2, 3, 4, 5])
    if (
        not isinstance(days, list)
        or not days
        or any(isinstance(day, bool) or day not in range(1, 8) for day in days)
        or len(set(days)) != len(days)
    ):
        raise ZoneConfigError(
            f"zone {code}: working_days={days!r} must list distinct ISO weekdays 1 to 7"
        )
    working_days = tuple(int(day) for day in days)
    targets = raw["targets"]
    hours = raw.get("business_hours", {"start": "08:00", "end": "18:00"})
    if not isinstance(hours, dict) or not {"start", "end"} <= set(hours):
        raise ZoneConfigError(f"zone {code}: business_hours must be a mapping with start and end")
    business_start = _parse_hour(code, "start", hours["start"])
    business_end = _parse_hour(code, "end", hours["end"])
    if business_start >= business_end:
        raise ZoneConfigError(
            f"zone {code}: business_hours start {business_start:%H:%M} must be before end "
            f"{business_end:%H:%M}"
        )
    return Zone(
        code=code,
        name=raw["name"],
        time_zone=time_zone,
        currency=str(raw["currency"]),
        holiday_country=str(raw["holidays"]["country"]),
        holiday_subdivision=raw["holidays"].get("subdivision"),
        working_days=working_days,
        delivery_sla_days=int(raw["delivery_sla_days"]),
        daily_revenue_target=float(targets["daily_revenue"]),
        on_time_rate_target=float(targets["on_time_rate"]),
        business_start=business_start,
        business_end=business_end,
        freshness=_parse_freshness(code, freshness_defaults or {}, raw.get("freshness")),
    )


def read_yaml(path: Path, error_type: type[Exception], description: str, hint: str = "") -> object:
    """Return the YAML document in ``path``. Raise ``error_type`` when the file cannot be read
    or parsed, naming the file, its ``description`` and ``hint`` (what to do next)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as error:
        raise error_type(f"cannot read {description} {path}: {error.strerror}{hint}") from None
    except yaml.YAMLError as error:
        raise error_type(f"{path}: invalid YAML ({error})") from None


def load_zones(path: Path = ZONES_FILE) -> list[Zone]:
    """Parse the zone declaration; raise ZoneConfigError naming the faulty zone and field."""
    document = read_yaml(path, ZoneConfigError, "the zone declaration") or {}
    if not isinstance(document, dict):
        raise ZoneConfigError(f"{path}: the top level must be a mapping with a 'zones:' list")
    unknown = sorted(set(document) - {"zones", "freshness_defaults"})
    if unknown:
        raise ZoneConfigError(
            f"{path}: unknown top-level key(s) {', '.join(map(str, unknown))}; expected zones "
            "and freshness_defaults"
        )
    freshness_defaults = document.get("freshness_defaults") or {}
    if not isinstance(freshness_defaults, dict):
        raise ZoneConfigError(f"{path}: freshness_defaults must be a mapping")
    entries = document.get("zones") or []
    if not isinstance(entries, list):
        raise ZoneConfigError(f"{path}: 'zones:' must be a list of zones")
    zones = [_parse_zone(raw, freshness_defaults) for raw in entries]
    if not zones:
        raise ZoneConfigError(f"{path}: no zone declared under 'zones:'")
    codes = [zone.code for zone in zones]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise ZoneConfigError(f"{path}: zone code(s) declared twice: {', '.join(duplicates)}")
    return zones
