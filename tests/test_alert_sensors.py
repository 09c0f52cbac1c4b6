"""Alert sensors evaluated in-process against an ephemeral Dagster instance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import pytest
from alert_receivers import WebhookReceiver

from dagster_project.alert.config import AlertConfig
from dagster_project.alert.sensors import build_alert_sensors, masked_errors
from dagster_project.extract.sources import SourceError
from dagster_project.extract.sources.postgres import PostgresSource
from dagster_project.zones import load_zones


class MassDeleteRefused(RuntimeError):
    """Same name as the extraction's guard error, which the sensor recognises by name."""


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def zones():
    return [zone for zone in load_zones() if zone.code == "idf"]


def sensors_by_name(tmp_path, webhook, zones, now=None):
    config = AlertConfig(
        receivers=(webhook.url,),
        dagster_ui_url="http://dagster.test",
        reminder_interval=timedelta(hours=4),
        state_path=tmp_path / "state.sqlite",
    )
    sensors = build_alert_sensors(
        zones,
        tables=["sales_orders"],
        config_loader=lambda: config,
        clock=(lambda: now) if now else (lambda: datetime.now(UTC)),
    )
    return {sensor.name: sensor for sensor in sensors}


def test_run_failure_sensor_reports_mass_delete(tmp_path, webhook, zones):
    @dg.op
    def reconcile_deletes():
        raise MassDeleteRefused("sales_orders: 400 of 1000 rows (40 %) exceeds max_delete_share")

    @dg.job
    def reconcile():
        reconcile_deletes()

    run_id = alert_on_failed_run(tmp_path, webhook, zones, reconcile)

    assert len(webhook.bodies) == 1
    assert "mass_delete_guard on job/reconcile" in webhook.titles[0]
    assert "max_delete_share" in webhook.bodies[0]["message"]
    assert f"http://dagster.test/runs/{run_id}" in webhook.bodies[0]["message"]


def failed_volume_check_instance() -> dg.DagsterInstance:
    partitions = dg.StaticPartitionsDefinition(["idf"])

    @dg.asset(
        partitions_def=partitions,
        check_specs=[dg.AssetCheckSpec("row_volume", asset="zone_candidate", blocking=True)],
    )
    def zone_candidate():
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(
            check_name="row_volume", passed=False, metadata={"drop_share": 0.62}
        )

    instance = dg.DagsterInstance.ephemeral()
    dg.materialize([zone_candidate], instance=instance, partition_key="idf", raise_on_error=False)
    return instance


def test_check_failure_sensor_reports_observed_value(tmp_path, webhook, zones):
    instance = failed_volume_check_instance()
    sensor = sensors_by_name(tmp_path, webhook, zones)["alert_on_asset_check_failure"]
    context = dg.build_sensor_context(instance=instance)
    sensor(context)

    assert len(webhook.bodies) == 1
    assert "row_volume on zone_candidate" in webhook.titles[0]
    assert "drop_share=0.62" in webhook.bodies[0]["message"]
    assert context.cursor is not None


def test_check_sensor_retries_failed_delivery(tmp_path, webhook, zones):
    instance = failed_volume_check_instance()
    sensor = sensors_by_name(tmp_path, webhook, zones)["alert_on_asset_check_failure"]
    webhook.stop()
    down = dg.build_sensor_context(instance=instance)
    sensor(down)
    webhook.start()
    up = dg.build_sensor_context(instance=instance, cursor=down.cursor)
    sensor(up)
    assert down.cursor is None
    assert up.cursor is not None
    assert len(webhook.bodies) == 1


def test_freshness_sensor_reads_watermark(tmp_path, webhook, zones):
    @dg.asset(key=["base_operation", "sales_orders"])
    def sales_orders():
        # Friday 6 March 2026, 16:30 in Paris.
        return dg.MaterializeResult(metadata={"watermark": "2026-03-06T15:30:00+00:00"})

    instance = dg.DagsterInstance.ephemeral()
    dg.materialize([sales_orders], instance=instance)
    saturday = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    monday_late = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)

    alert = "FAILED: data_freshness[idf] on base_operation/sales_orders (idf)"

    def sales_alerts() -> int:
        # Many notices due at once come in one message, whose body lists each title.
        return sum(body["message"].count(alert) for body in webhook.bodies) + sum(
            title.endswith(alert) for title in webhook.titles
        )

    quiet = sensors_by_name(tmp_path, webhook, zones, now=saturday)["alert_on_stale_data"]
    quiet(dg.build_sensor_context(instance=instance))
    sales_alerts_on_saturday = sales_alerts()
    late = sensors_by_name(tmp_path, webhook, zones, now=monday_late)["alert_on_stale_data"]
    late(dg.build_sensor_context(instance=instance))

    assert sales_alerts_on_saturday == 0
    assert sales_alerts() == 1


