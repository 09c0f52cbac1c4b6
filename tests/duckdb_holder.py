"""A child process that keeps a DuckDB file open for writing, as another refresh would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOLD = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("open", flush=True)
if len(sys.argv) > 2:
    time.sleep(float(sys.argv[2]))
else:
    sys.stdin.read()
"""


@contextmanager
def duckdb_held_by_another_process(path: Path) -> Iterator[None]:
    """Keep ``path`` open in a child process until the block ends."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "open"
        yield
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def hold_briefly(path: Path, seconds: float) -> subprocess.Popen:
    """Keep ``path`` open in a child process for ``seconds``, as `zone-marts status` does."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "open"
    return child
