"""The gate on a synthetic warehouse: checks per zone, quarantine, and what gets published."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
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

import dagster_project.gate.audit as audit_module
from dagster_project.gate.candidate import CandidateError, zone_lock
from dagster_project.gate.fingerprint import rows_landed_since, warehouse_fingerprints
from dagster_project.gate.suites import load_suite, load_suites
from dagster_project.gate.validation import SuiteValidator
from dagster_project.gate.warehouses import DuckDBWarehouse
from dagster_project.gate.zone_audit import (
    GatePolicy,
    audit_record_path,
    audit_zone,
    publish_entry,
    read_passed_audit,
)
from dagster_project.publish.embedded import publish_candidate, published_path
from dagster_project.publish.log import PublishLogError


@pytest.fixture
def setup(tmp_path):
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    suites = load_suites(copy_suites(tmp_path / "expectations"))
    return warehouse, tmp_path / "marts", suites


def run_zone(
    warehouse: Path,
    marts_dir: Path,
    suites,
    zone_code: str,
    run_id: str,
    policy: GatePolicy | None = None,
    now: datetime | None = None,
):
    """Audit one zone and publish it if every check passed, as the two assets do."""
    audit = audit_zone(
        DuckDBWarehouse(warehouse),
        marts_dir,
        zone_code,
        suites,
        run_id,
        policy or GatePolicy(),
        now,
    )
    if audit.passed:
        record = read_passed_audit(audit.candidate)
        entry = publish_entry(record, run_id, audit.audited_at)
        publish_candidate(audit.candidate, published_path(marts_dir, zone_code), entry)
    return audit


def failed_checks(audit) -> dict[str, dict]:
    return {check.name: check.metadata for check in audit.checks if not check.passed}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_negative_quantity(warehouse: Path) -> None:
    """Set order 7's quantity to -2 in the source and the mart, so reconciliation still holds."""
    execute(
        warehouse,
        """
        UPDATE raw.sales_order_lines SET quantity = -2 WHERE order_id = 7;
        UPDATE marts.fct_order_lines SET quantity = -2,
            net_amount = round(-2 * unit_price * (1 - discount_rate), 2) WHERE order_id = 7;
        """,
    )


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
    assert audits["idf"].audit_scope == "changed rows"
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
    # Each failure names a few rejected rows by the table's key, not only by their values.
    failures = {failure["name"]: failure for failure in lines["failures"]}
    negative = failures["expect_column_values_to_be_between:quantity"]["sample_row_keys"]
    assert negative
    assert all(int(row["order_line_key"].split("|")[0]) % 10 == 3 for row in negative)


def test_sparse_bad_rows_are_quarantined(setup):
    warehouse, marts_dir, suites = setup
    make_negative_quantity(warehouse)
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


@pytest.mark.parametrize(
    ("finished_at", "failed_nodes", "message"),
    [
        ("NULL", "NULL", "did not finish"),
        ("now()", "'model.zone_marts.fct_zone_daily_kpis'", "not yet built and tested: model"),
    ],
)
def test_unfinished_dbt_build_blocks_every_zone(setup, finished_at, failed_nodes, message):
    # A failed build left some facts rebuilt and the tables built on them skipped, and a zone
    # published by hand then showed daily KPIs that disagreed with its order lines.
    warehouse, marts_dir, suites = setup
    execute(
        warehouse,
        "CREATE SCHEMA test_state; CREATE TABLE test_state.build_outcome (started_at "
        "TIMESTAMPTZ, finished_at TIMESTAMPTZ, failed_nodes VARCHAR); INSERT INTO "
        f"test_state.build_outcome VALUES (now(), {finished_at}, {failed_nodes})",
    )
    for zone_code in ("idf", "reunion"):
        with pytest.raises(CandidateError, match=f"zone {zone_code}: the dbt build .*{message}"):
            audit_zone(DuckDBWarehouse(warehouse), marts_dir, zone_code, suites, "run-1")
    execute(warehouse, "UPDATE test_state.build_outcome SET finished_at = now(), failed_nodes = ''")
    assert audit_zone(DuckDBWarehouse(warehouse), marts_dir, "idf", suites, "run-2").passed


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


