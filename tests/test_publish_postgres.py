"""Publishing a candidate to PostgreSQL: schema swap, publish log and grants, all or nothing."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
import pytest

from dagster_project.publish.embedded import PublishError
from dagster_project.publish.log import PublishEntry
from dagster_project.publish.postgres import publish_to_postgres, zone_reader_role


def entry(zone_code: str, run_id: str) -> PublishEntry:
    return PublishEntry(
        run_id=run_id,
        zone_code=zone_code,
        published_at=datetime.now(UTC),
        source_watermarks=[{"table_name": "sales_orders", "watermark": "2026-12-01T00:00:00Z"}],
        row_counts={"fct_order_lines": 3},
        checks_passed=["volume", "reconciliation"],
        checks_failed=[],
    )


def build_candidate(path: Path, version: int, extra_sql: str = "") -> Path:
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            f"""
            CREATE TABLE fct_order_lines AS
            SELECT i AS order_id, {version} AS version, 12.50::DECIMAL(12, 2) AS net_amount,
                   TIMESTAMPTZ '2026-11-01 08:00+00' AS ordered_at
            FROM range(3) AS r (i);
            CREATE TABLE dim_carriers AS SELECT 1 AS carrier_id, 'Rapide Sud' AS carrier_name;
            {extra_sql}
            """
        )
    return path


def database_of(url: str) -> str:
    return url.rpartition("/")[2]


@pytest.fixture
def zone(postgres_database):
    """A zone code with its reader role, both unique to the test, and the role dropped after."""
    zone_code = f"z{uuid.uuid4().hex[:8]}"
    role = zone_reader_role(database_of(postgres_database), zone_code)
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute(f'CREATE ROLE "{role}" NOLOGIN')
    yield zone_code
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute(f'DROP OWNED BY "{role}"')
        connection.execute(f'DROP ROLE "{role}"')


def rows(url: str, sql: str, role: str | None = None) -> list[tuple]:
    with psycopg.connect(url) as connection:
        if role:
            connection.execute(f'SET ROLE "{role}"')
        return connection.execute(sql).fetchall()


def test_publish_creates_readable_schema(tmp_path, postgres_database, zone):
    candidate = build_candidate(tmp_path / "c.duckdb", 1)
    granted = publish_to_postgres(candidate, postgres_database, zone, entry(zone, "run-1"))
    role = zone_reader_role(database_of(postgres_database), zone)
    assert granted == [role]
    lines = rows(postgres_database, f"select sum(net_amount) from {zone}.fct_order_lines", role)
    assert lines == [(pytest.approx(37.5),)]
    log = rows(postgres_database, f"select run_id, checks_passed from {zone}._publish_log")
    assert log == [("run-1", ["volume", "reconciliation"])]


def test_republish_keeps_log_and_grants(tmp_path, postgres_database, zone):
    publish_to_postgres(
        build_candidate(tmp_path / "c.duckdb", 1), postgres_database, zone, entry(zone, "run-1")
    )
    analyst = f"analyst_{zone}"
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute(f'CREATE ROLE "{analyst}" NOLOGIN')
        connection.execute(f'GRANT USAGE ON SCHEMA "{zone}" TO "{analyst}"')
        connection.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{zone}" TO "{analyst}"')
    try:
        granted = publish_to_postgres(
            build_candidate(tmp_path / "c.duckdb", 2),
            postgres_database,
            zone,
            entry(zone, "run-2"),
        )
        versions = rows(
            postgres_database, f"select distinct version from {zone}.fct_order_lines", analyst
        )
        log = rows(postgres_database, f"select run_id from {zone}._publish_log order by 1")
        schemas = rows(
            postgres_database,
            f"select nspname from pg_namespace where nspname like '{zone}%' order by 1",
        )
    finally:
        with psycopg.connect(postgres_database, autocommit=True) as connection:
            connection.execute(f'DROP OWNED BY "{analyst}"')
            connection.execute(f'DROP ROLE "{analyst}"')
    assert granted == sorted([analyst, zone_reader_role(database_of(postgres_database), zone)])
    assert versions == [(2,)]
    assert log == [("run-1",), ("run-2",)]
    # The candidate schema was swapped in; only the unreadable quarantine stays beside it.
    assert sorted(schemas) == [(zone,), (f"{zone}__quarantine",)]


def test_failed_publish_keeps_previous_schema(tmp_path, postgres_database, zone):
    publish_to_postgres(
        build_candidate(tmp_path / "c.duckdb", 1), postgres_database, zone, entry(zone, "run-1")
    )
    # ADBC cannot create a PostgreSQL column from a DuckDB UNION, so the load fails part-way.
    broken = build_candidate(
        tmp_path / "c.duckdb", 2, "CREATE TABLE zz_broken AS SELECT 1::UNION(a INT, b TEXT) AS u;"
    )
    with pytest.raises(PublishError, match="zz_broken"):
        publish_to_postgres(broken, postgres_database, zone, entry(zone, "run-2"))
    versions = rows(postgres_database, f"select distinct version from {zone}.fct_order_lines")
    schemas = rows(
        postgres_database, f"select nspname from pg_namespace where nspname like '{zone}%'"
    )
    assert versions == [(1,)]
    assert sorted(schemas) == [(zone,), (f"{zone}__quarantine",)]


def publish_version(tmp_path, url: str, zone: str, version: int) -> list[str]:
    candidate = build_candidate(tmp_path / "c.duckdb", version)
    return publish_to_postgres(candidate, url, zone, entry(zone, f"run-{version}"))


@pytest.mark.parametrize(
    ("statements", "named"),
    [
        (
            ["CREATE VIEW bi.daily AS SELECT sum(net_amount) FROM {zone}.fct_order_lines"],
            "view bi.daily",
        ),
        (
            ["CREATE TABLE bi.notes (id int, snapshot {zone}.dim_carriers)"],
            "column snapshot of table bi.notes",
        ),
        (
            [
                "CREATE FUNCTION bi.carriers() RETURNS bigint LANGUAGE sql "
                "BEGIN ATOMIC SELECT count(*) FROM {zone}.dim_carriers; END"
            ],
            "function bi.carriers()",
        ),
        (["CREATE FUNCTION {zone}.helper() RETURNS int LANGUAGE sql AS 'select 1'"], "helper()"),
        (
            [
                "CREATE TABLE bi.secured (id int)",
                "CREATE POLICY only_known ON bi.secured USING "
                "(id IN (SELECT carrier_id FROM {zone}.dim_carriers))",
            ],
            "policy only_known on table bi.secured",
        ),
    ],
)
def test_object_built_on_zone_stops_publish(tmp_path, postgres_database, zone, statements, named):
    # DROP SCHEMA ... CASCADE of the previous version used to drop such objects silently.
    publish_version(tmp_path, postgres_database, zone, 1)
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute("CREATE SCHEMA bi")
        for statement in statements:
            connection.execute(statement.format(zone=zone))
    with pytest.raises(PublishError, match=re.escape(named)):
        publish_version(tmp_path, postgres_database, zone, 2)
    versions = rows(postgres_database, f"select distinct version from {zone}.fct_order_lines")
    assert versions == [(1,)]


def test_open_reader_does_not_hold_publish(tmp_path, postgres_database, zone, monkeypatch):
    # A BI transaction left open on the zone made the publish wait on the drop of the old
    # version, and every new query on the zone wait behind the publish.
    monkeypatch.setattr("dagster_project.publish.postgres.LOCK_TIMEOUT", "1s")
    publish_version(tmp_path, postgres_database, zone, 1)
    reader = psycopg.connect(postgres_database)
    try:
        reader.execute(f"SELECT count(*) FROM {zone}.fct_order_lines").fetchall()
        publish_version(tmp_path, postgres_database, zone, 2)
        versions = rows(postgres_database, f"select distinct version from {zone}.fct_order_lines")
        assert versions == [(2,)]
        with pytest.raises(PublishError, match="still read by an open transaction"):
            publish_version(tmp_path, postgres_database, zone, 3)
    finally:
        reader.close()
    publish_version(tmp_path, postgres_database, zone, 4)
    schemas = rows(
        postgres_database, f"select nspname from pg_namespace where nspname like '{zone}%'"
    )
    assert sorted(schemas) == [(zone,), (f"{zone}__quarantine",)]
