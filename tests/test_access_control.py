"""Zone access on PostgreSQL: a login granted one zone reads that schema and nothing else."""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
import pytest
from psycopg import sql

from dagster_project.access.commands import run_grant_access
from dagster_project.access.roles import AccessError, grant_zone, revoke_zone
from dagster_project.access.secrets import mask_secrets, mask_url
from dagster_project.publish.log import PublishEntry
from dagster_project.publish.postgres import publish_to_postgres
from dagster_project.zones import ZoneConfigError

PRIVATE = ("raw", "staging", "intermediate", "marts", "idf__candidate", "idf__quarantine")


def publish(warehouse_url: str, tmp_path: Path, zone_code: str, amount: int) -> None:
    """Publish a one-table candidate (with one quarantined row) as the zone's schema."""
    candidate = tmp_path / f"{zone_code}.duckdb"
    candidate.unlink(missing_ok=True)
    with duckdb.connect(str(candidate)) as connection:
        connection.execute(
            f"CREATE TABLE fct_order_lines AS SELECT '{zone_code}' AS zone_code, "
            f"{amount} AS net_amount"
        )
        connection.execute("CREATE TABLE _quarantine AS SELECT 'fct_order_lines' AS table_name")
    entry = PublishEntry("run", zone_code, datetime.now(UTC), [], {"fct_order_lines": 1}, [], [])
    publish_to_postgres(candidate, warehouse_url, zone_code, entry)


@pytest.fixture
def warehouse_url(postgres_database, tmp_path) -> str:
    """A warehouse with private pipeline schemas, zones idf and hdf published, a candidate left."""
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        for schema in ("raw", "staging", "intermediate", "marts"):
            connection.execute(f"CREATE SCHEMA {schema}")
            connection.execute(f"CREATE TABLE {schema}.secret AS SELECT 1 AS value")
    publish(postgres_database, tmp_path, "idf", 10)
    publish(postgres_database, tmp_path, "hdf", 20)
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        # A candidate being built when the login connects.
        connection.execute("CREATE SCHEMA idf__candidate")
        connection.execute("CREATE TABLE idf__candidate.secret AS SELECT 1 AS value")
    return postgres_database


@pytest.fixture
def login(postgres_admin_url) -> Iterator[tuple[str, str]]:
    """A fresh LOGIN role (name, password), dropped at the end: roles are cluster-wide."""
    name = f"zm_bi_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    with psycopg.connect(postgres_admin_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )
    try:
        yield name, password
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def login_url(warehouse_url: str, user: str, password: str) -> str:
    base, _, database = warehouse_url.rpartition("/")
    host = base.rpartition("@")[2]
    return f"postgresql://{user}:{password}@{host}/{database}"


