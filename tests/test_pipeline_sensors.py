"""Sensors that order the pipeline: publish after a refresh, refresh when the source changes."""

from __future__ import annotations

import sqlite3

import dagster as dg

from dagster_project.demo.generate import generate_base_operation
from dagster_project.pipeline import (
    build_jobs,
    build_publish_sensor,
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


def test_publish_sensor_requests_every_zone():
    zones = load_zones()
    refresh_job, publish_job = build_jobs(zones)

    @dg.op
    def noop():
        return None

    @dg.job(name="refresh")
    def refresh_stand_in():
        noop()

    with dg.instance_for_test() as instance:
        run = refresh_stand_in.execute_in_process(instance=instance)
        context = dg.build_run_status_sensor_context(
            sensor_name="publish_zones_after_refresh",
            dagster_instance=instance,
            dagster_run=run.dagster_run,
            dagster_event=run.get_run_success_event(),
        )
        requests = evaluate(build_publish_sensor(refresh_job, publish_job, zones), context)
    assert sorted(request.partition_key for request in requests) == sorted(
        zone.code for zone in zones
    )
    assert len({request.run_key for request in requests}) == len(zones)


def test_source_change_sensor_fires_once_per_change(tmp_path):
    source = tmp_path / "base_operation.sqlite"
    url = f"sqlite:///{source}"
    generate_base_operation(url, scale=0.02, seed=1)
    refresh_job, _ = build_jobs(load_zones())
    sensor = build_source_change_sensor(refresh_job, url)

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
