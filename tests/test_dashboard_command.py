"""``zone-marts dashboard``: checks before serving, and a server that stops with its command."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from test_dashboard_browser import ZONES, free_port, start_server, wait_until_serving
from test_dashboard_marts import build_zone_mart

from dagster_project.cli import main
from dagster_project.dashboard_commands import port_is_free

PRODUCTION = {
    "ZONE_MARTS_MODE": "production",
    "BASE_OPERATION_URL": "postgresql://127.0.0.1/source",
    "WAREHOUSE_URL": "postgresql://127.0.0.1/warehouse",
}


def test_production_without_zone_login_stops(monkeypatch, capsys):
    # The command used to start the server, and every page then showed this error's traceback.
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ZONE_MARTS_DASHBOARD_URL", raising=False)
    assert main(["dashboard", "--zone", "idf"]) == 2
    output = capsys.readouterr()
    assert "ZONE_MARTS_DASHBOARD_URL" in output.err
    assert "Serving" not in output.out


def test_busy_port_named_before_serving(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["dashboard", "--zone", "idf", "--port", str(port)]) == 2
    output = capsys.readouterr()
    assert f"port {port} on 127.0.0.1 is in use" in output.err
    assert "Serving" not in output.out


def test_stop_signal_stops_the_server(tmp_path):
    # SIGTERM to the command stopped it but left its Streamlit child serving the port.
    marts_dir = tmp_path / "marts"
    build_zone_mart(marts_dir, ZONES["idf"], published_at=datetime.now(UTC) - timedelta(minutes=5))
    port = free_port()
    command = [sys.executable, "-m", "dagster_project.cli", "dashboard", "--zone", "idf"]
    process, log_path = start_server([*command, "--port", str(port)], marts_dir, tmp_path)
    try:
        wait_until_serving(process, port, log_path)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while not port_is_closed(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert port_is_closed(port), log_path.read_text()[-2000:]
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def port_is_closed(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_unusable_zone_login_url_named(monkeypatch, capsys):
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ZONE_MARTS_DASHBOARD_URL", "postgresql://alice:my Secret9@127.0.0.1/wh")
    assert main(["dashboard", "--zone", "idf"]) == 2
    error = capsys.readouterr().err
    assert "ZONE_MARTS_DASHBOARD_URL is an invalid PostgreSQL URL" in error
    assert "Secret9" not in error


def test_port_out_of_range_named(capsys):
    with pytest.raises(SystemExit):
        main(["dashboard", "--zone", "idf", "--port", "99999"])
    assert "'99999' is not a TCP port from 1 to 65535" in capsys.readouterr().err


def test_port_closed_moments_ago_is_free():
    # Connections that a stopped dashboard had closed wait in TIME_WAIT for a minute, and the
    # command reported the port in use while streamlit could have listened on it.
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # As streamlit's server.
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # Closed by the server first, it waits in TIME_WAIT.
        client.close()
        time.sleep(0.2)
    assert port_is_free(port)
    with socket.socket() as listening:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(("127.0.0.1", port))
        listening.listen()
        assert not port_is_free(port)