def test_heartbeat_sensor_alerts_without_runs(tmp_path, webhook, zones):
    instance = dg.DagsterInstance.ephemeral()
    sunday_night = datetime(2026, 3, 8, 2, 0, tzinfo=UTC)
    sensor = sensors_by_name(tmp_path, webhook, zones, now=sunday_night)
    sensor["alert_on_missed_heartbeat"](dg.build_sensor_context(instance=instance))
    assert sorted(webhook.titles) == [
        "[zone-marts] FAILED: heartbeat on base_operation",
        "[zone-marts] FAILED: heartbeat on zone_mart[idf] (idf)",
    ]


def test_alert_definitions_load(zones):
    from dagster_project.alert import build_alert_definitions

    definitions = build_alert_definitions(zones, tables=["sales_orders"])
    dg.Definitions.validate_loadable(definitions)
    assert len(list(definitions.sensors)) == 5


def test_run_failure_errors_hide_the_password(monkeypatch):
    # libpq quotes the part of a URL it cannot parse, and the alert sent that line to receivers.
    url = "postgresql://zm:p%zzS3cretPW@127.0.0.1:5432/base"
    monkeypatch.setenv("ZONE_MARTS_MODE", "production")
    monkeypatch.setenv("BASE_OPERATION_URL", url)
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://zm:other@127.0.0.1:5432/warehouse")
    error = 'SourceError: invalid percent-encoded token: "p%zzS3cretPW"'
    (masked,) = masked_errors([error])
    assert "S3cretPW" not in masked
    assert masked == 'SourceError: invalid percent-encoded token: "***"'


def test_source_connection_error_hides_the_password():
    with pytest.raises(SourceError) as raised:
        PostgresSource("postgresql://zm:p%zzS3cretPW@127.0.0.1:5432/base")
    assert "S3cretPW" not in str(raised.value)
    assert "postgresql://zm:***@127.0.0.1:5432/base" in str(raised.value)


def alert_on_failed_run(tmp_path, webhook, zones, job: dg.JobDefinition) -> str:
    """Run ``job``, which fails, then the run-failure sensor; return the failed run's id."""
    instance = dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    sensors_by_name(tmp_path, webhook, zones)["alert_on_run_failure"](context)
    return result.run_id


def alert_message(tmp_path, webhook, zones, job: dg.JobDefinition) -> str:
    """Return the one alert message that the failure of ``job`` sends."""
    alert_on_failed_run(tmp_path, webhook, zones, job)
    (body,) = webhook.bodies
    return body["message"]


def test_failure_alert_shows_project_message(tmp_path, webhook, zones):
    # The alert showed DuckDB's lock error, the innermost cause, instead of the message that
    # named the process to close.
    @dg.op
    def publish():
        try:
            raise duckdb.IOException("Could not set lock on file")
        except duckdb.IOException as error:
            raise ConnectionError("the mart is open for writing in another process") from error

    @dg.job
    def publish_zones():
        publish()

    message = alert_message(tmp_path, webhook, zones, publish_zones)
    assert "ConnectionError: the mart is open for writing in another process" in message
    assert "ConnectionError: ConnectionError" not in message


def test_failure_alert_names_failed_check(tmp_path, webhook, zones):
    # Only the first line was kept: "1 blocking asset check failed with ERROR severity:".
    check = dg.AssetCheckSpec("suite_fct_order_lines", asset="candidate", blocking=True)

    @dg.asset(check_specs=[check])
    def candidate():
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(check_name="suite_fct_order_lines", passed=False)

    @dg.asset(deps=[candidate])
    def mart():
        return None

    job = dg.Definitions(
        assets=[candidate, mart], jobs=[dg.define_asset_job("publish_zones")]
    ).resolve_job_def("publish_zones")
    message = alert_message(tmp_path, webhook, zones, job)
    assert "suite_fct_order_lines" in message


def test_interrupted_run_sends_no_alert(tmp_path, webhook, zones):
    # A refresh stopped with Ctrl+C or by closing its terminal sent ops a run-failure alert
    # reading only "DagsterExecutionInterruptedError".
    @dg.op
    def extract():
        raise dg.DagsterExecutionInterruptedError()

    @dg.job
    def refresh():
        extract()

    alert_on_failed_run(tmp_path, webhook, zones, refresh)
    assert webhook.bodies == []
