"""The gate on a synthetic warehouse: checks per zone, quarantine, and what gets published."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from gate_warehouse import (
    ORDERS_PER_ZONE,
    ZONE_CODES,
    build_warehouse,
    copy_suites,
    execute,
    inject_bad_rows,
)

from dagster_project.gate.candidate import CandidateError, zone_lock
from dagster_project.gate.suites import load_suites
from dagster_project.gate.warehouses import DuckDBWarehouse
from dagster_project.gate.zone_audit import audit_zone, read_passed_audit
from dagster_project.publish.embedded import publish_candidate, published_path
from dagster_project.publish.log import PublishEntry


@pytest.fixture
def setup(tmp_path):
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    suites = load_suites(copy_suites(tmp_path / "expectations"))
    return warehouse, tmp_path / "marts", suites


def run_zone(warehouse: Path, marts_dir: Path, suites, zone_code: str, run_id: str):
    """Audit one zone and publish it if every check passed, as the two assets do."""
    audit = audit_zone(DuckDBWarehouse(warehouse), marts_dir, zone_code, suites, run_id)
    if audit.passed:
        record = read_passed_audit(audit.candidate)
        entry = PublishEntry(
            run_id=run_id,
            zone_code=zone_code,
            published_at=audit.audited_at,
            source_watermarks=record["source_watermarks"],
            row_counts=record["row_counts"],
            checks_passed=record["checks_passed"],
            checks_failed=record["checks_failed"],
        )
        publish_candidate(audit.candidate, published_path(marts_dir, zone_code), entry)
    return audit


def failed_checks(audit) -> dict[str, dict]:
    return {check.name: check.metadata for check in audit.checks if not check.passed}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_clean_zone_passes_every_check(setup):
    warehouse, marts_dir, suites = setup
    audit = run_zone(warehouse, marts_dir, suites, "idf", "run-1")
    assert failed_checks(audit) == {}
    with duckdb.connect(str(published_path(marts_dir, "idf")), read_only=True) as mart:
        zones = mart.execute("select distinct zone_code from fct_order_lines").fetchall()
        carriers = mart.execute("select count(*) from dim_carriers").fetchall()[0][0]
        log = mart.execute("select run_id, source_watermarks::varchar from _publish_log").fetchall()
    assert zones == [("idf",)]
    assert carriers == 2
    assert log[0][0] == "run-1"
    assert "sales_orders" in log[0][1]


def test_bad_rows_block_only_their_zone(setup):
    warehouse, marts_dir, suites = setup
    for zone_code in ZONE_CODES:
        run_zone(warehouse, marts_dir, suites, zone_code, "run-1")
    before = {zone: digest(published_path(marts_dir, zone)) for zone in ZONE_CODES}
    inject_bad_rows(warehouse, "idf")

    audits = {zone: run_zone(warehouse, marts_dir, suites, zone, "run-2") for zone in ZONE_CODES}

    failed = failed_checks(audits["idf"])
    assert set(failed) == {"suite_fct_order_lines", "suite_fct_shipments"}
    assert (
        "expect_column_values_to_not_be_null:order_line_key"
        in (failed["suite_fct_order_lines"]["failed_expectations"])
    )
    assert digest(published_path(marts_dir, "idf")) == before["idf"]
    with duckdb.connect(str(published_path(marts_dir, "idf")), read_only=True) as mart:
        runs = mart.execute("select run_id from _publish_log").fetchall()
        lines = mart.execute("select count(*) from fct_order_lines").fetchall()[0][0]
    assert runs == [("run-1",)]
    assert lines == ORDERS_PER_ZONE
    for zone in ("hdf", "reunion"):
        assert audits[zone].passed, failed_checks(audits[zone])
        with duckdb.connect(str(published_path(marts_dir, zone)), read_only=True) as mart:
            runs = mart.execute("select run_id from _publish_log order by published_at").fetchall()
        assert runs == [("run-1",), ("run-2",)]


def test_bad_shipment_rows_are_named(setup):
    warehouse, marts_dir, suites = setup
    inject_bad_rows(warehouse, "idf")
    audit = run_zone(warehouse, marts_dir, suites, "idf", "run-1")
    shipments = failed_checks(audit)["suite_fct_shipments"]
    lines = failed_checks(audit)["suite_fct_order_lines"]
    assert (
        "expect_column_pair_values_a_to_be_greater_than_b:delivered_at,shipped_at"
        in (shipments["quarantined_expectations"])
    )
    assert shipments["quarantine_share"] == pytest.approx(0.1)
    assert "expect_column_values_to_be_between:ordered_at" in lines["quarantined_expectations"]
    assert "expect_column_values_to_be_between:quantity" in lines["quarantined_expectations"]
    assert not published_path(marts_dir, "idf").exists()


def test_sparse_bad_rows_are_quarantined(setup):
    warehouse, marts_dir, suites = setup
    # The same negative quantity in the source and the mart: reconciliation still holds.
    execute(
        warehouse,
        """
        UPDATE raw.sales_order_lines SET quantity = -2 WHERE order_id = 7;
        UPDATE marts.fct_order_lines SET quantity = -2,
            net_amount = round(-2 * unit_price * (1 - discount_rate), 2) WHERE order_id = 7;
        """,
    )
    audit = run_zone(warehouse, marts_dir, suites, "idf", "run-1")
    assert failed_checks(audit) == {}
    with duckdb.connect(str(published_path(marts_dir, "idf")), read_only=True) as mart:
        quarantined = mart.execute(
            "select table_name, failed_expectations, row_data->>'order_id' from _quarantine"
        ).fetchall()
        remaining = mart.execute(
            "select count(*) from fct_order_lines where order_id = 7"
        ).fetchall()[0][0]
    assert quarantined == [
        (
            "fct_order_lines",
            [
                "expect_column_values_to_be_between:net_amount",
                "expect_column_values_to_be_between:quantity",
            ],
            "7",
        )
    ]
    assert remaining == 0


def test_reconciliation_detects_lost_line(setup):
    warehouse, marts_dir, suites = setup
    execute(warehouse, "DELETE FROM marts.fct_order_lines WHERE order_id = 100011")
    audit = run_zone(warehouse, marts_dir, suites, "hdf", "run-1")
    failed = failed_checks(audit)
    assert list(failed) == ["reconciliation"]
    assert failed["reconciliation"]["difference"] != "0"
    assert not published_path(marts_dir, "hdf").exists()


def test_volume_drop_blocks_publish(setup):
    warehouse, marts_dir, suites = setup
    run_zone(warehouse, marts_dir, suites, "reunion", "run-1")
    execute(
        warehouse,
        """
        DELETE FROM raw.sales_order_lines WHERE order_id % 2 = 0 AND order_id >= 200000;
        DELETE FROM marts.fct_order_lines WHERE order_id % 2 = 0 AND order_id >= 200000;
        """,
    )
    audit = run_zone(warehouse, marts_dir, suites, "reunion", "run-2")
    failed = failed_checks(audit)
    assert list(failed) == ["volume"]
    assert failed["volume"]["dropped_tables"] == {"fct_order_lines": 0.5}


def test_table_without_suite_is_rejected(setup):
    warehouse, marts_dir, suites = setup
    execute(warehouse, "CREATE TABLE marts.fct_new AS SELECT 1 AS id")
    with pytest.raises(CandidateError, match="fct_new"):
        audit_zone(DuckDBWarehouse(warehouse), marts_dir, "idf", suites, "run-1")


def test_failed_audit_cannot_publish(setup):
    warehouse, marts_dir, suites = setup
    inject_bad_rows(warehouse, "idf")
    audit = audit_zone(DuckDBWarehouse(warehouse), marts_dir, "idf", suites, "run-1")
    with pytest.raises(CandidateError, match="failed its audit"):
        read_passed_audit(audit.candidate)


def test_report_lists_failed_expectation(setup):
    warehouse, marts_dir, suites = setup
    inject_bad_rows(warehouse, "idf")
    audit = audit_zone(DuckDBWarehouse(warehouse), marts_dir, "idf", suites, "run-1")
    html = audit.report_path.read_text(encoding="utf-8")
    assert "expect_column_values_to_not_be_null:order_line_key" in html
    assert "FAILED" in html


def test_candidate_changed_after_audit_is_rejected(setup):
    warehouse, marts_dir, suites = setup
    audit = audit_zone(DuckDBWarehouse(warehouse), marts_dir, "idf", suites, "run-1")
    with duckdb.connect(str(audit.candidate)) as candidate:
        candidate.execute("DELETE FROM fct_order_lines WHERE order_id = 7")
    with pytest.raises(CandidateError, match="changed after its audit"):
        read_passed_audit(audit.candidate)


def test_zone_locked_by_another_run_is_rejected(setup):
    warehouse, marts_dir, suites = setup
    with zone_lock(marts_dir, "idf"):
        with pytest.raises(CandidateError, match="being built or published by another run"):
            audit_zone(DuckDBWarehouse(warehouse), marts_dir, "idf", suites, "run-2")
    assert audit_zone(DuckDBWarehouse(warehouse), marts_dir, "idf", suites, "run-3").passed
