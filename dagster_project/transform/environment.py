"""Environment variables that point dbt's profiles.yml at the configured warehouse."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dagster_project.settings import Settings

# The dbt installed beside this Python, so a virtual environment works without being activated.
_BESIDE_PYTHON = Path(sys.executable).parent / "dbt"
DBT_EXECUTABLE = str(_BESIDE_PYTHON) if _BESIDE_PYTHON.exists() else (shutil.which("dbt") or "dbt")


def dbt_environment(settings: Settings) -> dict[str, str]:
    """Return DBT_TARGET, WAREHOUSE_PATH and, in production, DBT_PG_* from WAREHOUSE_URL."""
    environment = {
        "DBT_TARGET": settings.dbt_target,
        "WAREHOUSE_PATH": str(settings.warehouse_path.resolve()),
    }
    if settings.is_production and settings.warehouse_url:
        url = urlsplit(settings.warehouse_url)
        database = url.path.lstrip("/")
        if not database:
            raise ValueError(
                "WAREHOUSE_URL has no database name: use postgresql://user@host:5432/warehouse"
            )
        environment |= {
            "DBT_PG_HOST": url.hostname or "127.0.0.1",
            "DBT_PG_PORT": str(url.port or 5432),
            "DBT_PG_USER": unquote(url.username or "postgres"),
            "DBT_PG_PASSWORD": unquote(url.password or ""),
            "DBT_PG_DBNAME": database,
        }
    return environment


def export_dbt_environment(settings: Settings) -> None:
    """Set the dbt variables in this process, which dagster-dbt passes to every dbt command.

    Variables already set win, so an operator can still point dbt elsewhere.
    """
    for name, value in dbt_environment(settings).items():
        os.environ.setdefault(name, value)
