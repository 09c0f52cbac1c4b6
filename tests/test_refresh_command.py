"""``zone-marts refresh`` beside the Dagster instance's own runs, and when its terminal closes."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.cli import main
from dagster_project.resources import WAREHOUSE_RUN_TAGS
from dagster_project.runner import ASSET_GRAPH_JOB
from dagster_project.settings import PROJECT_DIR

BIN = Path(sys.executable).parent


@pytest.fixture
def project_home(tmp_path, monkeypatch) -> Path:
    """A data folder, marts folder and Dagster instance of the test's own."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_DIR / ".dagster_home" / "dagster.yaml", home / "dagster.yaml")
    for name, value in {
        "DAGSTER_HOME": home,
        "ZONE_MARTS_DATA_DIR": tmp_path / "data",
        "ZONE_MARTS_DIR": tmp_path / "marts",
        "TMPDIR": tmp_path,
    }.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("BASE_OPERATION_URL", raising=False)
    monkeypatch.delenv("WAREHOUSE_PATH", raising=False)
    return tmp_path


def add_run(job_name: str, tags: dict[str, str]) -> str:
    run_id = str(uuid.uuid4())
    with dg.DagsterInstance.get() as instance:
        instance.add_run(
            dg.DagsterRun(
                job_name=job_name, run_id=run_id, status=dg.DagsterRunStatus.STARTED, tags=tags
            )
        )
    return run_id


@pytest.mark.parametrize(
    "job_name, tags", [("publish_zones", WAREHOUSE_RUN_TAGS), (ASSET_GRAPH_JOB, {})]
)
def test_refresh_stops_while_a_run_uses_the_warehouse(project_home, capsys, job_name, tags):
    # The command's runs failed step after step on the DuckDB file's lock (29 tracebacks), and
    # the failed run paged ops.
    run_id = add_run(job_name, tags)
    assert main(["refresh"]) == 1
    error = capsys.readouterr().err
    assert f"run {run_id} of job {job_name} is started" in error
    assert "terminate it in the Dagster UI" in error
    with dg.DagsterInstance.get() as instance:
        assert len(instance.get_run_records()) == 1


@pytest.mark.slow
def test_closed_terminal_marks_the_run_failed(project_home):
    # SIGHUP killed the command outright, and its run stayed 'started' for good, so the
    # schedule and the source sensor skipped every tick behind it.
    source = project_home / "data" / "base_operation.sqlite"
    source.parent.mkdir()
    generate = [str(BIN / "zone-marts"), "generate", "--url", f"sqlite:///{source}"]
    subprocess.run([*generate, "--scale", "0.02"], check=True, capture_output=True)
    process = subprocess.Popen(
        [str(BIN / "zone-marts"), "refresh"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        with dg.DagsterInstance.get() as instance:
            deadline = time.monotonic() + 180
            while not instance.get_run_records(
                dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])
            ):
                assert time.monotonic() < deadline, "the refresh run never started"
                assert process.poll() is None, "the command ended before its run started"
                time.sleep(0.2)
            process.send_signal(signal.SIGHUP)
            process.wait(timeout=120)
            (record,) = instance.get_run_records()
        assert record.dagster_run.status == dg.DagsterRunStatus.FAILURE
        assert process.returncode != 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
