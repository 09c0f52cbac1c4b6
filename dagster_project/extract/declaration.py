"""Read the per-table extraction declaration (base_operation.yml) into ``TableSpec`` objects.

The YAML has ``defaults`` applied to every table and ``tables`` whose entries override them. A
table with a primary key and an ``updated_at`` column needs only its name. Every invalid value
raises ``DeclarationError`` naming the table and the setting.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

DECLARATION_FILE = Path(__file__).with_name("base_operation.yml")

DELETE_MODES = ("none", "reconcile")
NULL_CURSOR_MODES = ("fail", "reload")
SCHEMA_CHANGE_MODES = ("apply_additive", "fail")
NO_PRIMARY_KEY_MODES = ("append_distinct",)

BUILT_IN_DEFAULTS = {
    "cursor": "updated_at",
    "lookback": 600,
    "deletes": "reconcile",
    "null_cursor": "fail",
    "on_schema_change": "apply_additive",
    "max_delete_share": 0.10,
}
SETTINGS = (
    "schema",
    "primary_key",
    "no_primary_key",
    "cursor_time_zone",
    *BUILT_IN_DEFAULTS,
)

# A longer lookback re-reads most tables in full on every run, which 'cursor: null' states plainly.
MAX_LOOKBACK = timedelta(days=3660)
UNIT_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}

_ISO_DURATION = re.compile(
    r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


# Names the extraction gives its own tables in the raw schema, and its working columns.
RESERVED_PREFIX = "_extract_"


class DeclarationError(ValueError):
    """The extraction declaration is invalid for one table and setting."""


@dataclass(frozen=True)
class TableSpec:
    """Extraction settings of one source table.

    ``primary_key`` is empty until resolved from the source catalog (see ``with_primary_key``);
    ``cursor`` is None for a table read in full on every run. ``soft_delete_column`` names the
    flag or timestamp column that marks a deleted row when ``deletes: soft:<column>``.
    """

    name: str
    schema: str | None = None
    primary_key: tuple[str, ...] = ()
    no_primary_key: str | None = None
    cursor: str | None = "updated_at"
    lookback: timedelta = timedelta(seconds=600)
    deletes: str = "reconcile"
    soft_delete_column: str | None = None
    null_cursor: str = "fail"
    on_schema_change: str = "apply_additive"
    max_delete_share: float = 0.10
    cursor_time_zone: str | None = None
    """Time zone in which the source writes a naive timestamp cursor (IANA name)."""

    @property
    def reconciles_deletes(self) -> bool:
        return self.deletes == "reconcile"

    @property
    def appends_distinct(self) -> bool:
        return not self.primary_key and self.no_primary_key == "append_distinct"

    def with_primary_key(self, catalog_key: tuple[str, ...]) -> TableSpec:
        """Return the spec with its key: the declared one, else the source catalog's.

        A table with neither must declare ``no_primary_key: append_distinct``.
        """
        if self.primary_key:
            return self
        if catalog_key:
            return replace(self, primary_key=catalog_key)
        if self.no_primary_key != "append_distinct":
            raise DeclarationError(
                f"table {self.name!r}: the source declares no primary key; set "
                "'primary_key: [column, ...]' or 'no_primary_key: append_distinct' "
                "in the extraction declaration"
            )
        if self.deletes == "reconcile":
            raise DeclarationError(
                f"table {self.name!r}: 'deletes: reconcile' needs a primary key; set "
                "'deletes: none' for an append_distinct table"
            )
        return self


def parse_lookback(table: str, value: object) -> timedelta:
    """Parse seconds (a number) or an ISO 8601 duration such as ``PT10M`` or ``P1D``."""
    if isinstance(value, bool):
        raise DeclarationError(f"table {table!r}: lookback {value!r} is not a duration")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise DeclarationError(
                f"table {table!r}: lookback {value!r} must be a finite number of seconds, 0 or more"
            )
        seconds = float(value)
    else:
        match = _ISO_DURATION.match(str(value)) if value else None
        if not match or str(value) in ("P", "PT"):
            raise DeclarationError(
                f"table {table!r}: lookback {value!r} is invalid; use seconds (600) or an "
                "ISO 8601 duration (PT10M, P1D)"
            )
        seconds = sum(
            float(amount) * UNIT_SECONDS[unit]
            for unit, amount in match.groupdict().items()
            if amount
        )
    # Compared in seconds first: a timedelta of 1e20 seconds would overflow.
    if seconds > MAX_LOOKBACK.total_seconds():
        raise DeclarationError(
            f"table {table!r}: lookback {value!r} is longer than {MAX_LOOKBACK.days} days; "
            "for a table that needs more, set 'cursor: null' to read it in full on every run"
        )
    return timedelta(seconds=seconds)


def _choice(table: str, setting: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise DeclarationError(
            f"table {table!r}: {setting} {value!r} is invalid; use one of {', '.join(allowed)}"
        )
    return str(value)


def _column_names(table: str, setting: str, value: object) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if (
        not isinstance(names, list)
        or not names
        or not all(isinstance(name, str) and name for name in names)
    ):
        raise DeclarationError(
            f"table {table!r}: {setting} must be a column name or a list of column names"
        )
    if len(set(names)) != len(names):
        raise DeclarationError(f"table {table!r}: {setting} repeats a column: {names}")
    return tuple(names)


def parse_table(name: str, settings: dict) -> TableSpec:
    """Build one table's spec from its settings, already merged with the defaults."""
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise DeclarationError(
            f"table {name!r}: unknown setting {', '.join(unknown)}; "
            f"known settings: {', '.join(SETTINGS)}"
        )
    deletes = str(settings["deletes"])
    soft_delete_column = None
    if deletes.startswith("soft:"):
        soft_delete_column = deletes.removeprefix("soft:").strip()
        if not soft_delete_column:
            raise DeclarationError(f"table {name!r}: deletes 'soft:' needs a column name")
        deletes = "soft"
    else:
        deletes = _choice(name, "deletes", deletes, DELETE_MODES)

    share = settings["max_delete_share"]
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise DeclarationError(
            f"table {name!r}: max_delete_share {share!r} must be a number from 0 to 1"
        )
    cursor = settings["cursor"]
    if cursor is not None and (not isinstance(cursor, str) or not cursor):
        raise DeclarationError(f"table {name!r}: cursor {cursor!r} must be a column name")
    time_zone = settings.get("cursor_time_zone")
    if time_zone is not None:
        _check_time_zone(name, time_zone)
    schema = settings.get("schema")
    if schema is not None and (not isinstance(schema, str) or not schema):
        raise DeclarationError(f"table {name!r}: schema {schema!r} must be a schema name")
    primary_key = settings.get("primary_key")
    no_primary_key = settings.get("no_primary_key")
    if no_primary_key is not None:
        _choice(name, "no_primary_key", no_primary_key, NO_PRIMARY_KEY_MODES)
    return TableSpec(
        name=name,
        schema=schema,
        primary_key=(
            _column_names(name, "primary_key", primary_key) if primary_key is not None else ()
        ),
        no_primary_key=no_primary_key,
        cursor=cursor,
        lookback=parse_lookback(name, settings["lookback"]),
        deletes=deletes,
        soft_delete_column=soft_delete_column,
        null_cursor=_choice(name, "null_cursor", settings["null_cursor"], NULL_CURSOR_MODES),
        on_schema_change=_choice(
            name, "on_schema_change", settings["on_schema_change"], SCHEMA_CHANGE_MODES
        ),
        max_delete_share=float(share),
        cursor_time_zone=time_zone,
    )


