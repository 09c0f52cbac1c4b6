"""The gate in production mode: marts read from PostgreSQL, zones published as schemas."""

from decimal import Decimal

import adbc_driver_postgresql.dbapi as adbc
import dagster as dg
import duckdb
import psycopg
import pytest
from gate_warehouse import build_warehouse, inject_bad_rows, publish_definitions

from dagster_project.pipeline import PUBLISH_JOB
from dagster_project.settings import load_settings


def copy_to_postgres(warehouse_path, url: str) -> None:
    """Copy the raw and marts schemas of a DuckDB warehouse into a PostgreSQL database."""
    with duckdb.connect(str(warehouse_path), read_only=True) as source:
        source.execute("SET TimeZone = 'UTC'")
        tables = source.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'marts')"
        ).fetchall()
        with adbc.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("CREATE SCHEMA raw")
            cursor.execute("CREATE SCHEMA marts")
            for schema, table in tables:
                data = source.sql(f"select * from {schema}.{table}").to_arrow_table()
                cursor.adbc_ingest(table, data, mode="create", db_schema_name=schema)
            connection.commit()


@pytest.fixture
def production_gate(tmp_path, postgres_database):
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    settings = load_settings(
        {
            "ZONE_MARTS_MODE": "production",
            "BASE_OPERATION_URL": postgres_database,
            "WAREHOUSE_URL": postgres_database,
            "ZONE_MARTS_DIR": str(tmp_path / "marts"),
        }
    )
    defs = publish_definitions(settings, tmp_path / "expectations")
    return defs, warehouse


def test_production_publishes_passing_zone_only(production_gate, postgres_database):
    defs, warehouse = production_gate
    inject_bad_rows(warehouse, "idf")
    copy_to_postgres(warehouse, postgres_database)
    job = defs.resolve_job_def(PUBLISH_JOB)

    with dg.DagsterInstance.ephemeral() as instance:
        bad = job.execute_in_process(partition_key="idf", instance=instance, raise_on_error=False)
        good = job.execute_in_process(partition_key="hdf", instance=instance, raise_on_error=False)

    failed = {e.check_name for e in bad.get_asset_check_evaluations() if not e.passed}
    assert failed == {"suite_fct_order_lines", "suite_fct_shipments"}
    assert good.success
    reconciliation = [
        e for e in good.get_asset_check_evaluations() if e.check_name == "reconciliation"
    ][0]
    assert reconciliation.passed
    assert Decimal(reconciliation.metadata["difference"].value) == 0
    with psycopg.connect(postgres_database) as connection:
        schemas = connection.execute(
            "select nspname from pg_namespace where nspname in ('idf', 'hdf')"
        ).fetchall()
        zones = connection.execute("select distinct zone_code from hdf.fct_order_lines").fetchall()
        runs = connection.execute("select run_id from hdf._publish_log").fetchall()
    assert schemas == [("hdf",)]
    assert zones == [("hdf",)]
    assert runs == [(good.run_id,)]
