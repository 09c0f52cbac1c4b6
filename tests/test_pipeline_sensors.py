"""Sensors and the schedule that order the pipeline: refresh, then publish each zone."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from dagster_project.demo.generate import generate_base_operation
from dagster_project.pipeline import (
    REFRESH_JOB,
    build_jobs,
    build_publish_sensor,
    build_refresh_schedule,
    build_source_change_sensor,
)
from dagster_project.zones import load_zones


def evaluate(sensor: dg.SensorDefinition, context) -> list:
    result = sensor(context)
    if result is None:
        return []
    if isinstance(result, (dg.RunRequest, dg.SkipReason)):
        return [result]
    return list(result)


def publish_requests(
    fingerprints: dict[str, str] | None,
    published: dict[str, str],
    landed: dict[str, int] | None = None,
) -> list:
    """Evaluate the publish sensor after a stand-in refresh run.

    The refresh run records ``fingerprints`` and ``landed`` rows as zone_mart_changes does (no
    record when ``fingerprints`` is None), and ``published`` gives the content fingerprint of
    each zone's last zone_mart materialization.
    """
    zones = load_zones()
    refresh_job, publish_job = build_jobs(zones)

    @dg.op
    def record_changes():
        if fingerprints is not None:
            yield dg.AssetMaterialization(
                asset_key="zone_mart_changes",
                metadata={"zone_fingerprints": fingerprints, "zone_rows_landed": landed or {}},
            )
        yield dg.Output(None)

    @dg.job(name="refresh")
    def refresh_stand_in():
        record_changes()

    with dg.instance_for_test() as instance:
        for code, fingerprint in published.items():
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    asset_key="zone_mart",
                    partition=code,
                    metadata={"content_fingerprint": fingerprint},
                )
            )
        run = refresh_stand_in.execute_in_process(instance=instance)
        context = dg.build_run_status_sensor_context(
            sensor_name="publish_zones_after_refresh",
            dagster_instance=instance,
            dagster_run=run.dagster_run,
            dagster_event=run.get_run_success_event(),
        )
        return evaluate(build_publish_sensor(refresh_job, publish_job, zones), context)


def test_publish_sensor_requests_every_zone():
    zones = load_zones()
    requests = publish_requests(None, {})
    assert [request.partition_key for request in requests] == [zone.code for zone in zones]
    assert len({request.run_key for request in requests}) == len(zones)
    assert {request.tags["dagster/priority"] for request in requests} == {"0"}


def test_publish_sensor_puts_changed_zones_first():
    codes = [zone.code for zone in load_zones()]
    fingerprints = {code: f"new-{code}" for code in codes}
    fingerprints["idf"] = "same"
    published = {code: f"old-{code}" for code in codes}
    published["idf"] = "same"
    # Source rows landed for reunion; idf is unchanged; the others changed with time only.
    requests = publish_requests(fingerprints, published, landed={"reunion": 3, "hdf": 0})
    order = [request.partition_key for request in requests]
    priorities = {request.partition_key: request.tags["dagster/priority"] for request in requests}
    assert order[0] == "reunion"
    assert order[-1] == "idf"
    assert priorities["reunion"] == "2"
    assert priorities["idf"] == "0"
    assert {priorities[code] for code in codes if code not in ("idf", "reunion")} == {"1"}


def demo_source_sensor(tmp_path) -> tuple[Path, dg.SensorDefinition]:
    """Generate a small demo source and return it with its source-change sensor."""
    source = tmp_path / "base_operation.sqlite"
    url = f"sqlite:///{source}"
    generate_base_operation(url, scale=0.02, seed=1)
    refresh_job, _ = build_jobs(load_zones())
    return source, build_source_change_sensor(refresh_job, url)


def test_source_change_sensor_fires_once_per_change(tmp_path):
    source, sensor = demo_source_sensor(tmp_path)

    with dg.instance_for_test() as instance:
        first_context = dg.build_sensor_context(instance=instance)
        first = evaluate(sensor, first_context)
        assert isinstance(first[0], dg.RunRequest)
        cursor = first_context.cursor

        unchanged = evaluate(sensor, dg.build_sensor_context(instance=instance, cursor=cursor))
        assert isinstance(unchanged[0], dg.SkipReason)

        with sqlite3.connect(source) as connection:
            connection.execute(
                "update carriers set updated_at = '2099-01-01 00:00:00.000000+00:00' "
                "where carrier_id = (select min(carrier_id) from carriers)"
            )
        changed = evaluate(sensor, dg.build_sensor_context(instance=instance, cursor=cursor))
    assert isinstance(changed[0], dg.RunRequest)
    assert changed[0].tags["zone_marts/changed_tables"] == "carriers"
    assert changed[0].run_key != first[0].run_key


@dg.op
def do_nothing():
    pass


@dg.job(name=REFRESH_JOB)
def refresh_stand_in():
    do_nothing()


# A tick of the 15-minute schedule other than the nightly one.
QUARTER = datetime(2026, 12, 6, 10, 15, tzinfo=UTC)


def test_refresh_schedule_skips_while_a_refresh_is_active():
    # A refresh queued behind an active one took the warehouse before the zone publishes that
    # the active one's success requested, delaying each zone's new data by a whole refresh.
    refresh_job, _ = build_jobs(load_zones())
    schedule = build_refresh_schedule(refresh_job)
    with dg.instance_for_test() as instance:

        def tick() -> dg.ScheduleExecutionData:
            context = dg.build_schedule_context(instance=instance, scheduled_execution_time=QUARTER)
            return schedule.evaluate_tick(context)

        idle = tick()
        assert len(idle.run_requests) == 1
        run = instance.create_run_for_job(refresh_stand_in, status=dg.DagsterRunStatus.STARTED)
        busy = tick()
        assert not busy.run_requests
        assert busy.skip_message == f"refresh run {run.run_id} is still active"
        instance.report_run_failed(run)
        again = tick()
        assert len(again.run_requests) == 1


def test_source_sensor_skips_read_changes(tmp_path):
    # After a refresh from the command line, the schedule or the UI had read the changes, the
    # sensor requested another refresh, which took the warehouse ahead of the zone publishes.
    source, sensor = demo_source_sensor(tmp_path)
    with dg.instance_for_test() as instance:
        refresh_stand_in.execute_in_process(instance=instance)
        context = dg.build_sensor_context(instance=instance)
        (skipped,) = evaluate(sensor, context)
        assert isinstance(skipped, dg.SkipReason)
        assert "were read by refresh run" in skipped.skip_message
        with sqlite3.connect(source) as connection:
            connection.execute(
                "update carriers set updated_at = '2099-01-01 00:00:00.000000+00:00' "
                "where carrier_id = (select min(carrier_id) from carriers)"
            )
        later = dg.build_sensor_context(instance=instance, cursor=context.cursor)
        (requested,) = evaluate(sensor, later)
    assert isinstance(requested, dg.RunRequest)
    assert requested.tags["zone_marts/changed_tables"] == "carriers"
    # Below every publish, so the publishes already queued start first.
    assert requested.tags["dagster/priority"] == "-1"


def test_refresh_schedule_skips_nightly_tick():
    # At 02:00 UTC both schedules requested a refresh, so the night had two and ten publishes.
    refresh_job, _ = build_jobs(load_zones())
    schedule = build_refresh_schedule(refresh_job)
    with dg.instance_for_test() as instance:
        nightly = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
        skipped = schedule.evaluate_tick(
            dg.build_schedule_context(instance=instance, scheduled_execution_time=nightly)
        )
        assert not skipped.run_requests
        later = nightly.replace(minute=15)
        (request,) = schedule.evaluate_tick(
            dg.build_schedule_context(instance=instance, scheduled_execution_time=later)
        ).run_requests
    assert request.tags["dagster/priority"] == "-1"
