"""Map each source column to the expression that reads it and its DuckDB landing type.

Every column gets an explicit rule, so a value lands exactly or the load fails naming it:

PostgreSQL (by the base type, so a domain lands as the type it constrains)
  - integers, real, double, boolean, text/varchar/char, date, time, timestamp, timestamptz,
    uuid, json/jsonb, bytea, interval and enums are read in ADBC's binary form. They land as
    the matching DuckDB type (an enum as VARCHAR), and arrays of the scalar ones as a LIST.
    Timestamps travel as UTC microseconds, so the session time zone never matters. Dates and
    timestamps equal to 'infinity' or '-infinity' land as infinity in either warehouse.
  - numeric(p,s) with p <= 38 is read as text and cast to DECIMAL(p,s) in DuckDB: exact.
  - numeric without a declared precision, or with p > 38 (beyond DuckDB's DECIMAL), lands as
    VARCHAR holding PostgreSQL's own text ('1.10', 'NaN', 'Infinity'), so nothing is rounded
    and NaN never becomes 0.
  - money lands as DECIMAL(38,4) from ``money::numeric`` (exact for locales with up to four
    fraction digits); timetz as TIME WITH TIME ZONE from its text.
  - arrays of other element types land as JSON (``array_to_json``); every other type
    (xml, inet, ranges, geometric, bit strings, composites...) lands as VARCHAR from its text.
SQLite (by the declared type, following SQLite's own affinity rules)
  - every value is read as text and cast in DuckDB, because the ADBC driver fixes each column's
    Arrow type from the first rows and fails when a later row differs. REAL values are printed
    with 17 significant digits, which round-trips every double.
  - TIMESTAMPTZ / "WITH TIME ZONE" -> TIMESTAMP WITH TIME ZONE, DATETIME/TIMESTAMP ->
    TIMESTAMP, DATE, TIME, INT* -> BIGINT, REAL/FLOAT/DOUBLE -> DOUBLE, BOOL* -> BOOLEAN,
    NUMERIC(p,s)/DECIMAL(p,s) -> DECIMAL(p,s), UUID, JSON, BLOB (read as is), text types and
    anything else (including an empty declared type) -> VARCHAR.
  - SQLite itself stores a NUMERIC value as a REAL with 15 significant digits when it has more,
    so such a value is already rounded in the source. A REAL that an INT* or DECIMAL(p,s)
    column holds with more fraction digits than its type (1.5 in an INTEGER column), or text
    in an INT* column ('0x10'), fails the load naming the column instead of being rounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from dagster_project.extract.sql import quote_identifier

LOADED_AT = "_loaded_at"
MAX_DECIMAL_PRECISION = 38

TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"
INTEGER_CURSOR_TYPES = ("SMALLINT", "INTEGER", "BIGINT")
# No time zone is more than 14 hours ahead of UTC, so a naive local time is at most this far
# from the UTC time it represents.
MAX_UTC_OFFSET = timedelta(hours=14)
CURSOR_TYPES = (TIMESTAMPTZ, "TIMESTAMP", "DATE", *INTEGER_CURSOR_TYPES)


@dataclass(frozen=True)
class SourceColumn:
    """One source column: how to select it and the DuckDB type it lands as."""

    name: str
    source_type: str
    select_sql: str
    landing_type: str
    position: int | None = None
    """PostgreSQL's attnum: a column dropped and added again under the same name gets a new one.
    None for SQLite, whose column numbers shift when an earlier column is dropped."""

    @property
    def is_read_as_text(self) -> bool:
        return self.select_sql != quote_identifier(self.name)


_PG_SCALARS = {
    "int2": "SMALLINT",
    "int4": "INTEGER",
    "int8": "BIGINT",
    "float4": "FLOAT",
    "float8": "DOUBLE",
    "bool": "BOOLEAN",
    "text": "VARCHAR",
    "varchar": "VARCHAR",
    "bpchar": "VARCHAR",
    "name": "VARCHAR",
    "date": "DATE",
    "time": "TIME",
    "timestamp": "TIMESTAMP",
    "timestamptz": TIMESTAMPTZ,
    "uuid": "UUID",
}
_PG_NATIVE = {
    **_PG_SCALARS,
    "json": "JSON",
    "jsonb": "JSON",
    "bytea": "BLOB",
    "interval": "INTERVAL",
}


def numeric_precision_scale(typmod: int) -> tuple[int, int] | None:
    """Decode PostgreSQL's numeric typmod; None when no precision was declared."""
    if typmod < 4:
        return None
    value = typmod - 4
    return (value >> 16) & 0xFFFF, value & 0xFFFF


