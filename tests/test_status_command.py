"""The status command: per-zone publish and freshness from files, exit code on problems."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import dagster as dg
import duckdb
import psycopg
import pytest
from duckdb_holder import duckdb_held_by_another_process

from dagster_project.alert.commands import register_commands, run_status
from dagster_project.pipeline import PUBLISH_JOB

ZONES_YAML = """
freshness_defaults:
  heartbeat_max_interval: 2h
  mart: {deadline: "09:00", lower_bound: 1h}
  sources:
    sales_orders: {deadline: "10:00", lower_bound: 2h}
zones:
  - code: idf
    name: Île-de-France
    time_zone: Europe/Paris
    currency: EUR
    holidays: {country: FR}
    delivery_sla_days: 2
    targets: {daily_revenue: 42000, on_time_rate: 0.95}
"""
# Monday 2 November 2026, 11:00 in Paris (10:00 UTC).
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def layout(tmp_path, monkeypatch):
    zones_file = tmp_path / "zones.yml"
    zones_file.write_text(ZONES_YAML, encoding="utf-8")
    (tmp_path / "marts").mkdir()
    monkeypatch.setenv("ZONE_MARTS_MODE", "embedded")
    monkeypatch.setenv("ZONE_MARTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ZONE_MARTS_DIR", str(tmp_path / "marts"))
    # An instance of the test's own, without the runs of the project's .dagster_home.
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return tmp_path, zones_file


def write_publish_log(path, published_at: str, checks_failed: int = 0) -> None:
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "create table _publish_log (run_id varchar, published_at timestamptz, "
            "checks_passed integer, checks_failed integer)"
        )
        connection.execute(
            "insert into _publish_log values ('old-run', '2026-10-30 07:30:00+00', 12, 0), "
            "('run-42', ?, 12, ?)",
            [published_at, checks_failed],
        )


def write_extract_state(path, watermark: str) -> None:
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema raw")
        connection.execute(
            "create table raw._extract_state (table_name varchar, watermark timestamptz)"
        )
        connection.execute("insert into raw._extract_state values ('sales_orders', ?)", [watermark])


def status(zones_file, capsys) -> tuple[int, str]:
    code = run_status(argparse.Namespace(zones_file=zones_file, zone=None), now=NOW)
    return code, capsys.readouterr().out


def test_status_fresh_zone_exits_zero(layout, capsys):
    root, zones_file = layout
    write_publish_log(root / "marts" / "idf.duckdb", "2026-11-02 07:45:00+00")
    write_extract_state(root / "warehouse.duckdb", "2026-11-02 08:30:00+00")
    code, output = status(zones_file, capsys)
    assert code == 0, output
    assert "last publish 2026-11-02 08:45 CET (Europe/Paris), run run-42" in output
    assert "checks passed: 12, failed: 0" in output
    assert "all zones fresh" in output


def test_status_stale_source_exits_one(layout, capsys):
    root, zones_file = layout
    write_publish_log(root / "marts" / "idf.duckdb", "2026-11-02 07:45:00+00")
    write_extract_state(root / "warehouse.duckdb", "2026-10-30 16:00:00+00")
    code, output = status(zones_file, capsys)
    assert code == 1
    assert "FAIL base_operation/sales_orders data_freshness" in output
    assert "STALE since 2026-11-02 10:00 CET" in output


def test_status_failed_checks_exit_one(layout, capsys):
    root, zones_file = layout
    write_publish_log(root / "marts" / "idf.duckdb", "2026-11-02 07:45:00+00", checks_failed=2)
    write_extract_state(root / "warehouse.duckdb", "2026-11-02 08:30:00+00")
    code, output = status(zones_file, capsys)
    assert code == 1
    assert "FAIL last publish" in output


def test_status_missing_files_reported(layout, capsys):
    _, zones_file = layout
    code, output = status(zones_file, capsys)
    assert code == 1
    assert "warehouse.duckdb not found: run the extraction first" in output
    assert "idf.duckdb not found: the zone was never published" in output
    assert "Traceback" not in output


def test_status_mart_without_log_reported(layout, capsys):
    root, zones_file = layout
    duckdb.connect(str(root / "marts" / "idf.duckdb")).close()
    code, output = status(zones_file, capsys)
    assert code == 1
    assert "has no _publish_log table" in output


def test_status_unreadable_log_reported(layout, capsys):
    # A damaged block in _publish_log raised out of the command, and the zones after it were
    # never reported. A view that fails when read plays the part of the damage.
    root, zones_file = layout
    with duckdb.connect(str(root / "marts" / "idf.duckdb")) as mart:
        mart.execute("CREATE VIEW _publish_log AS SELECT error('block damaged') AS published_at")
    code, output = status(zones_file, capsys)
    assert code == 1
    assert "_publish_log cannot be read: Invalid Input Error: block damaged" in output
    assert "Traceback" not in output


def test_status_registered_as_subcommand():
    parser = argparse.ArgumentParser()
    register_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["status", "--zone", "idf"])
    assert args.handler is run_status
    assert args.zone == ["idf"]


def test_status_empty_extract_state_is_a_failure(layout, capsys):
    # An emptied watermark table hid every source-freshness line and printed "all zones fresh".
    root, zones_file = layout
    write_publish_log(root / "marts" / "idf.duckdb", "2026-11-02 07:45:00+00")
    write_extract_state(root / "warehouse.duckdb", "2026-11-02 08:30:00+00")
    with duckdb.connect(str(root / "warehouse.duckdb")) as connection:
        connection.execute("delete from raw._extract_state")
    code, output = status(zones_file, capsys)
    assert code == 1
    assert "raw._extract_state is empty: run the extraction first" in output
    assert "all zones fresh" not in output


def test_status_skips_integer_cursor_watermark(layout, capsys):
    # A table with an integer cursor stores its watermark as '184467', which crashed status.
    root, zones_file = layout
    write_publish_log(root / "marts" / "idf.duckdb", "2026-11-02 07:45:00+00")
    with duckdb.connect(str(root / "warehouse.duckdb")) as connection:
        connection.execute("create schema raw")
        connection.execute(
            "create table raw._extract_state (table_name varchar, cursor_type varchar, "
            "watermark varchar)"
        )
        connection.execute(
            "insert into raw._extract_state values "
            "('sales_orders', 'TIMESTAMP WITH TIME ZONE', '2026-11-02 08:30:00+00'), "
            "('stock_moves', 'BIGINT', '184467')"
        )
    code, output = status(zones_file, capsys)
    assert code == 0, output
    assert "Traceback" not in output


@pytest.mark.postgres
def test_status_reads_postgres_warehouse(layout, capsys, monkeypatch, postgres_database):
    # status stopped in production mode: the zone schemas and watermarks live in PostgreSQL.
    _, zones_file = layout
    monkeypatch.setenv("ZONE_MARTS_MODE", "production")
    monkeypatch.setenv("BASE_OPERATION_URL", postgres_database)
    monkeypatch.setenv("WAREHOUSE_URL", postgres_database)
    code, output = status(zones_file, capsys)
    assert code == 1
    assert "has no raw._extract_state: run the extraction first" in output
    assert "schema idf has no _publish_log: the zone was never published" in output

    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute("create schema raw")
        connection.execute(
            "create table raw._extract_state (table_name text, cursor_column text, "
            "cursor_type text, watermark text, updated_at timestamptz)"
        )
        connection.execute(
            "insert into raw._extract_state values ('sales_orders', 'updated_at', "
            "'TIMESTAMP WITH TIME ZONE', '2026-11-02 08:30:00+00', now())"
        )
        connection.execute("create schema idf")
        connection.execute(
            "create table idf._publish_log (run_id text, published_at timestamptz, "
            "checks_passed text[], checks_failed text[])"
        )
        connection.execute(
            "insert into idf._publish_log values "
            "('run-42', '2026-11-02 07:45:00+00', '{volume}', '{}')"
        )
    code, output = status(zones_file, capsys)
    assert code == 0, output
    assert "last publish 2026-11-02 08:45 CET (Europe/Paris), run run-42" in output
    assert "all zones fresh" in output


def run_failing_publish(zone_code: str) -> str:
    """Run a job named like the publish job whose blocking check fails; return its run id."""
    partitions = dg.StaticPartitionsDefinition([zone_code])

    @dg.asset(name="zone_candidate", partitions_def=partitions)
    def candidate():
        return 1

    @dg.asset_check(asset=candidate, blocking=True)
    def suite_fct_order_lines():
        return dg.AssetCheckResult(passed=False)

    @dg.asset(name="zone_mart", partitions_def=partitions, deps=[candidate])
    def mart():
        return 1

    job = dg.define_asset_job(PUBLISH_JOB, selection=[candidate, mart], partitions_def=partitions)
    definitions = dg.Definitions(
        assets=[candidate, mart], asset_checks=[suite_fct_order_lines], jobs=[job]
    )
    with dg.DagsterInstance.get() as instance:
        result = definitions.resolve_job_def(PUBLISH_JOB).execute_in_process(
            instance=instance, partition_key=zone_code, raise_on_error=False
        )
    assert not result.success
    return result.run_id


def test_status_failed_publish_run_exits_one(layout, capsys):
    # The mart file records successful publishes only, so a zone whose audit failed showed its
    # previous publish as "ok" and the command printed "all zones fresh".
    root, zones_file = layout
    write_publish_log(root / "marts" / "idf.duckdb", "2026-11-02 07:45:00+00")
    write_extract_state(root / "warehouse.duckdb", "2026-11-02 08:30:00+00")
    run_id = run_failing_publish("idf")
    code, output = status(zones_file, capsys)
    assert code == 1
    assert f"FAIL latest publish run {run_id} failed" in output
    assert "checks failed: suite_fct_order_lines" in output


def test_status_busy_warehouse_is_not_a_failure(layout, capsys):
    # During every refresh the warehouse is open for writing: the command failed, so a monitor
    # polling it flapped.
    root, zones_file = layout
    write_publish_log(root / "marts" / "idf.duckdb", "2026-11-02 07:45:00+00")
    write_extract_state(root / "warehouse.duckdb", "2026-11-02 08:30:00+00")
    with duckdb_held_by_another_process(root / "warehouse.duckdb"):
        code, output = status(zones_file, capsys)
    assert code == 0, output
    assert "busy warehouse" in output
    assert "is open for writing in another process" in output


def test_status_unreadable_instance_is_reported(layout, capsys, monkeypatch):
    root, zones_file = layout
    write_publish_log(root / "marts" / "idf.duckdb", "2026-11-02 07:45:00+00")
    write_extract_state(root / "warehouse.duckdb", "2026-11-02 08:30:00+00")
    (root / "dagster_home" / "dagster.yaml").write_text("storage: [not, a, mapping]\n")
    code, output = status(zones_file, capsys)
    assert code == 1
    assert "FAIL Dagster instance" in output
    assert "cannot be read" in output


def test_status_publish_after_failed_run_settles_it(layout, capsys):
    # A zone published again from the asset graph after its failed publish run kept the FAIL
    # line until the next publish_zones run.
    root, zones_file = layout
    write_extract_state(root / "warehouse.duckdb", "2026-11-02 08:30:00+00")
    run_failing_publish("idf")
    write_publish_log(root / "marts" / "idf.duckdb", datetime.now(UTC).isoformat())
    code, output = status(zones_file, capsys)
    assert "latest publish run" not in output
