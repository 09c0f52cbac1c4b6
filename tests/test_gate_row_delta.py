"""A candidate started from the published mart ends up holding exactly the warehouse's rows."""

from __future__ import annotations

from collections import Counter

import duckdb
import pytest
from gate_warehouse import (
    ORDERS_PER_ZONE,
    build_warehouse,
    copy_suites,
    execute,
    inject_bad_rows,
)
from test_gate_audit import audited_rows, failed_checks, run_zone

import dagster_project.gate.warehouses as warehouses_module
from dagster_project.gate.candidate import CandidateError, open_candidate
from dagster_project.gate.row_delta import apply_row_delta, digest_expression, row_hash
from dagster_project.gate.suites import load_suites
from dagster_project.gate.warehouses import DuckDBWarehouse
from dagster_project.publish.embedded import published_path


def multiset(connection: duckdb.DuckDBPyConnection, query: str) -> list[tuple]:
    return sorted(connection.execute(query).fetchall(), key=repr)


@pytest.mark.parametrize(
    ("held", "wanted"),
    [
        ([(1, "a"), (2, None)], [(1, "a"), (2, None)]),
        ([(1, "a"), (1, "a"), (1, "a")], [(1, "a")]),
        ([(1, "a")], [(1, "a"), (1, "a"), (3, None)]),
        ([(None, None), (2, "b")], [(None, None), (None, None), (2, "c")]),
        ([], [(1, "a")]),
        ([(1, "a"), (2, "b")], []),
    ],
)
def test_delta_matches_source_multiset(held, wanted):
    connection = duckdb.connect()
    connection.execute("CREATE TABLE mart (id INTEGER, label VARCHAR)")
    connection.execute("CREATE TABLE source (id INTEGER, label VARCHAR)")
    if held:
        connection.executemany("INSERT INTO mart VALUES (?, ?)", held)
    if wanted:
        connection.executemany("INSERT INTO source VALUES (?, ?)", wanted)

    delta = apply_row_delta(connection, "mart", ["id", "label"], "source")

    assert multiset(connection, "SELECT * FROM mart") == multiset(
        connection, "SELECT * FROM source"
    )
    assert delta.deleted == (Counter(held) - Counter(wanted)).total()
    assert delta.inserted == (Counter(wanted) - Counter(held)).total()
    scanned = connection.execute(
        f"SELECT {digest_expression(row_hash(['id', 'label'], 't'))} FROM mart AS t"
    ).fetchall()
    assert delta.digest == scanned[0][0]


def test_delta_reads_filtered_source_rows():
    connection = duckdb.connect()
    connection.execute("CREATE TABLE mart AS SELECT range AS id, 'b' AS zone FROM range(3)")
    connection.execute(
        "CREATE TABLE source AS SELECT range AS id, "
        "CASE WHEN range % 2 = 0 THEN 'a' ELSE 'b' END AS zone FROM range(100000)"
    )

    delta = apply_row_delta(connection, "mart", ["id", "zone"], "source", "s.zone = ?", ["b"])

    assert multiset(connection, "SELECT * FROM mart") == multiset(
        connection, "SELECT * FROM source WHERE zone = 'b'"
    )
    assert delta.deleted == 2
    assert delta.inserted == 49_999


@pytest.fixture
def published(tmp_path):
    """A warehouse whose zone idf was audited in full and published once."""
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    suites = load_suites(copy_suites(tmp_path / "expectations"))
    marts_dir = tmp_path / "marts"
    first = run_zone(warehouse, marts_dir, suites, "idf", "run-1")
    assert first.passed, failed_checks(first)
    return warehouse, marts_dir, suites


def zone_rows_differ(warehouse, marts_dir, table: str) -> tuple[int, int]:
    """Count rows only in the published mart, and rows only in the warehouse's zone idf."""
    with duckdb.connect(str(published_path(marts_dir, "idf")), read_only=True) as mart:
        mart.execute(f"ATTACH '{warehouse}' AS w (READ_ONLY)")
        zone = f"SELECT * FROM w.marts.{table} WHERE zone_code = 'idf'"
        return mart.execute(
            f"SELECT (SELECT count(*) FROM (FROM {table} EXCEPT ALL {zone})), "
            f"(SELECT count(*) FROM ({zone} EXCEPT ALL FROM {table}))"
        ).fetchall()[0]


