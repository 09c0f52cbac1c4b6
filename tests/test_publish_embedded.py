"""Publishing a candidate onto a zone mart: the publish log, the WAL rules, and atomicity."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from dagster_project.publish.embedded import PublishError, publish_candidate
from dagster_project.publish.log import PublishEntry, PublishLogError, read_last_publish

# A version spans two tables and the publish log, so a reader mixing two files would see
# different numbers in one connection.
READER_SCRIPT = """
import json, sys
from pathlib import Path
import duckdb

mart, stop, ready, report = (Path(arg) for arg in sys.argv[1:5])
reads, errors, versions = 0, [], set()
while not stop.exists():
    try:
        with duckdb.connect(str(mart), read_only=True) as connection:
            low, high, rows = connection.execute(
                "select min(version), max(version), count(*) from lines"
            ).fetchall()[0]
            (header,) = connection.execute("select version from header").fetchall()[0]
            (logged,) = connection.execute(
                "select run_id from _publish_log order by published_at desc limit 1"
            ).fetchall()[0]
        if not (low == high == header and logged == f"v{header}" and rows == 500):
            errors.append(f"mixed versions: lines {low}-{high} ({rows}), header {header}, "
                          f"log {logged}")
        versions.add(header)
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
    reads += 1
    if reads == 1:
        ready.touch()
report.write_text(json.dumps({"reads": reads, "errors": errors[:20], "versions": len(versions)}))
"""


def entry(version: int, row_counts: dict[str, int] | None = None) -> PublishEntry:
    return PublishEntry(
        run_id=f"v{version}",
        zone_code="idf",
        published_at=datetime(2026, 12, 1, tzinfo=UTC).replace(second=version % 60),
        source_watermarks=[{"table_name": "sales_orders", "watermark": "2026-12-01T00:00:00Z"}],
        row_counts=row_counts or {"lines": 500, "header": 1},
        checks_passed=["volume"],
        checks_failed=[],
    )


def build_candidate(path: Path, version: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as connection:
        connection.execute(f"CREATE TABLE lines AS SELECT {version} AS version FROM range(500)")
        connection.execute(f"CREATE TABLE header AS SELECT {version} AS version")
    return path


def test_publish_log_keeps_previous_rows(tmp_path):
    target = tmp_path / "idf.duckdb"
    candidate = tmp_path / ".candidates" / "idf.duckdb"
    for version in (1, 2, 3):
        publish_candidate(build_candidate(candidate, version), target, entry(version))
    with duckdb.connect(str(target), read_only=True) as mart:
        runs = mart.execute("select run_id from _publish_log order by published_at").fetchall()
    assert runs == [("v1",), ("v2",), ("v3",)]
    assert read_last_publish(target) == ("v3", {"lines": 500, "header": 1})


def test_column_added_to_log_by_hand_is_dropped(tmp_path):
    # The copy of the previous log named every column, and one added by hand failed every later
    # publish of the zone.
    target = tmp_path / "idf.duckdb"
    candidate = tmp_path / ".candidates" / "idf.duckdb"
    publish_candidate(build_candidate(candidate, 1), target, entry(1))
    with duckdb.connect(str(target)) as mart:
        mart.execute("ALTER TABLE _publish_log ADD COLUMN note VARCHAR")
    publish_candidate(build_candidate(candidate, 2), target, entry(2))
    assert read_last_publish(target) == ("v2", {"lines": 500, "header": 1})


@pytest.mark.parametrize("row_counts", ["'\"3000\"'", "'[1, 2]'", '\'{"lines": "500"}\''])
def test_invalid_logged_row_counts_are_named(tmp_path, row_counts):
    target = tmp_path / "idf.duckdb"
    publish_candidate(build_candidate(tmp_path / ".candidates" / "idf.duckdb", 1), target, entry(1))
    with duckdb.connect(str(target)) as mart:
        mart.execute(f"UPDATE _publish_log SET row_counts = {row_counts}")
    with pytest.raises(PublishLogError, match=f"publish log of {target} records row_counts"):
        read_last_publish(target)


def test_mart_held_for_writing_is_not_called_damaged(tmp_path):
    target = tmp_path / "idf.duckdb"
    publish_candidate(build_candidate(tmp_path / ".candidates" / "idf.duckdb", 1), target, entry(1))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRIPT, str(target), str(tmp_path / "held")],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "held").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(PublishLogError, match="is open for writing in another process"):
            read_last_publish(target)
    finally:
        holder.kill()
        holder.wait()


# Opens the mart for writing, as a BI user who forgot read_only=True, and waits to be stopped.
HOLD_SCRIPT = """
import sys, time
from pathlib import Path
import duckdb

connection = duckdb.connect(sys.argv[1])
Path(sys.argv[2]).touch()
time.sleep(60)
"""


def test_publish_leaves_no_wal_or_candidate(tmp_path):
    target = tmp_path / "idf.duckdb"
    candidate = build_candidate(tmp_path / ".candidates" / "idf.duckdb", 1)
    publish_candidate(candidate, target, entry(1))
    assert target.exists()
    assert not candidate.exists()
    assert not Path(f"{target}.wal").exists()
    assert not Path(f"{candidate}.wal").exists()


def test_leftover_wal_blocks_publish(tmp_path):
    target = tmp_path / "idf.duckdb"
    candidate = tmp_path / ".candidates" / "idf.duckdb"
    publish_candidate(build_candidate(candidate, 1), target, entry(1))
    Path(f"{target}.wal").write_bytes(b"")
    build_candidate(candidate, 2)
    with pytest.raises(PublishError, match=r"idf\.duckdb\.wal exists"):
        publish_candidate(candidate, target, entry(2))
    assert read_last_publish(target)[0] == "v1"


def test_missing_candidate_is_reported(tmp_path):
    with pytest.raises(PublishError, match="materialize zone_candidate"):
        publish_candidate(tmp_path / "none.duckdb", tmp_path / "idf.duckdb", entry(1))


def test_concurrent_reader_sees_whole_versions(tmp_path):
    target = tmp_path / "idf.duckdb"
    candidate = tmp_path / ".candidates" / "idf.duckdb"
    publish_candidate(build_candidate(candidate, 1), target, entry(1))
    stop, ready, report = tmp_path / "stop", tmp_path / "ready", tmp_path / "report.json"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER_SCRIPT, str(target), str(stop), str(ready), str(report)]
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and reader.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the reader process never completed a first read"
        for version in range(2, 42):
            build_candidate(candidate, version)
            if version % 4 == 0:
                # A failed audit: the candidate exists but is never published.
                continue
            publish_candidate(candidate, target, entry(version))
    finally:
        stop.touch()
        reader.wait(timeout=60)
    result = json.loads(report.read_text())
    assert result["errors"] == []
    assert result["reads"] > 1
    assert read_last_publish(target)[0] == "v41"
