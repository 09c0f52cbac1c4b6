"""Production mode end to end: PostgreSQL source and warehouse, one schema per zone, logins.

One ``zone-marts refresh`` (extraction, dbt, gate, publish of every zone) runs once for the
module, as a password-protected pipeline role, on a demo Base Opération at scale 0.02. The
tests then connect as zone logins and read what they may, and look for the password in
everything the run printed or stored.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from postgres_roles import drop_zone_roles
from psycopg import sql

from dagster_project.access.roles import grant_zone
from dagster_project.zones import load_zones

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
ZONES = [zone.code for zone in load_zones()]
REPUBLISH = """
import dagster as dg
from dagster_project.definitions import defs
job = defs.resolve_job_def("publish_zones")
result = job.execute_in_process(
    instance=dg.DagsterInstance.get(), partition_key="{zone}", raise_on_error=False
)
raise SystemExit(0 if result.success else 1)
"""


@dataclass
class ProductionRun:
    admin_url: str
    warehouse_admin_url: str
    password: str
    env: dict[str, str]
    output: str
    root: Path


def _url(admin_url: str, database: str, user: str | None = None, password: str = "") -> str:
    base = admin_url.rpartition("/")[0]
    if user:
        base = f"postgresql://{user}:{password}@{base.rpartition('@')[2]}"
    return f"{base}/{database}"


def _admin(admin_url: str, *statements: sql.Composable) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def _run(env: dict[str, str], *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def production(postgres_admin_url, tmp_path_factory) -> Iterator[ProductionRun]:
    """Run the pipeline once; the databases and the pipeline role are dropped at the end.

    Module-scoped (so not built on make_postgres_database, which is per test) because the run
    takes about a minute and a half and every test here reads its result.
    """
    suffix = uuid.uuid4().hex[:10]
    etl, password = f"zm_etl_{suffix}", uuid.uuid4().hex
    source, warehouse = f"zm_src_{suffix}", f"zm_wh_{suffix}"
    root = tmp_path_factory.mktemp("production")
    (root / "home").mkdir()
    (root / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ZONE_MARTS_", "BASE_OPERATION_", "WAREHOUSE_", "DBT_PG_"))
    }
    env.update(
        ZONE_MARTS_MODE="production",
        BASE_OPERATION_URL=_url(postgres_admin_url, source, etl, password),
        WAREHOUSE_URL=_url(postgres_admin_url, warehouse, etl, password),
        ZONE_MARTS_DATA_DIR=str(root / "data"),
        ZONE_MARTS_DIR=str(root / "marts"),
        DAGSTER_HOME=str(root / "home"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    ident = sql.Identifier
    _admin(
        postgres_admin_url,
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(ident(etl), sql.Literal(password)),
        sql.SQL("CREATE DATABASE {}").format(ident(source)),
        sql.SQL("CREATE DATABASE {} OWNER {}").format(ident(warehouse), ident(etl)),
    )
    try:
        source_admin_url = _url(postgres_admin_url, source)
        generated = _run(
            env, str(BIN / "zone-marts"), "generate", "--url", source_admin_url, "--scale", "0.02"
        )
        assert generated.returncode == 0, generated.stderr[-3000:]
        _admin(
            source_admin_url,
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(ident(etl)),
        )
        refreshed = _run(env, str(BIN / "zone-marts"), "refresh")
        output = refreshed.stdout + refreshed.stderr
        assert refreshed.returncode == 0, output[-4000:]
        yield ProductionRun(
            postgres_admin_url,
            _url(postgres_admin_url, warehouse),
            password,
            env,
            output,
            root,
        )
    finally:
        _admin(
            postgres_admin_url,
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident(warehouse)),
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident(source)),
            sql.SQL("DROP ROLE IF EXISTS {}").format(ident(etl)),
        )
        with psycopg.connect(postgres_admin_url, autocommit=True) as connection:
            drop_zone_roles(connection, warehouse)


@pytest.fixture
def make_login(production) -> Iterator:
    """Return a factory of LOGIN roles granted one zone each; all are dropped at the end."""
    created: list[str] = []

    def create(zone_code: str) -> str:
        name, password = f"zm_bi_{zone_code}_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        _admin(
            production.admin_url,
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            ),
        )
        created.append(name)
        grant_zone(production.warehouse_admin_url, zone_code, name)
        database = production.warehouse_admin_url.rpartition("/")[2]
        return _url(production.admin_url, database, name, password)

    yield create
    for name in created:
        _admin(production.admin_url, sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def read(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return connection.execute(query).fetchall()


def test_every_zone_schema_matches_marts(production):
    for zone in ZONES:
        published = read(
            production.warehouse_admin_url, f"SELECT count(*) FROM {zone}.fct_order_lines"
        )
        expected = read(
            production.warehouse_admin_url,
            f"SELECT count(*) FROM marts.fct_order_lines WHERE zone_code = '{zone}'",
        )
        assert published == expected
        assert published[0][0] > 0


@pytest.mark.parametrize("zone", ZONES)
def test_zone_login_reads_only_its_zone(production, make_login, zone):
    url = make_login(zone)
    other = next(code for code in ZONES if code != zone)
    assert read(url, f"SELECT count(*) FROM {zone}.fct_order_lines")[0][0] > 0
    for relation in (
        f"{other}.fct_order_lines",
        "raw.sales_order_lines",
        "staging.stg_base_operation__customers",
        "marts.fct_order_lines",
        f"{zone}__quarantine._quarantine",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            read(url, f"SELECT * FROM {relation} LIMIT 1")


def test_login_reads_after_second_publish(production, make_login):
    zone = ZONES[0]
    url = make_login(zone)
    before = read(url, f"SELECT max(published_at) FROM {zone}._publish_log")
    republished = _run(production.env, sys.executable, "-c", REPUBLISH.format(zone=zone))
    assert republished.returncode == 0, republished.stderr[-3000:]
    after = read(url, f"SELECT max(published_at) FROM {zone}._publish_log")
    assert after > before
    assert read(url, f"SELECT count(*) FROM {zone}.fct_order_lines")[0][0] > 0


def test_reconcile_runs_on_postgres_warehouse(production):
    # reconcile used to refuse production mode, though the PostgreSQL loader can delete keys.
    reconciled = _run(production.env, str(BIN / "zone-marts"), "reconcile", "--table", "carriers")
    assert reconciled.returncode == 0, reconciled.stderr[-3000:]
    assert "carriers: read" in reconciled.stdout
    assert "deleted 0" in reconciled.stdout


def test_password_never_printed_or_stored(production):
    assert production.password not in production.output
    for path in production.root.rglob("*"):
        if path.is_file():
            assert production.password.encode() not in path.read_bytes(), path
