"""Source data and names that the extraction must refuse by name, or load without losing a row."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import psycopg
import pytest

from dagster_project.extract.declaration import DeclarationError
from dagster_project.extract.loader import LoadError
from dagster_project.extract.run import ExtractError, lower_bound
from dagster_project.resources import connect_postgres

pytest.register_assert_rewrite("extract_support")
from extract_support import extract, landed  # noqa: E402

pytest_plugins = ("extract_support",)


@pytest.mark.parametrize("column", ["rowid", "RowID", "_extract_action", "_loaded_at"])
def test_reserved_column_name_is_refused(source, warehouse, column):
    # A source column named rowid hid DuckDB's row identifier, by which the merge deletes the
    # old version of a row: an update deleted other rows and duplicated the updated one.
    source.run(
        f'CREATE TABLE t (id INTEGER PRIMARY KEY, "{column}" INTEGER, updated_at TIMESTAMPTZ)',
        "INSERT INTO t VALUES (1, 7, '2026-01-01T10:00Z')",
    )
    with pytest.raises(DeclarationError, match=f"'t': the source column '{column}' has a name"):
        extract("t", source, warehouse)


def test_columns_differing_only_in_case_are_refused(postgres_source, warehouse):
    postgres_source.run(
        'CREATE TABLE t (id INTEGER PRIMARY KEY, "ID" INTEGER, updated_at TIMESTAMPTZ)',
    )
    with pytest.raises(DeclarationError, match="'t': the source columns 'id' and 'ID' differ"):
        extract("t", postgres_source, warehouse)


def test_null_in_primary_key_fails_and_loads_nothing(sqlite_source, warehouse):
    # SQLite accepts NULL in a composite primary key: two such rows collapsed into one on the
    # first load, and each later read inserted another copy.
    sqlite_source.run(
        "CREATE TABLE t (a TEXT, b INTEGER, v TEXT, updated_at TIMESTAMPTZ, PRIMARY KEY (a, b))",
        "INSERT INTO t VALUES ('x', 1, 'kept', '2026-01-01T10:00Z')",
        "INSERT INTO t VALUES ('x', NULL, 'first', '2026-01-01T10:00Z')",
        "INSERT INTO t VALUES ('x', NULL, 'second', '2026-01-01T10:00Z')",
    )
    with pytest.raises(LoadError, match=r"'t': 2 rows read have a NULL in the primary key \(a, b"):
        extract("t", sqlite_source, warehouse)
    assert landed(warehouse, "SELECT count(*) FROM raw._extract_state") == [(0,)]
    assert not landed(warehouse, "SELECT * FROM information_schema.tables WHERE table_name = 't'")


def test_null_in_primary_key_fails_on_postgres_warehouse(sqlite_source, make_postgres_database):
    sqlite_source.run(
        "CREATE TABLE t (a TEXT, b INTEGER, updated_at TIMESTAMPTZ, PRIMARY KEY (a, b))",
        "INSERT INTO t VALUES ('x', NULL, '2026-01-01T10:00Z')",
    )
    url = make_postgres_database("zm_warehouse")
    with connect_postgres(url) as connection:
        with pytest.raises(LoadError, match="'t': 1 rows read have a NULL in the primary key"):
            extract("t", sqlite_source, connection)
    with psycopg.connect(url) as check:
        assert check.execute("SELECT to_regclass('raw.t')").fetchall() == [(None,)]


def test_repeated_key_rows_are_counted(source, warehouse):
    # The declared key is not enforced by the source: one snapshot returns two versions.
    source.run(
        "CREATE TABLE lines (order_id INTEGER, line TEXT, qty INTEGER, updated_at TIMESTAMPTZ)",
        "INSERT INTO lines VALUES (1, 'L1', 5, '2026-01-01T10:00Z')",
        "INSERT INTO lines VALUES (1, 'L2', 7, '2026-01-01T10:00Z')",
        "INSERT INTO lines VALUES (2, 'L1', 1, '2026-01-01T10:00Z')",
    )
    result = extract("lines", source, warehouse, primary_key=["order_id"])
    assert (result.rows_read, result.inserted, result.repeated_key_rows) == (3, 2, 1)
    assert result.as_metadata()["repeated_key_rows"] == 1
    again = extract("lines", source, warehouse, primary_key=["order_id"])
    assert (again.rows_read, again.unchanged, again.repeated_key_rows) == (3, 2, 1)


@pytest.mark.parametrize("offset", ["+00", "+0000", " UTC"])
def test_sqlite_offset_sqlite_cannot_read_is_not_skipped(sqlite_source, warehouse, offset):
    # SQLite's strftime() returns NULL for these forms, which DuckDB reads: the incremental
    # filter dropped every row after the first load while the watermark moved on.
    sqlite_source.run(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, updated_at TIMESTAMPTZ NOT NULL)",
        f"INSERT INTO t VALUES (1, 'a', '2026-01-01 10:00:00{offset}')",
    )
    extract("t", sqlite_source, warehouse)
    sqlite_source.run(
        f"UPDATE t SET v = 'a2', updated_at = '2026-01-02 10:00:00{offset}'",
        f"INSERT INTO t VALUES (2, 'b', '2026-01-03 10:00:00{offset}')",
    )
    result = extract("t", sqlite_source, warehouse)
    assert (result.inserted, result.updated) == (1, 1)
    assert landed(warehouse, "SELECT id, v FROM raw.t ORDER BY id") == [(1, "a2"), (2, "b")]


def test_sqlite_cursor_with_leading_space_is_not_skipped(sqlite_source, warehouse):
    # DuckDB reads ' 2026-01-01 10:00:00' as a timestamp, but the text sorts before the date
    # prefix of the incremental filter, so an update written the same way was never read.
    sqlite_source.run(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, updated_at TIMESTAMPTZ NOT NULL)",
        "INSERT INTO t VALUES (1, 'a', ' 2026-01-01 10:00:00')",
    )
    extract("t", sqlite_source, warehouse)
    sqlite_source.run("UPDATE t SET v = 'a2', updated_at = ' 2026-01-02 10:00:00'")
    assert extract("t", sqlite_source, warehouse).updated == 1
    assert landed(warehouse, "SELECT v FROM raw.t") == [("a2",)]


def test_sqlite_naive_cursor_with_offset_is_not_skipped(sqlite_source, warehouse):
    # DuckDB lands the wall time of a naive value and drops its offset, while SQLite's filter
    # compared the UTC time: a row written 1 hour after the watermark at +02:00 was skipped.
    sqlite_source.run(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, updated_at DATETIME)",
        "INSERT INTO t VALUES (1, 'a', '2026-01-05 10:00:00+02:00')",
    )
    extract("t", sqlite_source, warehouse)
    sqlite_source.run(
        "INSERT INTO t VALUES (2, 'b', '2026-01-05 11:00:00+02:00')",
        "UPDATE t SET v = 'a2', updated_at = '2026-01-05 11:30:00+02:00' WHERE id = 1",
    )
    result = extract("t", sqlite_source, warehouse)
    assert (result.inserted, result.updated) == (1, 1)
    assert landed(warehouse, "SELECT id, v FROM raw.t ORDER BY id") == [(1, "a2"), (2, "b")]
    assert result.watermark_after == "2026-01-05 11:30:00"


def test_postgres_warehouse_watermark_survives_datestyle(postgres_source, make_postgres_database):
    # The watermark is stored as text: written under 'SQL, DMY' as 03/02/2026, it was read back
    # under 'SQL, MDY' as the 2nd of March, and the row of the 5th of February was never read.
    postgres_source.run(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, updated_at TIMESTAMPTZ)",
        "INSERT INTO t VALUES (1, 'a', '2026-02-03 10:00Z')",
    )
    url = make_postgres_database("zm_warehouse")
    name = url.rsplit("/", 1)[1]
    for row, style in ((1, "SQL, DMY"), (2, "SQL, MDY")):
        if row == 2:
            postgres_source.run("INSERT INTO t VALUES (2, 'b', '2026-02-05 10:00Z')")
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE \"{name}\" SET DateStyle = '{style}'")
        with connect_postgres(url) as connection:
            extract("t", postgres_source, connection)
    with psycopg.connect(url) as check:
        assert check.execute("SELECT id, v FROM raw.t ORDER BY id").fetchall() == [
            (1, "a"),
            (2, "b"),
        ]


@pytest.mark.parametrize(
    ("watermark", "lookback"),
    [
        (date(1, 1, 1), timedelta(minutes=10)),
        (datetime(1, 1, 1, tzinfo=UTC), timedelta(minutes=10)),
        (datetime(2026, 1, 1, tzinfo=UTC), timedelta(days=999_999)),
        (-(2**63), timedelta(minutes=10)),
    ],
)
def test_lower_bound_before_earliest_value_reads_every_row(watermark, lookback):
    assert lower_bound(watermark, lookback) is None


def test_earliest_date_cursor_loads_on_second_run(postgres_source, warehouse):
    # The second run computed 0001-01-01 minus the lookback and failed with a bare
    # "date value out of range".
    postgres_source.run(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, updated_at DATE)",
        "INSERT INTO t VALUES (1, '0001-01-01')",
    )
    extract("t", postgres_source, warehouse)
    postgres_source.run("INSERT INTO t VALUES (2, '0001-01-01')")
    assert extract("t", postgres_source, warehouse).inserted == 1


def test_database_error_names_the_table(sqlite_source, tmp_path):
    sqlite_source.run(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, updated_at TIMESTAMPTZ)",
        "INSERT INTO t VALUES (1, '2026-01-01T10:00Z')",
    )
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    with duckdb.connect(str(path), read_only=True) as read_only:
        with pytest.raises(ExtractError, match="table 't': extraction failed with") as raised:
            extract("t", sqlite_source, read_only)
    assert isinstance(raised.value.__cause__, duckdb.Error)


def test_naive_cursor_future_row_capped(postgres_source, warehouse):
    # Without a time zone, a naive cursor may be up to 14 hours ahead of UTC before it counts as
    # future: a row written 3 hours ahead became the watermark and hid the rows after it.
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    postgres_source.run(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, updated_at TIMESTAMP)",
        f"INSERT INTO t VALUES (1, 'a', '{now - timedelta(hours=1)}')",
        f"INSERT INTO t VALUES (2, 'ahead', '{now + timedelta(hours=3)}')",
    )
    first = extract("t", postgres_source, warehouse, cursor_time_zone="UTC")
    assert first.future_cursor_rows == 1
    assert first.watermark_after == str(now - timedelta(hours=1))
    postgres_source.run(f"INSERT INTO t VALUES (3, 'b', '{now - timedelta(minutes=30)}')")
    second = extract("t", postgres_source, warehouse, cursor_time_zone="UTC")
    assert second.inserted == 1
    assert landed(warehouse, "SELECT id FROM raw.t ORDER BY id") == [(1,), (2,), (3,)]