def test_updated_mart_equals_warehouse(published):
    warehouse, marts_dir, suites = published
    execute(
        warehouse,
        """
        UPDATE marts.fct_order_lines SET cost_amount = cost_amount + 1 WHERE order_id = 3;
        DELETE FROM marts.fct_shipments WHERE order_id = 5;
        INSERT INTO marts.fct_shipments
            SELECT * REPLACE (order_id + 900 AS shipment_id) FROM marts.fct_shipments
            WHERE order_id = 6;
        """,
    )
    audit = run_zone(warehouse, marts_dir, suites, "idf", "run-2")
    assert audit.audit_scope == "changed rows"
    assert audit.passed, failed_checks(audit)
    assert audited_rows(audit) == {"dim_carriers": 0, "fct_order_lines": 1, "fct_shipments": 1}
    for table in ("fct_order_lines", "fct_shipments"):
        assert zone_rows_differ(warehouse, marts_dir, table) == (0, 0)
    with duckdb.connect(str(published_path(marts_dir, "idf")), read_only=True) as mart:
        lines = mart.execute("SELECT count(*) FROM fct_order_lines").fetchall()[0][0]
    assert lines == ORDERS_PER_ZONE


def test_quarantine_contains_this_publish_only(published):
    warehouse, marts_dir, suites = published
    execute(
        warehouse,
        """
        UPDATE raw.sales_order_lines SET quantity = -2 WHERE order_id = 7;
        UPDATE marts.fct_order_lines SET quantity = -2,
            net_amount = round(-2 * unit_price * (1 - discount_rate), 2) WHERE order_id = 7;
        """,
    )
    for run_id in ("run-2", "run-3"):
        audit = run_zone(warehouse, marts_dir, suites, "idf", run_id)
        assert audit.passed, failed_checks(audit)
    with duckdb.connect(str(published_path(marts_dir, "idf")), read_only=True) as mart:
        held_back = mart.execute("SELECT run_id FROM _quarantine").fetchall()
        log = mart.execute("SELECT run_id FROM _publish_log ORDER BY published_at").fetchall()
        negative = mart.execute("SELECT count(*) FROM fct_order_lines WHERE quantity < 0")
        negative = negative.fetchall()[0][0]
    assert held_back == [("run-3",)]
    assert log == [("run-1",), ("run-2",), ("run-3",)]
    assert negative == 0


def test_changed_columns_copy_table_whole(published):
    warehouse, marts_dir, suites = published
    execute(
        warehouse,
        "ALTER TABLE marts.fct_shipments ALTER COLUMN carrier_id TYPE BIGINT",
    )
    audit = run_zone(warehouse, marts_dir, suites, "idf", "run-2")
    assert audit.passed, failed_checks(audit)
    assert audited_rows(audit) == {
        "dim_carriers": 0,
        "fct_order_lines": 0,
        "fct_shipments": ORDERS_PER_ZONE,
    }
    assert zone_rows_differ(warehouse, marts_dir, "fct_shipments") == (0, 0)


def test_column_named_like_working_table(published):
    warehouse, marts_dir, suites = published
    execute(warehouse, "ALTER TABLE marts.fct_shipments ADD COLUMN h UBIGINT DEFAULT 1")
    execute(warehouse, "ALTER TABLE marts.fct_shipments ADD COLUMN row_id UBIGINT DEFAULT 1")
    run_zone(warehouse, marts_dir, suites, "idf", "run-2")
    execute(warehouse, "UPDATE marts.fct_shipments SET h = 7 WHERE order_id = 4")
    audit = run_zone(warehouse, marts_dir, suites, "idf", "run-3")
    assert audit.passed, failed_checks(audit)
    assert audited_rows(audit)["fct_shipments"] == 1
    assert zone_rows_differ(warehouse, marts_dir, "fct_shipments") == (0, 0)


@pytest.mark.parametrize("columns", [["s"], ["t"], ["s", "t"], ["c"]])
def test_column_named_like_alias(published, columns):
    warehouse, marts_dir, suites = published
    for column in columns:
        execute(
            warehouse, f'ALTER TABLE marts.fct_shipments ADD COLUMN "{column}" INTEGER DEFAULT 1'
        )
    run_zone(warehouse, marts_dir, suites, "idf", "run-2")
    execute(
        warehouse,
        """
        UPDATE marts.fct_shipments SET carrier_id = 2 WHERE order_id < 50;
        DELETE FROM marts.fct_shipments WHERE order_id = 60;
        """,
    )
    audit = run_zone(warehouse, marts_dir, suites, "idf", "run-3")
    assert audit.passed, failed_checks(audit)
    assert zone_rows_differ(warehouse, marts_dir, "fct_shipments") == (0, 0)


