"""dbt hooks and settings: key tests on changed rows, the recorded build outcome, no downloads."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import dbt_raw_data as raw
import duckdb
import psycopg
import pytest

from dagster_project.transform.environment import MACROS_DIGEST_VARIABLE

SELECTION = [
    "--select",
    "+stg_base_operation__sales_order_lines",
    "--indirect-selection",
    "cautious",
]
TEST_NAME = "unique_in_changed_rows_stg_base_operation__sales_order_lines"
STATE_NAME = "staging.stg_base_operation__sales_order_lines:order_id,line_number"
STATE_TABLE = "test_state.key_test_passes"


def line_row(loaded_at: datetime) -> tuple:
    """A second row for order line (1000, 1), landed at ``loaded_at``."""
    return (1000, 1, 100, 5, Decimal("19.90"), Decimal("0.1"), loaded_at, loaded_at)


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        raw.write_zone_context_duckdb(connection)
        raw.write_duckdb(connection, raw.base_rows())
    return path


def build(path, work_dir, *arguments: str, env: dict[str, str] | None = None):
    return raw.run_dbt(
        ["build", *SELECTION, *arguments],
        raw.dbt_env(warehouse_path=path) | (env or {}),
        work_dir,
    )


def execute(path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path)) as connection:
        return connection.execute(sql).fetchall()


def restore_passes(path, rows: list[tuple]) -> None:
    """Replace the recorded key test passes with ``rows``."""
    with duckdb.connect(str(path)) as connection:
        connection.execute(f"delete from {STATE_TABLE}")
        placeholders = ", ".join("?" * len(rows[0]))
        connection.executemany(f"insert into {STATE_TABLE} values ({placeholders})", rows)


def recorded_pass(path) -> datetime:
    rows = execute(path, f"select passed_at from {STATE_TABLE} where test_name = '{STATE_NAME}'")
    return rows[0][0]


def test_new_duplicate_fails_and_keeps_pass(warehouse, tmp_path):
    first = build(warehouse, tmp_path)
    assert first.returncode == 0, first.stdout[-3000:]
    passed_at = recorded_pass(warehouse)
    with duckdb.connect(str(warehouse)) as connection:
        raw.write_duckdb(connection, {"sales_order_lines": [line_row(datetime.now(UTC))]})
    failed = build(warehouse, tmp_path)
    assert failed.returncode != 0
    assert f"FAIL 1 {TEST_NAME}" in failed.stdout
    # The failed test keeps its last pass, so the next build tests the duplicate again.
    assert recorded_pass(warehouse) == passed_at
    again = build(warehouse, tmp_path)
    assert f"FAIL 1 {TEST_NAME}" in again.stdout


def test_old_rows_read_again_when_due(warehouse, tmp_path):
    first = build(warehouse, tmp_path)
    assert first.returncode == 0, first.stdout[-3000:]
    # A duplicate with a load time before the recorded pass represents a row already tested:
    # the changed-rows test does not read it, which is what makes it cheap.
    with duckdb.connect(str(warehouse)) as connection:
        raw.write_duckdb(connection, {"sales_order_lines": [line_row(raw.LOADED_AT)]})
    assert build(warehouse, tmp_path).returncode == 0
    passes = execute(warehouse, f"select * from {STATE_TABLE}")
    # Each of these makes the test read the whole table again. Each case starts from the passes
    # recorded above: a failed test keeps the pass it had, which would carry a case over.
    other_macros = {MACROS_DIGEST_VARIABLE: "digest of edited macros"}
    cases = {
        "full refresh": ([], ["--full-refresh"], {}),
        "project changed": ([f"update {STATE_TABLE} set project_digest = 'other'"], [], {}),
        "macro changed": ([], [], other_macros),
        "full pass 25 hours old": (
            [f"update {STATE_TABLE} set last_full_pass_at = now() - interval '25 hours'"],
            [],
            {},
        ),
        "dates in the future": (
            [
                f"update {STATE_TABLE} set passed_at = now() + interval '1 hour', "
                "last_full_pass_at = now() + interval '30 days'"
            ],
            [],
            {},
        ),
        "no recorded pass": ([f"delete from {STATE_TABLE}"], [], {}),
    }
    for case, (statements, arguments, env) in cases.items():
        restore_passes(warehouse, passes)
        for statement in statements:
            execute(warehouse, statement)
        result = build(warehouse, tmp_path, *arguments, env=env)
        assert f"FAIL 1 {TEST_NAME}" in result.stdout, case


def test_null_load_time_always_read(warehouse, tmp_path):
    assert build(warehouse, tmp_path).returncode == 0
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("alter table raw.sales_order_lines alter _loaded_at drop not null")
        raw.write_duckdb(connection, {"sales_order_lines": [line_row(raw.LOADED_AT)]})
        connection.execute(
            "update raw.sales_order_lines set _loaded_at = null "
            "where order_id = 1000 and line_number = 1 and quantity = 5"
        )
    assert f"FAIL 1 {TEST_NAME}" in build(warehouse, tmp_path).stdout


BUILD_OUTCOME = "select finished_at is not null, failed_nodes from test_state.build_outcome"


def test_build_outcome_keeps_failed_nodes_pending(warehouse, tmp_path):
    # The gate publishes no zone while this table lists nodes not yet built and tested.
    assert build(warehouse, tmp_path).returncode == 0
    assert execute(warehouse, BUILD_OUTCOME) == [(True, "")]
    with duckdb.connect(str(warehouse)) as connection:
        raw.write_duckdb(connection, {"sales_order_lines": [line_row(datetime.now(UTC))]})
    assert build(warehouse, tmp_path).returncode != 0
    ((finished, failed_nodes),) = execute(warehouse, BUILD_OUTCOME)
    assert finished
    assert f"test.zone_marts.{TEST_NAME}" in failed_nodes
    # A run of another model succeeds, but the failed test stays pending: a partial build
    # cleared the failure of the whole build, and a zone then published half-rebuilt marts.
    other = raw.run_dbt(
        ["run", "--select", "stg_base_operation__sales_orders"],
        raw.dbt_env(warehouse_path=warehouse),
        tmp_path,
    )
    assert other.returncode == 0, other.stdout[-3000:]
    ((finished, failed_nodes),) = execute(warehouse, BUILD_OUTCOME)
    assert f"test.zone_marts.{TEST_NAME}" in failed_nodes
    assert "model.zone_marts.stg_base_operation__sales_orders" not in failed_nodes
    assert build(warehouse, tmp_path, "--empty").returncode == 0
    ((finished, failed_nodes),) = execute(warehouse, BUILD_OUTCOME)
    assert "model.zone_marts.stg_base_operation__sales_order_lines" in failed_nodes


def test_empty_build_records_nothing(warehouse, tmp_path):
    assert build(warehouse, tmp_path).returncode == 0
    passed_at = recorded_pass(warehouse)
    with duckdb.connect(str(warehouse)) as connection:
        raw.write_duckdb(connection, {"sales_order_lines": [line_row(datetime.now(UTC))]})
    assert build(warehouse, tmp_path, "--empty").returncode == 0
    assert recorded_pass(warehouse) == passed_at
    assert f"FAIL 1 {TEST_NAME}" in build(warehouse, tmp_path).stdout


def test_stale_fact_pass_covers_no_later_rows(warehouse, tmp_path):
    # A test run on a fact not yet rebuilt must not vouch for the rows its next build writes.
    cautious = ["--indirect-selection", "cautious"]
    fact = ["--select", "+fct_order_lines", *cautious]
    environment = raw.dbt_env(warehouse_path=warehouse)
    first = raw.run_dbt(["build", *fact], environment, tmp_path)
    assert first.returncode == 0, first.stdout[-3000:]
    twice = [line_row(datetime.now(UTC))] * 2
    with duckdb.connect(str(warehouse)) as connection:
        raw.write_duckdb(connection, {"sales_order_lines": twice})
    raw.run_dbt(["test", "--select", "fct_order_lines", *cautious], environment, tmp_path)
    rebuilt = raw.run_dbt(
        ["build", "--select", "fct_order_lines", *cautious], environment, tmp_path
    )
    assert "FAIL 1 unique_in_changed_rows_fct_order_lines_order_line_key" in rebuilt.stdout


@pytest.mark.postgres
def test_postgres_records_pass(make_postgres_database, tmp_path):
    url = make_postgres_database("zm_key_tests")
    raw.write_zone_context_postgres(url)
    raw.write_postgres(url, raw.base_rows())
    env = raw.dbt_env(postgres_url=url)
    first = raw.run_dbt(["build", *SELECTION], env, tmp_path)
    assert first.returncode == 0, first.stdout[-3000:]
    with psycopg.connect(url) as connection:
        names = connection.execute(f"select test_name from {STATE_TABLE}").fetchall()
    assert (STATE_NAME,) in names
    raw.write_postgres(url, {"sales_order_lines": [line_row(datetime.now(UTC))]})
    failed = raw.run_dbt(["build", *SELECTION], env, tmp_path)
    assert f"FAIL 1 {TEST_NAME}" in failed.stdout, failed.stdout[-3000:]
    with psycopg.connect(url) as connection:
        ((finished, failed_nodes),) = connection.execute(BUILD_OUTCOME).fetchall()
    assert finished
    assert f"test.zone_marts.{TEST_NAME}" in failed_nodes


def test_dbt_never_downloads_an_extension(tmp_path):
    # Handed a SQLite file as its warehouse, DuckDB installs and loads its SQLite extension from
    # the network unless the profile turns that off when the file is opened.
    path = tmp_path / "base_operation.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("create table t (a)")
    result = raw.run_dbt(
        ["run", "--select", "stg_base_operation__sales_orders"],
        raw.dbt_env(warehouse_path=path),
        tmp_path,
    )
    assert result.returncode != 0
    assert "Install it first" in result.stdout, result.stdout[-3000:]
