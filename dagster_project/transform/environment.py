"""Environment variables that point dbt's profiles.yml at the configured warehouse."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from dagster_project.settings import DBT_PROJECT_DIR, Settings

MACROS_DIR = DBT_PROJECT_DIR / "macros"
MACROS_DIGEST_VARIABLE = "ZONE_MARTS_DBT_MACROS_DIGEST"

# The dbt installed beside this Python, so a virtual environment works without being activated.
_BESIDE_PYTHON = Path(sys.executable).parent / "dbt"
DBT_EXECUTABLE = str(_BESIDE_PYTHON) if _BESIDE_PYTHON.exists() else (shutil.which("dbt") or "dbt")


def macros_digest(macros_dir: Path = MACROS_DIR) -> str:
    """Return a SHA-256 of the path and text of every file under the dbt project's macros."""
    digest = hashlib.sha256()
    for path in sorted(macros_dir.rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(macros_dir)}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def dbt_environment(settings: Settings) -> dict[str, str]:
    """Return DBT_TARGET, WAREHOUSE_PATH, the macros digest and, in production, DBT_PG_* from
    WAREHOUSE_URL."""
    environment = {
        "DBT_TARGET": settings.dbt_target,
        "WAREHOUSE_PATH": str(settings.warehouse_path.resolve()),
        # dbt's checksums cover models, tests and sources but not macros. The key tests on
        # changed rows read their whole table again when this digest changes.
        MACROS_DIGEST_VARIABLE: macros_digest(),
    }
    if settings.is_production and settings.warehouse_url:
        # load_settings checked the URL: one host, a port, one database.
        url = urlsplit(settings.warehouse_url)
        environment |= {
            "DBT_PG_HOST": unquote(url.hostname),
            "DBT_PG_PORT": str(url.port or 5432),
            "DBT_PG_USER": unquote(url.username or "postgres"),
            "DBT_PG_PASSWORD": unquote(url.password or ""),
            "DBT_PG_DBNAME": unquote(url.path.strip("/")),
            # libpq's default, used when the URL sets no sslmode.
            "DBT_PG_SSLMODE": dict(parse_qsl(url.query)).get("sslmode", "prefer"),
        }
    return environment


@contextmanager
def dbt_environment_applied(settings: Settings) -> Iterator[None]:
    """Set the dbt variables for ``settings`` while the block runs, then restore the old values.

    dagster-dbt passes this process's environment to every dbt command, so the variables are set
    only around a dbt call. Importing the definitions leaves the environment untouched, and a
    process that loads settings for several warehouses (tests, benchmarks) gets no stale value.
    """
    variables = dbt_environment(settings)
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