@pytest.mark.parametrize("damage", ["truncate", "drop_key", "list"])
def test_damaged_audit_record_is_named(setup, damage):
    # A truncated record raised a bare JSONDecodeError, one without a key a KeyError.
    warehouse, marts_dir, suites = setup
    audit = audit_zone(DuckDBWarehouse(warehouse), marts_dir, "idf", suites, "run-1")
    path = audit_record_path(audit.candidate)
    text = path.read_text(encoding="utf-8")
    if damage == "truncate":
        path.write_text(text[: len(text) // 2], encoding="utf-8")
    elif damage == "drop_key":
        record = json.loads(text)
        del record["candidate_fingerprint"]
        path.write_text(json.dumps(record), encoding="utf-8")
    else:
        path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(CandidateError, match=f"the audit record {path} is damaged"):
        read_passed_audit(audit.candidate)


def test_zone_locked_by_another_run_is_rejected(setup):
    warehouse, marts_dir, suites = setup
    with zone_lock(marts_dir, "idf"):
        with pytest.raises(CandidateError, match="being built or published by another run"):
            audit_zone(DuckDBWarehouse(warehouse), marts_dir, "idf", suites, "run-2")
    assert audit_zone(DuckDBWarehouse(warehouse), marts_dir, "idf", suites, "run-3").passed


def audited_rows(audit) -> dict[str, int]:
    return {
        check.metadata["table"]: check.metadata["audited_rows"]
        for check in audit.checks
        if check.name.startswith("suite_")
    }


def test_second_audit_reads_changed_rows(setup):
    warehouse, marts_dir, suites = setup
    first = run_zone(warehouse, marts_dir, suites, "idf", "run-1")
    execute(
        warehouse,
        "UPDATE marts.fct_order_lines SET cost_amount = cost_amount + 1 WHERE order_id < 3",
    )
    second = run_zone(warehouse, marts_dir, suites, "idf", "run-2")
    assert first.audit_scope == "all rows"
    assert audited_rows(first)["fct_order_lines"] == ORDERS_PER_ZONE
    assert second.audit_scope == "changed rows"
    assert failed_checks(second) == {}
    assert audited_rows(second) == {"dim_carriers": 0, "fct_order_lines": 3, "fct_shipments": 0}
    with duckdb.connect(str(published_path(marts_dir, "idf")), read_only=True) as mart:
        log = mart.execute(
            "select run_id, audit_scope from _publish_log order by published_at"
        ).fetchall()
    assert log == [("run-1", "all rows"), ("run-2", "changed rows")]


def test_copy_of_unchanged_row_fails_uniqueness(setup):
    warehouse, marts_dir, suites = setup
    run_zone(warehouse, marts_dir, suites, "idf", "run-1")
    execute(warehouse, "INSERT INTO marts.dim_carriers VALUES (1, 'Transports Martin')")
    audit = run_zone(warehouse, marts_dir, suites, "idf", "run-2")
    failed = failed_checks(audit)
    assert audit.audit_scope == "changed rows"
    assert list(failed) == ["suite_dim_carriers"]
    assert failed["suite_dim_carriers"]["failed_expectations"] == [
        "expect_column_values_to_be_unique:carrier_id"
    ]


def test_quarantined_row_is_quarantined_again(setup):
    warehouse, marts_dir, suites = setup
    make_negative_quantity(warehouse)
    run_zone(warehouse, marts_dir, suites, "idf", "run-1")
    audit = run_zone(warehouse, marts_dir, suites, "idf", "run-2")
    lines = next(c for c in audit.checks if c.name == "suite_fct_order_lines").metadata
    assert audit.audit_scope == "changed rows"
    assert audit.passed
    assert lines["audited_rows"] == 1
    assert lines["quarantined_rows"] == 1


@pytest.mark.parametrize("reason", ["asked", "stale", "suite changed"])
def test_full_audit_when_due(setup, reason):
    warehouse, marts_dir, suites = setup
    run_zone(warehouse, marts_dir, suites, "idf", "run-1")
    policy, now = GatePolicy(), None
    if reason == "asked":
        policy = GatePolicy(full_audit=True)
    elif reason == "stale":
        now = datetime.now(UTC) + timedelta(hours=25)
    else:
        suite_file = suites["dim_carriers"].path
        document = json.loads(suite_file.read_text(encoding="utf-8"))
        document["meta"]["notes"] = "Carriers shared by every zone, reviewed."
        suite_file.write_text(json.dumps(document), encoding="utf-8")
        suites = load_suites(suite_file.parent)
    audit = run_zone(warehouse, marts_dir, suites, "idf", "run-2", policy, now)
    assert audit.audit_scope == "all rows"
    assert audited_rows(audit)["fct_order_lines"] == ORDERS_PER_ZONE


def readings_suite(directory: Path):
    """Load a two-expectation suite for a ``readings`` table: a row one and a whole-table one."""
    suite_file = directory / "readings.json"
    suite_file.write_text(
        json.dumps(
            {
                "name": "readings",
                "expectations": [
                    {
                        "type": "expect_column_values_to_be_between",
                        "kwargs": {"column": "reading", "min_value": 0},
                    },
                    {
                        "type": "expect_column_values_to_be_unique",
                        "kwargs": {"column": "reading_id"},
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    return load_suite(suite_file)


def keys_suite(directory: Path, extra: list[dict] | None = None):
    """Load a suite for ``readings`` with a unique column and a unique column pair."""
    suite_file = directory / "readings.json"
    expectations = [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "reading_id"}},
        {
            "type": "expect_compound_columns_to_be_unique",
            "kwargs": {"column_list": ["site", "reading"]},
        },
        *(extra or []),
    ]
    suite_file.write_text(json.dumps({"name": "readings", "expectations": expectations}))
    return load_suite(suite_file)


def readings_table(values: str) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(
        f"CREATE TABLE readings AS SELECT * FROM (VALUES {values}) AS v (reading_id, site, reading)"
    )
    return connection


@pytest.mark.parametrize(
    ("values", "proven"),
    [
        ("(1, 'a', 5), (2, 'a', 6)", True),
        ("(1, 'a', 5), (1, 'b', 6)", False),
        ("(1, 'a', 5), (2, 'a', 5)", False),
        # A NULL is left to Great Expectations, which does not count it as a duplicate.
        ("(1, 'a', 5), (NULL, 'b', 6)", False),
        ("(1, 'a', NULL), (2, 'a', NULL)", False),
    ],
)
def test_duckdb_proves_unique_keys(tmp_path, values, proven):
    suite = keys_suite(tmp_path)
    connection = readings_table(values)
    present = ["reading_id", "site", "reading"]
    assert audit_module.keys_unique(connection, "readings", suite.unique_keys, present) is proven


def test_proven_keys_skip_great_expectations(tmp_path, monkeypatch):
    suite = keys_suite(tmp_path)
    connection = readings_table("(1, 'a', 5), (2, 'a', 6), (3, 'b', 5)")
    validator = SuiteValidator()

    def not_called(*arguments, **keywords):
        raise AssertionError("Great Expectations ran on proven keys")

    monkeypatch.setattr(validator, "validate", not_called)
    outcomes = audit_module.validate_table(connection, validator, suite, {})
    assert [outcome.success for outcome in outcomes] == [True, True]
    assert [outcome.element_count for outcome in outcomes] == [3, 3]


def test_duplicate_key_found_by_great_expectations(tmp_path):
    suite = keys_suite(tmp_path)
    connection = readings_table("(1, 'a', 5), (1, 'b', 6), (3, 'b', 7)")
    outcomes = audit_module.validate_table(connection, SuiteValidator(), suite, {})
    unique_id = next(
        o for o in outcomes if o.name == "expect_column_values_to_be_unique:reading_id"
    )
    assert not unique_id.success
    assert sorted(unique_id.unexpected_rows) == [0, 1]


def test_other_table_expectation_not_provable(tmp_path):
    row_count = {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}
    conditional = {
        "type": "expect_column_values_to_be_unique",
        "kwargs": {"column": "site", "row_condition": 'reading=="5"', "condition_parser": "pandas"},
    }
    assert keys_suite(tmp_path).unique_keys == (("reading_id",), ("site", "reading"))
    assert keys_suite(tmp_path, [row_count]).unique_keys is None
    assert keys_suite(tmp_path, [conditional]).unique_keys is None


def test_chunked_validation_keeps_row_ids(tmp_path, monkeypatch):
    # One DuckDB vector (2,048 rows) per chunk: the 5,000 rows arrive in three chunks.
    monkeypatch.setattr(audit_module, "CHUNK_VECTORS", 1)
    suite = readings_suite(tmp_path)
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE readings AS SELECT i AS reading_id, "
        "CASE WHEN i IN (10, 4100) THEN -1 ELSE i END AS reading FROM range(5000) AS r (i)"
    )
    query = audit_module.rows_to_audit(connection, "readings")
    outcomes, rows = audit_module.validate_rows(connection, SuiteValidator(), suite, query, {})
    (between,) = outcomes
    assert rows == 5000
    assert between.element_count == 5000
    assert between.unexpected_count == 2
    assert sorted(between.unexpected_rows) == [10, 4100]
    assert not between.success


def test_empty_table_missing_column_fails(tmp_path):
    suite = readings_suite(tmp_path)
    connection = duckdb.connect()
    connection.execute("CREATE TABLE readings (reading_id INTEGER)")
    query = audit_module.rows_to_audit(connection, "readings")
    outcomes, rows = audit_module.validate_rows(connection, SuiteValidator(), suite, query, {})
    (between,) = outcomes
    assert rows == 0
    assert not between.success
    assert between.error == "column(s) not found: reading"


def test_renamed_key_column_fails_its_checks(setup):
    warehouse, marts_dir, suites = setup
    execute(warehouse, "ALTER TABLE marts.dim_carriers RENAME COLUMN carrier_id TO carrier_code")
    audit = run_zone(warehouse, marts_dir, suites, "idf", "run-1")
    failed = failed_checks(audit)["suite_dim_carriers"]["failed_expectations"]
    assert sorted(failed) == [
        "expect_column_values_to_be_unique:carrier_id",
        "expect_column_values_to_not_be_null:carrier_id",
    ]
    assert not published_path(marts_dir, "idf").exists()


def warehouse_zone_fingerprints(warehouse: Path) -> dict[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return warehouse_fingerprints(connection, list(ZONE_CODES))


def test_fingerprints_show_which_zones_changed(setup):
    warehouse, marts_dir, suites = setup
    before = warehouse_zone_fingerprints(warehouse)
    audit = run_zone(warehouse, marts_dir, suites, "hdf", "run-1")
    execute(warehouse, "UPDATE marts.fct_shipments SET carrier_id = 2 WHERE order_id = 100003")
    one_zone = warehouse_zone_fingerprints(warehouse)
    execute(warehouse, "UPDATE marts.dim_carriers SET carrier_name = 'Rapide' WHERE carrier_id = 2")
    shared = warehouse_zone_fingerprints(warehouse)
    assert audit.content_fingerprint == before["hdf"]
    assert [zone for zone in ZONE_CODES if one_zone[zone] != before[zone]] == ["hdf"]
    assert all(shared[zone] != one_zone[zone] for zone in ZONE_CODES)


def test_fingerprint_with_column_named_t(setup):
    warehouse, _, _ = setup
    execute(warehouse, "ALTER TABLE marts.dim_carriers ADD COLUMN t INTEGER DEFAULT 1")
    before = warehouse_zone_fingerprints(warehouse)
    execute(warehouse, "UPDATE marts.dim_carriers SET carrier_name = 'Rapide' WHERE carrier_id = 2")
    after = warehouse_zone_fingerprints(warehouse)
    assert all(after[zone] != before[zone] for zone in ZONE_CODES)


def test_future_full_audit_does_not_count(setup):
    warehouse, marts_dir, suites = setup
    run_zone(warehouse, marts_dir, suites, "idf", "run-1")
    with duckdb.connect(str(published_path(marts_dir, "idf"))) as mart:
        mart.execute("UPDATE _publish_log SET published_at = TIMESTAMPTZ '2099-01-01 00:00+00'")
    audit = run_zone(warehouse, marts_dir, suites, "idf", "run-2")
    assert audit.audit_scope == "all rows"


def test_damaged_published_mart_is_named(setup):
    warehouse, marts_dir, suites = setup
    run_zone(warehouse, marts_dir, suites, "idf", "run-1")
    target = published_path(marts_dir, "idf")
    target.write_bytes(b"not a database")
    with pytest.raises(PublishLogError, match=f"cannot read the published mart {target}"):
        run_zone(warehouse, marts_dir, suites, "idf", "run-2")


def test_gate_memory_cap_exceeded_names_setting(setup, monkeypatch):
    warehouse, marts_dir, suites = setup
    run_zone(warehouse, marts_dir, suites, "idf", "run-1")
    before = digest(published_path(marts_dir, "idf"))
    monkeypatch.setenv("ZONE_MARTS_GATE_MEMORY_LIMIT", "1MB")
    with pytest.raises(CandidateError, match="Raise ZONE_MARTS_GATE_MEMORY_LIMIT"):
        run_zone(warehouse, marts_dir, suites, "idf", "run-2")
    assert digest(published_path(marts_dir, "idf")) == before


def test_rows_landed_since_counts_per_zone(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(
            "CREATE SCHEMA marts; CREATE TABLE marts.fct_events AS SELECT * FROM (VALUES "
            "('idf', TIMESTAMPTZ '2026-12-04 10:00+00'), "
            "('idf', TIMESTAMPTZ '2026-12-04 12:00+00'), "
            "('hdf', TIMESTAMPTZ '2026-12-04 09:00+00')) AS t (zone_code, loaded_at)"
        )
        landed = rows_landed_since(
            connection, ["idf", "hdf", "ara"], datetime(2026, 12, 4, 11, tzinfo=UTC)
        )
    assert landed == {"idf": 1, "hdf": 0, "ara": 0}


def test_infinite_date_fails_its_table_check(setup):
    warehouse, marts_dir, suites = setup
    execute(
        warehouse,
        "UPDATE marts.fct_shipments SET delivered_local_date = 'infinity' WHERE order_id = 3",
    )
    audits = {zone: run_zone(warehouse, marts_dir, suites, zone, "run-1") for zone in ZONE_CODES}
    failed = failed_checks(audits["idf"])
    assert list(failed) == ["suite_fct_shipments"]
    assert failed["suite_fct_shipments"]["failed_expectations"] == ["values_readable"]
    assert audits["hdf"].passed
    assert not published_path(marts_dir, "idf").exists()
