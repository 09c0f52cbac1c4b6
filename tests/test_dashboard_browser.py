"""The real dashboard page, served by streamlit on 127.0.0.1 and read by headless Chromium."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_dashboard_marts import CUSTOMERS, build_zone_mart

from dagster_project.dashboard_commands import build_streamlit_command
from dagster_project.zones import load_zones

pytestmark = pytest.mark.browser
ZONES = {zone.code: zone for zone in load_zones()}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(process: subprocess.Popen, port: int, log_path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"streamlit did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.5)


def start_server(
    command: list[str], marts_dir: Path, tmp_path: Path
) -> tuple[subprocess.Popen, Path]:
    """Start ``command`` in its own session, reading the marts of ``marts_dir``; return the
    process and its log file."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ZONE_MARTS_")}
    env.update(ZONE_MARTS_DIR=str(marts_dir), HOME=str(tmp_path))
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, log_path


@pytest.fixture
def dashboard_url(tmp_path, chromium_path):
    marts_dir = tmp_path / "marts"
    recent = datetime.now(UTC) - timedelta(minutes=5)
    for code in ("idf", "reunion"):
        build_zone_mart(marts_dir, ZONES[code], published_at=recent)
    port = free_port()
    process, log_path = start_server(build_streamlit_command("idf", port), marts_dir, tmp_path)
    try:
        wait_until_serving(process, port, log_path)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def browser_page(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
        finally:
            browser.close()


def wait_for_run(page) -> None:
    """Wait until the script run is over: Streamlit shows a status widget while it runs."""
    page.wait_for_selector('[data-testid="stMetric"], [data-testid="stDataFrame"]')
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
    )


def test_overview_page_renders(dashboard_url, browser_page, tmp_path):
    page = browser_page
    page.goto(dashboard_url, timeout=60_000)
    wait_for_run(page)
    page.wait_for_selector('[data-testid="stVegaLiteChart"]', timeout=30_000)
    assert page.get_by_test_id("stException").count() == 0
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
    assert "Données validées le" in page.get_by_test_id("stAlert").first.inner_text()
    assert page.get_by_test_id("stMetric").count() == 6
    assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 1
    assert (tmp_path / "overview.png").stat().st_size > 10_000


def test_export_contains_own_zone_only(dashboard_url, browser_page, tmp_path):
    page = browser_page
    page.goto(f"{dashboard_url}/detail", timeout=60_000)
    wait_for_run(page)
    page.screenshot(path=str(tmp_path / "detail.png"), full_page=True)
    button = page.get_by_test_id("stDownloadButton")
    assert "Exporter en CSV" in button.inner_text()
    with page.expect_download() as download_info:
        button.locator("button").click()
    exported = download_info.value.path().read_text(encoding="utf-8-sig")
    for name in CUSTOMERS["idf"][:2]:
        assert name in exported
    for name in CUSTOMERS["reunion"]:
        assert name not in exported
    assert "Sucrerie du Gol" not in page.content()