def postgres_column(
    name: str,
    type_name: str,
    type_kind: str,
    typmod: int,
    element_type_name: str | None,
    declared_type: str,
) -> SourceColumn:
    """Map a PostgreSQL column from its base type's ``typname``, ``typtype`` and typmod.

    ``type_kind`` is ``pg_type.typtype`` ('e' for an enum) or 'A' for an array.
    """
    quoted = quote_identifier(name)

    def column(select_sql: str, landing_type: str) -> SourceColumn:
        return SourceColumn(name, declared_type, select_sql, landing_type)

    if type_kind == "A":
        element = _PG_SCALARS.get(element_type_name or "")
        if element:
            return column(quoted, f"{element}[]")
        return column(f"array_to_json({quoted})::text", "JSON")
    if type_kind == "e":
        return column(quoted, "VARCHAR")
    if type_name in _PG_NATIVE:
        return column(quoted, _PG_NATIVE[type_name])
    if type_name == "numeric":
        precision_scale = numeric_precision_scale(typmod)
        if precision_scale:
            precision, scale = precision_scale
            if precision <= MAX_DECIMAL_PRECISION and 0 <= scale <= precision:
                return column(f"{quoted}::text", f"DECIMAL({precision},{scale})")
        return column(f"{quoted}::text", "VARCHAR")
    if type_name == "money":
        return column(f"{quoted}::numeric::text", "DECIMAL(38,4)")
    if type_name == "timetz":
        return column(f"{quoted}::text", "TIME WITH TIME ZONE")
    return column(f"{quoted}::text", "VARCHAR")


_SQLITE_DECIMAL = re.compile(r"^(?:NUMERIC|DECIMAL)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$")


def sqlite_landing_type(declared_type: str) -> str:
    """Pick the landing type for a SQLite declared column type."""
    declared = declared_type.upper().strip()
    if "INT" in declared:
        return "BIGINT"
    if "TIMESTAMPTZ" in declared or "WITH TIME ZONE" in declared:
        return TIMESTAMPTZ
    if "TIMESTAMP" in declared or "DATETIME" in declared:
        return "TIMESTAMP"
    if declared == "DATE":
        return "DATE"
    if declared == "TIME":
        return "TIME"
    if any(word in declared for word in ("REAL", "FLOA", "DOUB")):
        return "DOUBLE"
    if declared.startswith("BOOL"):
        return "BOOLEAN"
    if declared in ("UUID", "JSON", "BLOB"):
        return declared
    match = _SQLITE_DECIMAL.match(declared)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2) or 0)
        if precision <= MAX_DECIMAL_PRECISION and scale <= precision:
            return f"DECIMAL({precision},{scale})"
    return "VARCHAR"


def sqlite_column(name: str, declared_type: str) -> SourceColumn:
    """Map a SQLite column; every value but a BLOB is selected as text."""
    quoted = quote_identifier(name)
    landing_type = sqlite_landing_type(declared_type)
    if landing_type == "BLOB":
        select_sql = quoted
    elif landing_type == "DOUBLE":
        select_sql = (
            f"CASE WHEN typeof({quoted}) = 'real' THEN printf('%!.17g', {quoted}) "
            f"WHEN typeof({quoted}) = 'text' THEN {_not_exact(quoted, landing_type)} "
            f"ELSE CAST({quoted} AS TEXT) END"
        )
    elif landing_type == "BIGINT" or landing_type.startswith("DECIMAL("):
        select_sql = _sqlite_exact_number(quoted, landing_type)
    elif landing_type == "DATE":
        # DuckDB casts '2026-01-05 10:00' to the date alone: a time of day written after the
        # date other than midnight (digits other than 0 before any offset) fails the load.
        time_written = f"ltrim(substr(trim({quoted}), 12), '0:.')"
        select_sql = (
            f"CASE WHEN typeof({quoted}) = 'text' AND length(trim({quoted})) > 10 "
            f"AND {time_written} <> '' AND substr({time_written}, 1, 1) NOT IN ('+', '-', 'Z') "
            f"THEN {_not_exact(quoted, landing_type)} ELSE CAST({quoted} AS TEXT) END"
        )
    else:
        select_sql = f"CAST({quoted} AS TEXT)"
    return SourceColumn(name, declared_type, select_sql, landing_type)


def _not_exact(quoted: str, landing_type: str) -> str:
    """Return the column's text prefixed with a message, so that its cast fails and names it."""
    return f"'not exact as {landing_type}: ' || CAST({quoted} AS TEXT)"


def _sqlite_exact_number(quoted: str, landing_type: str) -> str:
    """Select an integer or decimal column as text that DuckDB casts without rounding.

    SQLite keeps a value that its column's affinity cannot convert without loss: a REAL (1.5
    in an INTEGER column, 1.005 in a DECIMAL(10,2) one) or text that is not a number ('0x10',
    '1_000'). DuckDB's cast would round the REAL or read the text as hexadecimal or with digit
    separators. Such a value is prefixed with a message instead, so the cast fails and the load
    names the column.
    """
    if landing_type == "BIGINT":
        exact = f"typeof({quoted}) IN ('integer', 'null')"
    else:
        # A REAL is judged by its 15 significant digits, as SQLite prints it: 59.7 computed as
        # 59.699999999999996 fits DECIMAL(10,2), while 1.005 does not.
        scale = int(landing_type[:-1].split(",")[1])
        printed = f"CAST(printf('%.15g', {quoted}) AS REAL)"
        exact = (
            f"typeof({quoted}) IN ('integer', 'null') "
            f"OR (typeof({quoted}) = 'real' AND round({printed}, {scale}) = {printed})"
        )
    return (
        f"CASE WHEN {exact} THEN CAST({quoted} AS TEXT) ELSE {_not_exact(quoted, landing_type)} END"
    )