def test_bad_rows_caught_beside_alias_column(published):
    warehouse, marts_dir, suites = published
    execute(warehouse, 'ALTER TABLE marts.fct_order_lines ADD COLUMN "c" INTEGER DEFAULT 7')
    run_zone(warehouse, marts_dir, suites, "idf", "run-2")
    inject_bad_rows(warehouse, "idf")
    audit = run_zone(warehouse, marts_dir, suites, "idf", "run-3")
    assert "suite_fct_order_lines" in failed_checks(audit)


def test_dotted_table_copies_zone_rows(tmp_path):
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    execute(warehouse, 'CREATE TABLE marts."fct.x" AS SELECT zone_code FROM marts.fct_shipments')
    source = DuckDBWarehouse(warehouse)
    with open_candidate(tmp_path / "candidate.duckdb") as candidate:
        source.copy_zone_tables(candidate, "idf")
        copied = candidate.execute('SELECT DISTINCT zone_code FROM "fct.x"').fetchall()
        candidate.execute('DELETE FROM "fct.x"')
        source.update_zone_tables(candidate, "idf")
        updated = candidate.execute('SELECT count(*), min(zone_code) FROM "fct.x"').fetchall()
    assert copied == [("idf",)]
    assert updated == [(ORDERS_PER_ZONE, "idf")]


def test_unreadable_published_mart_named(published, monkeypatch):
    warehouse, marts_dir, suites = published

    def damaged(*arguments):
        raise duckdb.IOException("Corrupt database file")

    monkeypatch.setattr(warehouses_module, "apply_row_delta", damaged)
    with pytest.raises(CandidateError) as raised:
        run_zone(warehouse, marts_dir, suites, "idf", "run-2")
    assert str(published_path(marts_dir, "idf")) in str(raised.value)
    assert "Corrupt database file" in str(raised.value)


def test_rowid_column_stops_audit(published):
    warehouse, marts_dir, suites = published
    execute(warehouse, 'ALTER TABLE marts.fct_shipments ADD COLUMN "RowId" INTEGER DEFAULT 1')
    with pytest.raises(CandidateError, match="fct_shipments"):
        run_zone(warehouse, marts_dir, suites, "idf", "run-2")
    with duckdb.connect(str(published_path(marts_dir, "idf")), read_only=True) as mart:
        log = mart.execute("SELECT run_id FROM _publish_log").fetchall()
    assert log == [("run-1",)]


def test_nested_or_view_source_copied_whole(published):
    warehouse, marts_dir, suites = published
    execute(warehouse, "ALTER TABLE marts.fct_shipments ADD COLUMN tags VARCHAR[]")
    execute(
        warehouse,
        "CREATE TABLE main.carriers_copy AS SELECT * FROM marts.dim_carriers; "
        "DROP TABLE marts.dim_carriers; "
        "CREATE VIEW marts.dim_carriers AS SELECT * FROM main.carriers_copy",
    )
    run_zone(warehouse, marts_dir, suites, "idf", "run-2")
    # NULL and [] hash alike, so only a whole copy carries this change.
    execute(warehouse, "UPDATE marts.fct_shipments SET tags = [] WHERE order_id % 2 = 0")
    audit = run_zone(warehouse, marts_dir, suites, "idf", "run-3")
    assert audit.passed, failed_checks(audit)
    assert zone_rows_differ(warehouse, marts_dir, "fct_shipments") == (0, 0)
    assert audited_rows(audit)["fct_shipments"] == ORDERS_PER_ZONE
    assert audited_rows(audit)["dim_carriers"] > 0


def test_table_named_like_working_table():
    connection = duckdb.connect()
    connection.execute("CREATE TABLE _gate_source_hashes (id INTEGER)")
    connection.execute("CREATE TABLE source AS SELECT range AS id FROM range(5)")

    delta = apply_row_delta(connection, "_gate_source_hashes", ["id"], "source")

    assert delta.inserted == 5
    assert multiset(connection, "SELECT * FROM main._gate_source_hashes") == multiset(
        connection, "SELECT * FROM source"
    )
