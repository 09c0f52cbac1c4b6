"""The gate assets run through Dagster: a failing blocking check skips that zone's publish."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest
from gate_warehouse import build_warehouse, execute, inject_bad_rows, publish_definitions

from dagster_project.gate.assets import GateConfig, build_gate_definitions, declared_zone
from dagster_project.pipeline import PUBLISH_JOB
from dagster_project.publish.embedded import published_path
from dagster_project.settings import load_settings
from dagster_project.zones import load_zones


@pytest.fixture
def gate(tmp_path):
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    settings = load_settings(
        {"ZONE_MARTS_DIR": str(tmp_path / "marts"), "WAREHOUSE_PATH": str(warehouse)}
    )
    defs = publish_definitions(settings, tmp_path / "expectations")
    return defs, warehouse, settings.marts_dir


def test_publish_job_skips_failing_zone(gate):
    defs, warehouse, marts_dir = gate
    inject_bad_rows(warehouse, "idf")
    job = defs.resolve_job_def(PUBLISH_JOB)

    with dg.DagsterInstance.ephemeral() as instance:
        bad = job.execute_in_process(partition_key="idf", instance=instance, raise_on_error=False)
        good = job.execute_in_process(partition_key="hdf", instance=instance, raise_on_error=False)

    assert not bad.success
    assert [m.asset_key.path for m in bad.get_asset_materialization_events() if m] == [
        ["zone_candidate"]
    ]
    assert not published_path(marts_dir, "idf").exists()
    failed = {e.check_name: e for e in bad.get_asset_check_evaluations() if not e.passed}
    assert set(failed) == {"suite_fct_order_lines", "suite_fct_shipments"}
    metadata = failed["suite_fct_order_lines"].metadata
    assert metadata["zone_code"].value == "idf"
    assert "expect_column_values_to_not_be_null:order_line_key" in (
        metadata["failed_expectations"].value
    )
    assert metadata["report_path"].value.endswith(".html")

    assert good.success
    assert all(e.passed for e in good.get_asset_check_evaluations())
    assert len(good.get_asset_check_evaluations()) == 5
    with duckdb.connect(str(published_path(marts_dir, "hdf")), read_only=True) as mart:
        runs = mart.execute("select run_id from _publish_log").fetchall()
    assert runs == [(good.run_id,)]


def test_volume_compares_with_dagster_when_mart_moved_away(gate):
    # The volume check read the last row counts from the mart file alone: with the file moved
    # away (or its log emptied), half of a table's rows were published as a first publish.
    defs, warehouse, marts_dir = gate
    job = defs.resolve_job_def(PUBLISH_JOB)
    with dg.DagsterInstance.ephemeral() as instance:
        assert job.execute_in_process(partition_key="hdf", instance=instance).success
        mart = published_path(marts_dir, "hdf")
        mart.rename(mart.with_name("hdf.moved.duckdb"))
        execute(
            warehouse,
            "DELETE FROM marts.fct_order_lines WHERE zone_code = 'hdf' AND order_id % 2 = 0",
        )
        again = job.execute_in_process(partition_key="hdf", instance=instance, raise_on_error=False)
    assert not again.success
    failed = {e.check_name: e for e in again.get_asset_check_evaluations() if not e.passed}
    # Reconciliation fails too: the lines deleted here are still in the raw tables.
    assert set(failed) == {"volume", "reconciliation"}
    assert "fct_order_lines" in failed["volume"].metadata["dropped_tables"].value
    assert not mart.exists()


def test_candidate_depends_on_every_dbt_mart(tmp_path):
    from dagster_project.transform.assets import zone_marts_dbt_assets

    mart_keys = {key for key in zone_marts_dbt_assets.keys if key.path[0] == "marts"}
    settings = load_settings({"ZONE_MARTS_DIR": str(tmp_path / "marts")})
    gate = build_gate_definitions(load_zones(), settings)
    (candidate,) = [a for a in gate.assets if dg.AssetKey("zone_candidate") in a.keys]
    assert mart_keys
    assert set(candidate.dependency_keys) == mart_keys


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_drop_share": 1.5}, "max_drop_share=1.5 must be between 0 and 1"),
        ({"min_dropped_rows": -1}, "min_dropped_rows=-1 must be 0 or more"),
        ({"reconciliation_tolerance": "one cent"}, "'one cent' is not a decimal number"),
        ({"reconciliation_tolerance": "-0.01"}, "reconciliation_tolerance=-0.01 must be 0"),
    ],
)
def test_invalid_gate_config_is_rejected(settings, message):
    with pytest.raises(ValueError, match=message):
        GateConfig(**settings).to_policy()


def test_failing_zone_raises_alert(gate, tmp_path):
    from datetime import timedelta

    from alert_receivers import WebhookReceiver

    from dagster_project.alert.config import AlertConfig
    from dagster_project.alert.sensors import build_alert_sensors

    defs, warehouse, _ = gate
    inject_bad_rows(warehouse, "idf")
    inject_bad_rows(warehouse, "hdf")
    job = defs.resolve_job_def(PUBLISH_JOB)
    receiver = WebhookReceiver()
    receiver.start()
    try:
        config = AlertConfig(
            receivers=(receiver.url,),
            dagster_ui_url="http://127.0.0.1:3000",
            reminder_interval=timedelta(hours=4),
            state_path=tmp_path / "alert_state.sqlite",
        )
        sensors = build_alert_sensors(
            load_zones(), tables=["sales_orders"], config_loader=lambda: config
        )
        sensor = next(s for s in sensors if s.name == "alert_on_asset_check_failure")
        # The SQLite storage of a local DAGSTER_HOME keeps one event log per run, which is what
        # the daemon reads in `make dev`. Two ticks check that the sensor's cursor works there.
        home = tmp_path / "dagster_home"
        home.mkdir()
        with dg.DagsterInstance.local_temp(str(home)) as instance:
            job.execute_in_process(partition_key="idf", instance=instance, raise_on_error=False)
            first_tick = dg.build_sensor_context(instance=instance)
            sensor(first_tick)
            first_messages = len(receiver.bodies)
            job.execute_in_process(partition_key="hdf", instance=instance, raise_on_error=False)
            sensor(dg.build_sensor_context(instance=instance, cursor=first_tick.cursor))
    finally:
        receiver.stop()

    messages = [body["title"] + "\n" + body["message"] for body in receiver.bodies]
    assert first_messages == 2, messages
    assert len(messages) == 4, messages
    order_lines = next(text for text in messages if "suite_fct_order_lines" in text)
    assert "idf" in order_lines
    assert "expect_column_values_to_not_be_null" in order_lines
    assert any("hdf" in text for text in messages[2:])


def test_publish_of_undeclared_zone_fails_naming_it():
    # Launched through the API for 'nosuchzone', the run audited an empty candidate as passed.
    zones = load_zones()
    with pytest.raises(dg.Failure, match="'nosuchzone' is not declared in marts/zones.yml"):
        declared_zone(dg.build_asset_context(partition_key="nosuchzone"), zones)
    with pytest.raises(dg.Failure, match="a publish runs for one zone"):
        declared_zone(dg.build_asset_context(), zones)
    assert declared_zone(dg.build_asset_context(partition_key="idf"), zones) == "idf"
