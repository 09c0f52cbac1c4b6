"""Publish a candidate DuckDB file onto ``<marts_dir>/<zone>.duckdb`` by one atomic rename.

Readers open the mart read-only. ``os.replace`` swaps the directory entry in one step, so a
reader that opens the file sees the old or the new version whole, and a reader that already has
it open keeps reading the old version until it closes its connection.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster_project.duckdb_files import connect_duckdb
from dagster_project.publish.log import PublishEntry, write_publish_log


class PublishError(RuntimeError):
    """The candidate could not be published; the zone keeps its previous mart."""


def published_path(marts_dir: Path, zone_code: str) -> Path:
    return marts_dir / f"{zone_code}.duckdb"


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def publish_candidate(candidate: Path, target: Path, entry: PublishEntry) -> None:
    """Append the publish log to ``candidate``, then rename it onto ``target``.

    On any error ``target`` is left untouched.
    """
    if not candidate.exists():
        raise PublishError(f"candidate {candidate} not found: materialize zone_candidate first")
    if _wal(target).exists():
        # DuckDB would replay this log into the new file on the next read-write open.
        raise PublishError(
            f"{_wal(target)} exists: a process opened the published mart for writing. Close it "
            "(readers must use read_only=True), then delete the .wal file and publish again"
        )
    connection = connect_duckdb(candidate)
    try:
        connection.execute("SET TimeZone = 'UTC'")
        write_publish_log(connection, entry, target)
        connection.execute("CHECKPOINT")
    finally:
        connection.close()
    if _wal(candidate).exists():
        raise PublishError(f"{_wal(candidate)} remains after checkpoint; not publishing")
    _fsync(candidate)
    os.replace(candidate, target)
    _fsync(target.parent)
