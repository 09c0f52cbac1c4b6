"""Measure source-to-mart latency: a new order committed in the source until a zone mart has it.

The Dagster daemon runs in the background with the sensors refresh_on_source_change (which
starts a refresh when a source table's max cursor moves) and publish_zones_after_refresh (one
publish run per zone after each successful refresh). The daemon is enough for sensors and
queued runs; the webserver only serves the UI, so it is not started. After a warm-up cycle
(the sensor's first tick always requests a refresh), one new order is committed and the zone
mart file is polled, read-only, until the order's lines are in fct_order_lines. The 15-minute
refresh schedule is stopped: a scheduled refresh queued between the sensor's refresh and the
zone's publish would add its own duration to the measurement.

Used by ``cycle.py --latency``; the warehouse and marts must already be built.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import psycopg

PROJECT_DIR = Path(__file__).resolve().parent.parent
BIN = PROJECT_DIR / ".venv" / "bin"
SENSORS = ("refresh_on_source_change", "publish_zones_after_refresh")
SCHEDULE = "refresh_every_15_minutes"
ZONE = "reunion"
TIMEOUT_SECONDS = 900

INSERT_ORDER = """
WITH customer AS (
    SELECT customer_id FROM customers WHERE zone_code = %(zone)s
    ORDER BY customer_id LIMIT 1
), currency AS (
    SELECT o.currency FROM sales_orders AS o
    JOIN customers AS c USING (customer_id)
    WHERE c.zone_code = %(zone)s LIMIT 1
)
INSERT INTO sales_orders
    (order_id, customer_id, channel, order_status, currency, ordered_at, updated_at)
SELECT (SELECT max(order_id) + 1 FROM sales_orders), customer.customer_id, 'web', 'open',
       currency.currency, now(), now()
FROM customer, currency
RETURNING order_id
"""
INSERT_LINE = """
INSERT INTO sales_order_lines
    (order_id, line_number, product_id, quantity, unit_price, discount_rate, updated_at)
SELECT %(order_id)s, 1, product_id, 3, list_price, 0, now()
FROM products ORDER BY product_id LIMIT 1
"""


def restore_default_signals() -> None:
    # A daemon started from a process that ignores SIGTERM inherits that. Reset the handlers so
    # the process group can be stopped.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def mart_has_order(mart: Path, order_id: int) -> bool:
    if not mart.exists():
        return False
    try:
        connection = duckdb.connect(str(mart), read_only=True)
    except duckdb.IOException:
        # The publisher may be renaming the file into place at this instant.
        return False
    try:
        query = "SELECT count(*) FROM fct_order_lines WHERE order_id = ?"
        return connection.execute(query, [order_id]).fetchall()[0][0] > 0
    finally:
        connection.close()


ACTIVE_STATUSES = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED")
# Longer than the intervals of the two sensors (5 s each): a publish run the sensor is about
# to request after a refresh ends is not taken for an idle instance.
QUIET_SECONDS = 15


def wait_until_idle(dagster_home: str, deadline: float) -> None:
    """Wait until the Dagster instance has had no run queued or in progress for QUIET_SECONDS."""
    import dagster as dg

    statuses = [dg.DagsterRunStatus[name] for name in ACTIVE_STATUSES]
    idle_since = None
    with dg.DagsterInstance.from_config(dagster_home) as instance:
        while time.monotonic() < deadline:
            now = time.monotonic()
            if instance.get_run_records(dg.RunsFilter(statuses=statuses), limit=1):
                idle_since = None
            elif idle_since is None:
                idle_since = now
            elif now - idle_since >= QUIET_SECONDS:
                return
            time.sleep(2)
        runs = [(run.job_name, run.status.value) for run in instance.get_runs(limit=20)]
    raise TimeoutError(f"runs still active after {TIMEOUT_SECONDS} s: {runs}")


def describe_runs(dagster_home: str, since: float) -> list[dict]:
    """Return each run created after ``since`` with its queue, start and end times.

    Times are seconds after ``since`` (None while a run has not started or ended), so the
    latency can be split into sensor waits and run durations.
    """
    import dagster as dg

    with dg.DagsterInstance.from_config(dagster_home) as instance:
        records = instance.get_run_records(dg.RunsFilter(created_after=since_datetime(since)))
    return [
        {
            "job": record.dagster_run.job_name,
            "zone": record.dagster_run.tags.get("dagster/partition"),
            "created": record.create_timestamp.timestamp() - since,
            "started": None if record.start_time is None else record.start_time - since,
            "ended": None if record.end_time is None else record.end_time - since,
        }
        for record in reversed(records)
    ]


def since_datetime(timestamp: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC)


def wait_for_order(mart: Path, order_id: int, deadline: float) -> float:
    while time.monotonic() < deadline:
        if mart_has_order(mart, order_id):
            return time.monotonic()
        time.sleep(0.5)
    raise TimeoutError(f"order {order_id} did not reach {mart} within {TIMEOUT_SECONDS} s")


def insert_order(url: str) -> int:
    with psycopg.connect(url) as connection:
        (order_id,) = connection.execute(INSERT_ORDER, {"zone": ZONE}).fetchone()
        connection.execute(INSERT_LINE, {"order_id": order_id})
    return order_id


def stop_process_group(leader: subprocess.Popen, timeout: float = 60) -> None:
    """Stop the daemon and every process it started, then wait until the whole group is gone.

    Waiting for the daemon alone was not enough: files reappeared in DAGSTER_HOME after it
    exited, written by processes of its group that were still stopping.
    """
    os.killpg(leader.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    try:
        leader.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    while True:
        try:
            os.killpg(leader.pid, 0)
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            os.killpg(leader.pid, signal.SIGKILL)
            leader.wait()
        time.sleep(0.5)


def measure_latency(url: str, environment: dict[str, str], work_dir: Path) -> dict:
    """Run the daemon, commit one new order and return the seconds until the mart shows it."""
    tmp_dir = work_dir / "daemon_tmp"
    tmp_dir.mkdir(exist_ok=True)
    environment = {**environment, "TMPDIR": str(tmp_dir)}
    log_path = work_dir / "daemon.log"
    log = open(log_path, "w")
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=PROJECT_DIR,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=restore_default_signals,
        start_new_session=True,
    )
    try:
        commands = [("sensor", "start", sensor) for sensor in SENSORS]
        commands.append(("schedule", "stop", SCHEDULE))
        for command in commands:
            subprocess.run(
                [str(BIN / "dagster"), *command, "-w", "workspace.yaml"],
                cwd=PROJECT_DIR,
                env=environment,
                check=True,
                capture_output=True,
            )
        deadline = time.monotonic() + TIMEOUT_SECONDS
        # The first tick has no cursor, so it requests one refresh. Wait until it and its
        # publishes end.
        time.sleep(60)
        wait_until_idle(environment["DAGSTER_HOME"], deadline)
        mart = Path(environment["ZONE_MARTS_DIR"]) / f"{ZONE}.duckdb"
        committed = time.monotonic()
        committed_at = time.time()
        order_id = insert_order(url)
        readable = wait_for_order(mart, order_id, deadline)
        return {
            "zone": ZONE,
            "order_id": order_id,
            "latency_seconds": readable - committed,
            "runs": describe_runs(environment["DAGSTER_HOME"], committed_at),
        }
    except (TimeoutError, subprocess.CalledProcessError):
        log.flush()
        print(log_path.read_text()[-6000:])
        raise
    finally:
        stop_process_group(daemon)
        log.close()
