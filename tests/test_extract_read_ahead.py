"""Reading source batches ahead of the loader in a background thread, and losing the source."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from dagster_project.extract.columns import SourceColumn
from dagster_project.extract.declaration import BUILT_IN_DEFAULTS, parse_table
from dagster_project.extract.loader import DuckDBLoader, LoadError
from dagster_project.extract.sources.base import READ_AHEAD_BATCHES, read_ahead


class FakeCursor:
    closed = False

    def close(self) -> None:
        self.closed = True


def batches(count: int, fail_after: int | None = None):
    for number in range(count):
        if number == fail_after:
            raise OSError("connection to the source lost")
        yield pa.record_batch({"n": [number]})


def test_read_ahead_keeps_order():
    cursor = FakeCursor()
    read = [batch["n"][0].as_py() for batch in read_ahead(batches(10), cursor)]
    assert read == list(range(10))
    assert cursor.closed


def test_read_ahead_raises_reader_error():
    cursor = FakeCursor()
    stream = read_ahead(batches(10, fail_after=3), cursor)
    assert [batch["n"][0].as_py() for batch in [next(stream) for _ in range(3)]] == [0, 1, 2]
    with pytest.raises(OSError, match="connection to the source lost"):
        next(stream)
    assert cursor.closed


def test_read_ahead_stops_when_consumer_stops():
    cursor = FakeCursor()
    stream = read_ahead(batches(READ_AHEAD_BATCHES * 5), cursor)
    next(stream)
    stream.close()
    assert cursor.closed


def test_lost_source_named_read_failure(tmp_path):
    # DuckDB reports a failing stream as invalid input, which the loader took for a value that
    # does not fit its landing type.
    spec = parse_table("numbers", {**BUILT_IN_DEFAULTS, "cursor": None, "deletes": "none"})
    spec = spec.with_primary_key(("n",))
    columns = [SourceColumn("n", "bigint", '"n"', "BIGINT")]
    stream = pa.RecordBatchReader.from_batches(
        pa.schema([("n", pa.int64())]), batches(10, fail_after=3)
    )
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        loader = DuckDBLoader(connection)
        with pytest.raises(LoadError, match="'numbers': reading the source failed") as raised:
            loader.load(spec, columns, loader.plan(spec, columns), stream)
        assert "connection to the source lost" in str(raised.value)
        tables = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'numbers'"
        assert connection.execute(tables).fetchall() == [(0,)]
