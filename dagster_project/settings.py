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
    problem = _url_problem(url, query_parameters)
    if problem:
        raise SettingsError(f"{variable} is an invalid PostgreSQL URL: {problem}.")


def _url_problem(url: str, query_parameters: tuple[str, ...] | None) -> str | None:
    """Return what makes ``url`` unusable by libpq and dbt alike, or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        # urllib reads brackets as an IPv6 address and fails on the text between them.
        return f"it does not parse as a URL; {PERCENT_ENCODING_HINT}, [ as %5B and ] as %5D"

    # Characters of the password that change where urllib, libpq and dbt split the URL.
    if any(character.isspace() for character in url):
        return f"it contains a space; {PERCENT_ENCODING_HINT}"
    if parts.fragment or "#" in url or url.count("@") > 1 or "@" in parts.path + parts.query:
        return f"a character of the user name or password ends it early; {PERCENT_ENCODING_HINT}"
    if BAD_PERCENT_ESCAPE.search(url):
        return f"it contains a % not followed by two hexadecimal digits; {PERCENT_ENCODING_HINT}"
    if "," in parts.netloc:
        return "it names several hosts; give one host"
    if not host or "%" in host:
        return "it names no host (a Unix socket directory is not supported); give a host name"
    if not parts.path.strip("/") or "/" in parts.path.strip("/"):
        return "it names no database, or more than a database; end it with /<database>"
    if not _has_valid_port(parts):
        return "its port is not a number from 1 to 65535"

    parameters = {name for name, _ in parse_qsl(parts.query)}
    if "password" in parameters:
        return (
            "it has a password query parameter, which errors would show; put the password "
            f"before the host instead ({PERCENT_ENCODING_HINT})"
        )
    unsupported = sorted(parameters - set(query_parameters)) if query_parameters is not None else []
    if unsupported:
        return (
            f"dbt cannot apply its query parameters {', '.join(unsupported)}; put the user "
            f"and password before the host (allowed parameters: {', '.join(query_parameters)})"
        )
    return None


def _has_valid_port(parts: SplitResult) -> bool:
    try:
        return parts.port is None or 1 <= parts.port <= 65535
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
            f"ZONE_MARTS_DIR={str(marts_dir)!r} is invalid: it is a file, not a directory. "
            "Point it at the directory for the zones' marts and candidates (created if missing)."
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
