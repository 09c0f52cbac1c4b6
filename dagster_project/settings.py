"""Pick the embedded or production environment from environment variables.

Embedded (the default) needs no server: the Base Opération is a SQLite file, the warehouse a
DuckDB file and each zone's mart a DuckDB file under marts/. Production reads a PostgreSQL Base
Opération and builds the warehouse and the zone schemas in PostgreSQL. Every other module reads
its paths and URLs from this one, so switching is one variable: ZONE_MARTS_MODE.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, parse_qsl, urlsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
ZONES_FILE = PROJECT_DIR / "marts" / "zones.yml"

MODES = ("embedded", "production")

EXTRACT_MEMORY_LIMIT_VARIABLE = "ZONE_MARTS_EXTRACT_MEMORY_LIMIT"
DEFAULT_EXTRACT_MEMORY_LIMIT = "256MB"
GATE_MEMORY_LIMIT_VARIABLE = "ZONE_MARTS_GATE_MEMORY_LIMIT"
DEFAULT_GATE_MEMORY_LIMIT = "512MB"


class SettingsError(ValueError):
    """An environment variable is missing or invalid."""


@dataclass(frozen=True)
class Settings:
    mode: str
    source_url: str
    warehouse_path: Path
    warehouse_url: str | None
    marts_dir: Path
    data_dir: Path

    @property
    def is_production(self) -> bool:
        return self.mode == "production"

    @property
    def dbt_target(self) -> str:
        return "postgres" if self.is_production else "duckdb"


# How to write the characters that end the user name or password part of a URL.
PERCENT_ENCODING_HINT = (
    "percent-encode such characters in the user name and password (# as %23, @ as %40, / as "
    "%2F, ? as %3F, a space as %20, % as %25)"
)
BAD_PERCENT_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Query parameters of WAREHOUSE_URL that dbt's profile passes on (see dbt_project/profiles.yml).
WAREHOUSE_QUERY_PARAMETERS = ("sslmode",)


def check_postgres_url(variable: str, url: str, query_parameters: tuple[str, ...] | None = None):
    """Raise SettingsError when ``url`` is not one plain postgresql:// URL with a database.

    The message never repeats the URL: a password that breaks the URL's syntax could not be
    masked in it. ``query_parameters`` lists the only parameters allowed, when restricted.
    """
    problem = None
    parts = urlsplit(url)
    if any(character.isspace() for character in url):
        problem = f"it contains a space; {PERCENT_ENCODING_HINT}"
    elif parts.fragment or "#" in url or url.count("@") > 1 or "@" in parts.path + parts.query:
        problem = f"a character of the user name or password ends it early; {PERCENT_ENCODING_HINT}"
    elif BAD_PERCENT_ESCAPE.search(url):
        problem = f"it contains a % not followed by two hexadecimal digits; {PERCENT_ENCODING_HINT}"
    elif "," in parts.netloc:
        problem = "it names several hosts; give one host"
    elif not parts.path.strip("/"):
        problem = "it names no database; end it with /<database>"
    elif not _has_valid_port(parts):
        problem = "its port is not a number from 0 to 65535"
    if problem is None and query_parameters is not None:
        unsupported = sorted({name for name, _ in parse_qsl(parts.query)} - set(query_parameters))
        if unsupported:
            problem = (
                f"dbt cannot apply its query parameters {', '.join(unsupported)}; put the user "
                f"and password before the host (allowed parameters: {', '.join(query_parameters)})"
            )
    if problem:
        raise SettingsError(f"{variable} is an invalid PostgreSQL URL: {problem}.")


def _has_valid_port(parts: SplitResult) -> bool:
    try:
        return parts.port is None or 0 <= parts.port <= 65535
    except ValueError:
        # urllib raises for a port that is not a number or is out of range.
        return False


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    mode = env.get("ZONE_MARTS_MODE", "embedded")
    if mode not in MODES:
        raise SettingsError(
            f"ZONE_MARTS_MODE={mode!r} is invalid: set it to one of {', '.join(MODES)}."
        )
    data_dir = Path(env.get("ZONE_MARTS_DATA_DIR", PROJECT_DIR / "data"))
    default_source = f"sqlite:///{data_dir / 'base_operation.sqlite'}"
    source_url = env.get("BASE_OPERATION_URL", default_source)
    warehouse_url = env.get("WAREHOUSE_URL")
    if mode == "production":
        if not source_url.startswith("postgresql://"):
            raise SettingsError(
                "ZONE_MARTS_MODE=production needs BASE_OPERATION_URL=postgresql://... "
                "(the production Base Opération)."
            )
        if not warehouse_url or not warehouse_url.startswith("postgresql://"):
            raise SettingsError(
                "ZONE_MARTS_MODE=production needs WAREHOUSE_URL=postgresql://... "
                "(the PostgreSQL database that holds the warehouse and the zone schemas)."
            )
        check_postgres_url("WAREHOUSE_URL", warehouse_url, WAREHOUSE_QUERY_PARAMETERS)
    elif warehouse_url:
        raise SettingsError(
            "WAREHOUSE_URL is set but ZONE_MARTS_MODE is not production, so the warehouse would "
            "be the DuckDB file WAREHOUSE_PATH: set ZONE_MARTS_MODE=production, or unset "
            "WAREHOUSE_URL."
        )
    if source_url.startswith("postgresql://"):
        check_postgres_url("BASE_OPERATION_URL", source_url)
    # Read here too, so a bad value stops a command before its run starts.
    extract_memory_limit(env)
    gate_memory_limit(env)
    warehouse_path = Path(env.get("WAREHOUSE_PATH", data_dir / "warehouse.duckdb"))
    marts_dir = Path(env.get("ZONE_MARTS_DIR", PROJECT_DIR / "marts"))
    if marts_dir.exists() and not marts_dir.is_dir():
        raise SettingsError(
            f"ZONE_MARTS_DIR={str(marts_dir)!r} is not a directory: it holds each zone's mart "
            "and candidate, so point it at a directory (it is created if missing)."
        )
    if mode == "embedded" and marts_dir.resolve() in warehouse_path.resolve().parents:
        raise SettingsError(
            f"WAREHOUSE_PATH={str(warehouse_path)!r} is inside ZONE_MARTS_DIR, where each zone's "
            "mart is published for its managers: a zone mart there would receive every zone's "
            "rows. Put the warehouse elsewhere, such as data/warehouse.duckdb."
        )
    return Settings(
        mode=mode,
        source_url=source_url,
        warehouse_path=warehouse_path,
        warehouse_url=warehouse_url,
        marts_dir=marts_dir,
        data_dir=data_dir,
    )


def memory_limit(variable: str, default: str, environ: dict[str, str] | None = None) -> str:
    """Return the DuckDB memory limit set by ``variable`` (or ``default``), checked."""
    env = os.environ if environ is None else environ
    value = env.get(variable, default).strip()
    size = re.fullmatch(r"(\d+(\.\d+)?)\s*[KMGT]i?B", value, re.IGNORECASE)
    # A limit of 0 leaves DuckDB no memory even to roll back, so it is rejected too.
    if not size or float(size.group(1)) == 0:
        raise SettingsError(
            f"{variable}={value!r} is invalid: give a size such as {default} or 2GB."
        )
    return value


def extract_memory_limit(environ: dict[str, str] | None = None) -> str:
    """Return the memory an extraction may use in the embedded warehouse."""
    return memory_limit(EXTRACT_MEMORY_LIMIT_VARIABLE, DEFAULT_EXTRACT_MEMORY_LIMIT, environ)


def gate_memory_limit(environ: dict[str, str] | None = None) -> str:
    """Return the memory DuckDB may use to build and audit one zone's candidate."""
    return memory_limit(GATE_MEMORY_LIMIT_VARIABLE, DEFAULT_GATE_MEMORY_LIMIT, environ)
