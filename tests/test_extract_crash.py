"""A load killed at any point loses and duplicates nothing once the next run completes."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime

import duckdb

ROWS = 40_000
KILLS = 10

LOAD_SCRIPT = """
import sys, duckdb
from dagster_project.extract.declaration import parse_declaration
from dagster_project.extract.run import extract_table
from dagster_project.extract.sources import open_source
(spec,) = parse_declaration({"tables": {"orders": {"lookback": 0}}})
connection = duckdb.connect(sys.argv[2])
connection.execute("SET TimeZone = 'UTC'")
source = open_source(sys.argv[1])
extract_table(spec, source, connection)
"""


def _source_rows(path) -> set[tuple]:
    with sqlite3.connect(path) as connection:
        return set(
            connection.execute(
                "SELECT order_id, status, CAST(amount AS TEXT), updated_at FROM orders"
            ).fetchall()
        )


def _change_source(path, round_number: int) -> None:
    """Update some rows and insert new ones, all with a cursor past every earlier one."""
    stamp = f"2026-02-{round_number + 1:02d}T00:00:00.{round_number:06d}+00:00"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE orders SET status = ?, updated_at = ? WHERE order_id % 97 = ?",
            (f"round{round_number}", stamp, round_number),
        )
        first = ROWS + round_number * 100
        connection.executemany(
            "INSERT INTO orders VALUES (?, 'new', 1.25, ?)",
            [(first + i, stamp) for i in range(100)],
        )


def _run_load(source_url: str, warehouse_path: str, kill_after: float | None) -> int:
    process = subprocess.Popen([sys.executable, "-c", LOAD_SCRIPT, source_url, warehouse_path])
    if kill_after is None:
        return process.wait()
    try:
        return process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        return process.wait()


def test_killed_loads_lose_nothing(tmp_path):
    source_path = tmp_path / "source.sqlite"
    warehouse_path = str(tmp_path / "warehouse.duckdb")
    with sqlite3.connect(source_path) as connection:
        connection.execute(
            "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, status TEXT NOT NULL, "
            "amount NUMERIC(12, 2) NOT NULL, updated_at TIMESTAMPTZ NOT NULL)"
        )
        connection.executemany(
            "INSERT INTO orders VALUES (?, 'open', ?, ?)",
            [
                (i, f"{i % 1000}.{i % 100:02d}", f"2026-01-01T00:00:{i % 60:02d}.{i:06d}+00:00")
                for i in range(ROWS)
            ],
        )
    source_url = f"sqlite:///{source_path}"
    started = time.perf_counter()
    assert _run_load(source_url, warehouse_path, None) == 0
    full_run = time.perf_counter() - started

    chooser = random.Random(20261204)
    kills = 0
    for round_number in range(4 * KILLS):
        if kills >= KILLS:
            break
        _change_source(source_path, round_number)
        if _run_load(source_url, warehouse_path, chooser.uniform(0.05, full_run)) < 0:
            kills += 1
    assert kills >= KILLS

    assert _run_load(source_url, warehouse_path, None) == 0
    with duckdb.connect(warehouse_path) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        landed = connection.execute(
            "SELECT order_id, status, CAST(amount AS VARCHAR), updated_at FROM raw.orders"
        ).fetchall()
        watermark = connection.execute("SELECT watermark FROM raw._extract_state").fetchall()
        max_cursor = connection.execute(
            "SELECT CAST(max(updated_at) AS VARCHAR) FROM raw.orders"
        ).fetchall()
    expected = _source_rows(source_path)
    assert len(landed) == len(expected)
    assert len({row[0] for row in landed}) == len(landed)
    assert set(landed) == {
        (key, status, f"{float(amount):.2f}", datetime.fromisoformat(stamp))
        for key, status, amount, stamp in expected
    }
    assert watermark == max_cursor
