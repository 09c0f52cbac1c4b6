"""The Dagster extraction assets, the reconcile job and the change markers."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from dagster_project.extract.assets import (
    RECONCILE_TAG,
    build_extract_assets,
    build_reconcile_job,
    read_change_markers,
)
from dagster_project.extract.declaration import parse_declaration
from dagster_project.resources import SourceResource, WarehouseResource

pytest.register_assert_rewrite("extract_support")

pytest_plugins = ("extract_support",)

ORDERS = "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, updated_at TIMESTAMPTZ NOT NULL)"


@pytest.fixture
def specs():
    return parse_declaration({"tables": {"orders": {"max_delete_share": 0.5}}})


def _materialize(specs, sqlite_source, path, tags=None):
    return dg.materialize(
        build_extract_assets(specs),
        resources={
            "warehouse": WarehouseResource(path=str(path)),
            "source": SourceResource(url=sqlite_source.url),
        },
        tags=tags,
    )


def _metadata(result) -> dict:
    (materialization,) = result.asset_materializations_for_node("base_operation__orders")
    return {key: value.value for key, value in materialization.metadata.items()}


def test_asset_records_counts(specs, sqlite_source, tmp_path):
    sqlite_source.run(ORDERS, "INSERT INTO orders VALUES (1, '2026-01-01T10:00Z')")
    result = _materialize(specs, sqlite_source, tmp_path / "w.duckdb")
    metadata = _metadata(result)
    assert result.success
    assert (metadata["rows_read"], metadata["inserted"], metadata["deleted"]) == (1, 1, 0)
    assert metadata["watermark_after"] == "2026-01-01 10:00:00+00"


def test_reconcile_only_on_tagged_runs(specs, sqlite_source, tmp_path):
    sqlite_source.run(
        ORDERS, "INSERT INTO orders VALUES (1, '2026-01-01T10:00Z'), (2, '2026-01-01T10:00Z')"
    )
    path = tmp_path / "w.duckdb"
    _materialize(specs, sqlite_source, path)
    sqlite_source.run("DELETE FROM orders WHERE order_id = 2")
    plain = _metadata(_materialize(specs, sqlite_source, path))
    tagged = _metadata(_materialize(specs, sqlite_source, path, tags={RECONCILE_TAG: "true"}))
    assert plain["deleted"] == 0
    assert tagged["deleted"] == 1
    with duckdb.connect(str(path)) as connection:
        assert connection.execute("SELECT order_id FROM raw.orders").fetchall() == [(1,)]


def test_assets_keyed_by_table(specs):
    (asset,) = build_extract_assets(specs)
    assert asset.key == dg.AssetKey(["base_operation", "orders"])
    assert asset.group_names_by_key[asset.key] == "base_operation"


def test_reconcile_schedule_nightly_utc():
    # The nightly reconciliation ran the extraction alone: deleted rows left the landing tables
    # but stayed in the zone marts until the next refresh.
    from dagster_project.definitions import defs

    schedule = defs.resolve_schedule_def("refresh_and_reconcile_nightly")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == "refresh"
    (request,) = schedule.evaluate_tick(dg.build_schedule_context()).run_requests
    assert request.tags["zone_marts/reconcile"] == "true"
    assert request.tags["dagster/priority"] == "-1"


def test_definitions_load_with_declared_tables():
    job = build_reconcile_job()
    definitions = dg.Definitions(
        assets=build_extract_assets(),
        jobs=[job],
        resources={
            "warehouse": WarehouseResource(path="unused.duckdb"),
            "source": SourceResource(url="sqlite:///unused.sqlite"),
        },
    )
    resolved = definitions.resolve_job_def("reconcile_base_operation")
    assert len(resolved.asset_layer.executable_asset_keys) == 12


def test_change_marker_moves_with_source(specs, sqlite_source):
    sqlite_source.run(ORDERS, "INSERT INTO orders VALUES (1, '2026-01-01T10:00Z')")
    before = read_change_markers(sqlite_source.url, specs)
    sqlite_source.run("UPDATE orders SET updated_at = '2026-01-02T10:00Z'")
    after = read_change_markers(sqlite_source.url, specs)
    assert before == {"orders": "2026-01-01T10:00Z"}
    assert after == {"orders": "2026-01-02T10:00Z"}