def read(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return connection.execute(query).fetchall()


def test_login_reads_own_zone(warehouse_url, login):
    user, password = login
    grant_zone(warehouse_url, "idf", user)
    rows = read(
        login_url(warehouse_url, user, password), "SELECT net_amount FROM idf.fct_order_lines"
    )
    assert rows == [(10,)]


@pytest.mark.parametrize("schema", ["hdf", *PRIVATE])
def test_login_denied_other_schemas(warehouse_url, login, schema):
    user, password = login
    grant_zone(warehouse_url, "idf", user)
    table = "fct_order_lines" if schema == "hdf" else "secret"
    if schema == "idf__quarantine":
        table = "_quarantine"
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        read(login_url(warehouse_url, user, password), f"SELECT * FROM {schema}.{table}")


def test_zone_grant_stays_in_its_warehouse(warehouse_url, login, make_postgres_database, tmp_path):
    # Roles belong to the whole server. With one reader role name per zone, another warehouse
    # on the same server granted its idf schema to the role that grant-access made here.
    user, password = login
    grant_zone(warehouse_url, "idf", user)
    other = make_postgres_database()
    publish(other, tmp_path, "idf", 30)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        read(login_url(other, user, password), "SELECT net_amount FROM idf.fct_order_lines")


def test_login_cannot_create_tables(warehouse_url, login):
    user, password = login
    grant_zone(warehouse_url, "idf", user)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        read(login_url(warehouse_url, user, password), "CREATE TABLE public.mine (x int)")


def test_login_reads_after_republish(warehouse_url, login, tmp_path):
    user, password = login
    grant_zone(warehouse_url, "idf", user)
    publish(warehouse_url, tmp_path, "idf", 11)
    rows = read(
        login_url(warehouse_url, user, password), "SELECT net_amount FROM idf.fct_order_lines"
    )
    assert rows == [(11,)]


def test_grant_twice_then_revoke(warehouse_url, login):
    user, password = login
    url = login_url(warehouse_url, user, password)
    grant_zone(warehouse_url, "idf", user)
    grant_zone(warehouse_url, "idf", user)
    assert read(url, "SELECT count(*) FROM idf.fct_order_lines") == [(1,)]
    revoke_zone(warehouse_url, "idf", user)
    revoke_zone(warehouse_url, "idf", user)
    # Without a zone the login has not even CONNECT on the warehouse database.
    with pytest.raises(psycopg.OperationalError, match="CONNECT privilege"):
        read(url, "SELECT count(*) FROM idf.fct_order_lines")


def test_hostile_zone_code_refused(warehouse_url, login):
    user, _ = login
    with pytest.raises(ZoneConfigError, match="invalid zone code"):
        grant_zone(warehouse_url, 'nord"; drop schema raw; --', user)
    assert read(warehouse_url, "SELECT count(*) FROM raw.secret") == [(1,)]


def test_hostile_user_name_refused(warehouse_url):
    with pytest.raises(AccessError, match="invalid user name"):
        grant_zone(warehouse_url, "idf", 'x"; drop schema raw; --')
    assert read(warehouse_url, "SELECT count(*) FROM raw.secret") == [(1,)]


@pytest.mark.parametrize(
    ("setup", "message", "cleanup"),
    [
        (["ALTER ROLE {user} NOLOGIN"], "cannot log in", []),
        (["ALTER ROLE {user} CREATEROLE"], "has CREATEROLE", []),
        (["GRANT pg_read_all_data TO {user}"], "is a member of pg_read_all_data", []),
        (
            ["GRANT USAGE ON SCHEMA hdf TO {user}"],
            "can already use schema hdf",
            ["REVOKE USAGE ON SCHEMA hdf FROM {user}"],
        ),
        (
            ["CREATE ROLE {user}_viewer", "GRANT {user} TO {user}_viewer"],
            "is granted to {user}_viewer",
            ["DROP ROLE {user}_viewer"],
        ),
    ],
)
def test_privileged_login_refused(warehouse_url, login, setup, message, cleanup):
    # Such a login was granted a zone and then read other zones through what it already had.
    user, _ = login
    with psycopg.connect(warehouse_url, autocommit=True) as connection:
        for statement in setup:
            connection.execute(statement.format(user=user))
    try:
        with pytest.raises(AccessError, match=message.format(user=user)):
            grant_zone(warehouse_url, "idf", user)
    finally:
        with psycopg.connect(warehouse_url, autocommit=True) as connection:
            for statement in cleanup:
                connection.execute(statement.format(user=user))


def test_revoke_removes_direct_grants(warehouse_url, login, tmp_path):
    # A publish carries the old schema's grants over, so a grant made to the login itself
    # survived --revoke, which only removed the membership.
    user, password = login
    grant_zone(warehouse_url, "idf", user)
    # The hdf membership keeps the login's CONNECT on the database.
    grant_zone(warehouse_url, "hdf", user)
    with psycopg.connect(warehouse_url, autocommit=True) as connection:
        connection.execute(f'GRANT USAGE ON SCHEMA idf TO "{user}"')
        connection.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA idf TO "{user}"')
    publish(warehouse_url, tmp_path, "idf", 12)
    revoke_zone(warehouse_url, "idf", user)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        read(login_url(warehouse_url, user, password), "SELECT * FROM idf.fct_order_lines")


def test_unknown_login_refused(warehouse_url):
    with pytest.raises(AccessError, match="login 'nobody_here' not found"):
        grant_zone(warehouse_url, "idf", "nobody_here")


def test_command_refuses_hostile_zone(warehouse_url, monkeypatch, capsys):
    monkeypatch.setenv("ZONE_MARTS_MODE", "production")
    monkeypatch.setenv("BASE_OPERATION_URL", warehouse_url)
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)
    args = argparse.Namespace(zone='nord"; drop schema x; --', user="someone", revoke=False)
    assert run_grant_access(args) == 2
    assert "invalid zone code" in capsys.readouterr().out


def test_mask_url_hides_password():
    url = "postgresql://etl:p%40ss@db.example:5432/warehouse"
    assert mask_url(url) == "postgresql://etl:***@db.example:5432/warehouse"
    assert mask_secrets(f"failed for {url} with p@ss", url) == (
        "failed for postgresql://etl:***@db.example:5432/warehouse with ***"
    )


def test_mask_url_hides_unparsable_url():
    # urllib raised "Port out of range" from inside mask_url, and the traceback held the URL.
    assert mask_url("postgresql://u:my pass@127.0.0.1:99999/db") == (
        "<postgresql URL not shown: it does not parse>"
    )
