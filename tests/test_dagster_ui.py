"""The Dagster UI: `dagster dev -w workspace.yaml` loads the code location and lists every asset."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dagster_project.settings import PROJECT_DIR

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
ASSET_NODES_QUERY = "{ assetNodes { assetKey { path } } }"
LOCATION_QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


def restore_default_signals() -> None:
    # dagster dev ignores SIGTERM when its parent ignored it; give it the default handlers.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture
def dagster_dev(tmp_path):
    port = free_port()
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    (tmp_path / "tmp").mkdir()
    env = dict(
        os.environ,
        DAGSTER_HOME=str(tmp_path / "home"),
        TMPDIR=str(tmp_path / "tmp"),
        ZONE_MARTS_DATA_DIR=str(tmp_path / "data"),
        ZONE_MARTS_DIR=str(tmp_path / "marts"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    log = open(tmp_path / "dagster-dev.log", "w")
    process = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=restore_default_signals,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                entries = graphql(port, LOCATION_QUERY)["workspaceOrError"]["locationEntries"]
                if entries and entries[0]["locationOrLoadError"]:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    "dagster dev did not serve the workspace:\n"
                    + (tmp_path / "dagster-dev.log").read_text()[-4000:]
                )
            time.sleep(1)
        yield port, entries[0]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_dagster_dev_lists_every_asset(dagster_dev):
    from dagster_project.definitions import defs

    port, location = dagster_dev
    assert location["locationOrLoadError"]["__typename"] == "RepositoryLocation", location
    served = {
        tuple(node["assetKey"]["path"]) for node in graphql(port, ASSET_NODES_QUERY)["assetNodes"]
    }
    expected = {tuple(key.path) for key in defs.resolve_all_asset_keys()}
    assert expected <= served, f"assets missing from the UI: {sorted(expected - served)}"
    assert ("base_operation", "sales_order_lines") in served
    assert ("zone_mart",) in served


def test_definitions_validate():
    completed = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
