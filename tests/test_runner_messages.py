"""The one-line failure message the command line prints for a failed run."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid

import dagster as dg
import duckdb
import pytest
from duckdb_holder import duckdb_held_by_another_process, hold_briefly

from dagster_project import resources
from dagster_project.extract.loader import LoadError
from dagster_project.pipeline import PUBLISH_JOB, REFRESH_JOB
from dagster_project.resources import WarehouseResource
from dagster_project.runner import (
    ASSET_GRAPH_JOB,
    PipelineOutcome,
    ZoneOutcome,
    failure_message,
    format_outcome,
    run_pipeline,
    summarize_zone,
)
from dagster_project.settings import SettingsError
from dagster_project.zones import load_zones


def failed_run(error: Exception) -> dg.ExecuteInProcessResult:
    @dg.op(name="extract_orders")
    def failing_op():
        raise error

    @dg.job(name="refresh")
    def job():
        failing_op()

    with dg.instance_for_test() as instance:
        return job.execute_in_process(instance=instance, raise_on_error=False)


def test_message_names_own_error_not_its_cause():
    try:
        try:
            raise duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block")
        except duckdb.OutOfMemoryException as cause:
            raise LoadError("table 'orders': raise ZONE_MARTS_EXTRACT_MEMORY_LIMIT") from cause
    except LoadError as error:
        result = failed_run(error)
    message = failure_message(result)
    assert message == (
        "step extract_orders: LoadError: table 'orders': raise ZONE_MARTS_EXTRACT_MEMORY_LIMIT"
    )


def test_message_keeps_class_name_once():
    message = failure_message(failed_run(SettingsError("VARIABLE='lots' is invalid")))
    assert message == "step extract_orders: SettingsError: VARIABLE='lots' is invalid"


def test_message_falls_back_to_innermost_cause():
    message = failure_message(failed_run(ValueError("bad value")))
    assert message == "step extract_orders: ValueError: bad value"


def test_zone_summary_shows_step_error():
    zone = load_zones()[0]
    outcome = PipelineOutcome("refresh-1", True, None, 20.0, [])
    outcome.zones.append(
        ZoneOutcome(
            zone=zone,
            run_id="publish-1",
            published=False,
            checks_passed=0,
            checks_failed=[],
            quarantined_rows=0,
            mart_location="marts/x.duckdb",
            error="step zone_candidate: CandidateError: raise ZONE_MARTS_GATE_MEMORY_LIMIT",
        )
    )
    text = format_outcome(outcome)
    assert f"[{zone.code}]: NOT published" in text
    assert (
        "  error: step zone_candidate: CandidateError: raise ZONE_MARTS_GATE_MEMORY_LIMIT" in text
    )


def test_unreadable_mart_summary_is_reported(tmp_path):
    # A damaged mart (or one a reader keeps open for writing) raised out of the summary and
    # stopped the publish runs of the zones after it.
    (tmp_path / "paca.duckdb").write_bytes(b"SQLite format 3\x00" + bytes(100))
    location, rows, published_at, error = summarize_zone("paca", tmp_path, None)
    assert location == str(tmp_path / "paca.duckdb")
    assert (rows, published_at) == ({}, None)
    assert error.startswith("IOException: ")
    assert "is not a DuckDB database file (it is a SQLite database)" in error


def test_warehouse_path_to_sqlite_is_rejected_offline(tmp_path):
    # DuckDB recognised the SQLite file and tried to download its SQLite extension.
    path = tmp_path / "base_operation.sqlite"
    sqlite3.connect(path).execute("create table t (a)").connection.commit()
    warehouse = WarehouseResource(path=str(path))
    with pytest.raises(ConnectionError, match="is not a DuckDB database file .it is a SQLite"):
        with warehouse.connect():
            pass


def run_stand_ins(refreshed, published, partitions, zones, marts_dir, instance):
    """Run the pipeline with ``refreshed`` as its refresh job and ``published`` as its publish."""
    defs = dg.Definitions(
        assets=[refreshed, published],
        jobs=[
            dg.define_asset_job(REFRESH_JOB, selection=[refreshed]),
            dg.define_asset_job(PUBLISH_JOB, selection=[published], partitions_def=partitions),
        ],
    )
    return run_pipeline(defs, zones, marts_dir, instance)


def test_interrupted_publish_stops_later_zones(tmp_path):
    # Ctrl+C during one zone's publish failed that zone, then the next zones were published.
    zones = load_zones()[:3]
    partitions = dg.StaticPartitionsDefinition([zone.code for zone in zones])

    @dg.asset
    def refreshed():
        return 1

    @dg.asset(partitions_def=partitions)
    def published(context):
        if context.partition_key == zones[1].code:
            raise dg.DagsterExecutionInterruptedError()

    with dg.instance_for_test() as instance:
        outcome = run_stand_ins(refreshed, published, partitions, zones, tmp_path, instance)
    assert outcome.interrupted
    assert not outcome.succeeded
    assert [zone.zone.code for zone in outcome.zones] == [zones[0].code, zones[1].code]
    assert "Interrupted (Ctrl+C)" in format_outcome(outcome)


def test_warehouse_held_by_another_process_is_named(tmp_path, monkeypatch):
    # The message asked the user to set WAREHOUSE_PATH to a writable file, when another refresh
    # had the warehouse open.
    monkeypatch.setattr(resources, "LOCK_RETRY_SECONDS", 0.5)
    path = tmp_path / "warehouse.duckdb"
    with duckdb_held_by_another_process(path):
        with pytest.raises(ConnectionError, match="is open in another process") as error:
            with WarehouseResource(path=str(path)).connect():
                pass
    assert "WAREHOUSE_PATH" not in str(error.value)


def test_publish_waits_for_foreign_run(tmp_path):
    # The command's runs bypass the queue, which started a run from the asset graph between two
    # of them: the next publish then failed on the DuckDB file's lock.
    zones = load_zones()[:1]
    partitions = dg.StaticPartitionsDefinition([zone.code for zone in zones])
    ended = threading.Event()

    @dg.asset
    def refreshed(context):
        foreign = str(uuid.uuid4())
        context.instance.add_run(
            dg.DagsterRun(
                job_name=ASSET_GRAPH_JOB, run_id=foreign, status=dg.DagsterRunStatus.STARTED
            )
        )

        def end_foreign_run() -> None:
            time.sleep(1)
            ended.set()
            context.instance.report_run_failed(context.instance.get_run_by_id(foreign))

        threading.Thread(target=end_foreign_run).start()
        return 1

    @dg.asset(partitions_def=partitions)
    def published():
        assert ended.is_set(), "the publish started while the other run used the warehouse"

    with dg.instance_for_test() as instance:
        outcome = run_stand_ins(refreshed, published, partitions, zones, tmp_path, instance)
    assert outcome.zones[0].error is None
    assert outcome.refresh_succeeded


def test_brief_warehouse_reader_waited_for(tmp_path):
    # A `zone-marts status` reading the warehouse at the moment a step opened it failed the
    # refresh: a reader keeps it open for milliseconds, so opening retries for a while.
    path = tmp_path / "warehouse.duckdb"
    reader = hold_briefly(path, 1.0)
    with WarehouseResource(path=str(path)).connect() as connection:
        assert connection.execute("select 1").fetchall() == [(1,)]
    reader.wait(timeout=30)
