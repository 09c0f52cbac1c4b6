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
    # Read here too, so a bad value stops a command before its run starts.
    extract_memory_limit(env)
    gate_memory_limit(env)
    return Settings(
        mode=mode,
        source_url=source_url,
        warehouse_path=Path(env.get("WAREHOUSE_PATH", data_dir / "warehouse.duckdb")),
        warehouse_url=warehouse_url,
        marts_dir=Path(env.get("ZONE_MARTS_DIR", PROJECT_DIR / "marts")),
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