def _check_time_zone(table: str, value: object) -> None:
    try:
        known = isinstance(value, str) and ZoneInfo(value) is not None
    except (ValueError, ZoneInfoNotFoundError):
        known = False
    if not known:
        raise DeclarationError(
            f"table {table!r}: cursor_time_zone {value!r} is not a time zone; use an IANA name "
            "such as Europe/Paris or UTC"
        )


def parse_declaration(document: dict) -> list[TableSpec]:
    """Turn the parsed YAML document into one spec per table, in declaration order."""
    if not isinstance(document, dict) or not isinstance(document.get("tables"), dict):
        raise DeclarationError("the extraction declaration needs a 'tables:' mapping")
    defaults = dict(BUILT_IN_DEFAULTS)
    declared_defaults = document.get("defaults") or {}
    if not isinstance(declared_defaults, dict):
        raise DeclarationError("defaults: must be a mapping of settings")
    unknown = sorted(set(declared_defaults) - set(SETTINGS))
    if unknown:
        raise DeclarationError(f"defaults: unknown setting {', '.join(unknown)}")
    defaults.update(declared_defaults)
    specs = []
    seen: dict[str, str] = {}
    for name, overrides in document["tables"].items():
        if not isinstance(name, str) or not name:
            raise DeclarationError(
                f"table {name!r}: a table name must be a string; quote names such as "
                '"on", "null" or "010", which YAML reads as other values'
            )
        if overrides is not None and not isinstance(overrides, dict):
            raise DeclarationError(f"table {name!r}: settings must be a mapping, or {{}}")
        if name.lower().startswith(RESERVED_PREFIX):
            raise DeclarationError(
                f"table {name!r}: names starting with {RESERVED_PREFIX} are the "
                "warehouse's own tables (raw._extract_state holds every watermark); extract a "
                "view of this table under another name"
            )
        if name.lower() in seen:
            raise DeclarationError(
                f"table {name!r}: the declaration also names {seen[name.lower()]!r}; the "
                "warehouse compares table names without case, so both would land in one table"
            )
        seen[name.lower()] = name
        specs.append(parse_table(name, {**defaults, **(overrides or {})}))
    return specs


def load_declaration(path: Path = DECLARATION_FILE) -> list[TableSpec]:
    """Read and validate the declaration file."""
    with open(path, encoding="utf-8") as file:
        return parse_declaration(yaml.safe_load(file))
