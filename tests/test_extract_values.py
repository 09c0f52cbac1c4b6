"""Values land exactly: numerics, timestamps, text, quoted names and PostgreSQL-only types."""

from __future__ import annotations

import re

import pytest

from dagster_project.extract.loader import LoadError

pytest.register_assert_rewrite("extract_support")
from extract_support import LOOSELY_EQUAL, LOOSELY_EQUAL_UPDATE, extract, landed  # noqa: E402

pytest_plugins = ("extract_support",)

TEXTS = ("José", "Zoë🙂", "日本語")


def test_postgres_numerics_exact(postgres_source, warehouse):
    postgres_source.run(
        "CREATE TABLE amounts (amount_id INTEGER PRIMARY KEY, free NUMERIC, "
        "wide NUMERIC(38, 0), small NUMERIC(12, 8), updated_at TIMESTAMPTZ NOT NULL)",
        "INSERT INTO amounts VALUES (1, 100000000.00000001, "
        "12345678901234567890123456789012345678, 0.00000067, now()), "
        "(2, 'NaN', 0, 0, now()), (3, 1.10, -1, -0.5, now())",
    )
    extract("amounts", postgres_source, warehouse)
    rows = landed(
        warehouse,
        "SELECT free, CAST(wide AS VARCHAR), CAST(small AS VARCHAR) FROM raw.amounts ORDER BY 1",
    )
    assert rows[0] == ("1.10", "-1", "-0.50000000")
    assert rows[1] == ("100000000.00000001", "12345678901234567890123456789012345678", "0.00000067")
    assert rows[2][0] == "NaN"


def test_sqlite_numerics_exact(sqlite_source, warehouse):
    sqlite_source.run(
        "CREATE TABLE amounts (amount_id INTEGER PRIMARY KEY, small NUMERIC(12, 8), "
        "price DECIMAL(12, 2), ratio REAL, updated_at TIMESTAMPTZ NOT NULL)",
        "INSERT INTO amounts VALUES (1, '0.00000067', 19.99, 0.1, '2026-01-01T10:00Z'), "
        "(2, 5, '1234567890.12', 0.30000000000000004, '2026-01-01T10:00Z')",
    )
    extract("amounts", sqlite_source, warehouse)
    rows = landed(
        warehouse,
        "SELECT CAST(small AS VARCHAR), CAST(price AS VARCHAR), ratio FROM raw.amounts ORDER BY 1",
    )
    assert rows == [("0.00000067", "19.99", 0.1), ("5.00000000", "1234567890.12", 0.1 + 0.2)]


@pytest.mark.parametrize(
    ("declared", "value", "shown"),
    [
        ("INTEGER", "1.5", "not exact as BIGINT: 1.5"),
        ("FLOATING POINT", "1.75", "not exact as BIGINT: 1.75"),
        ("INTEGER", "'0x10'", "not exact as BIGINT: 0x10"),
        ("DECIMAL(10, 2)", "1.005", "not exact as DECIMAL(10,2): 1.005"),
        # Text SQLite cannot read as a number stays text; DuckDB read 1000 and infinity.
        ("DECIMAL(10, 2)", "'1_000'", "not exact as DECIMAL(10,2): 1_000"),
        ("REAL", "'1_000'", "not exact as DOUBLE: 1_000"),
        ("REAL", "'Infinity'", "not exact as DOUBLE: Infinity"),
        # DuckDB kept the date and dropped the time of day.
        ("DATE", "'2026-01-05 10:00'", "not exact as DATE: 2026-01-05 10:00"),
        ("DATE", "'2026-01-05 00:00:00.5'", "not exact as DATE: 2026-01-05 00:00:00.5"),
    ],
)
def test_sqlite_value_a_cast_would_alter_fails_load(
    sqlite_source, warehouse, declared, value, shown
):
    # SQLite keeps these values as they were written; DuckDB's cast rounded them (1.5 to 2,
    # 1.005 to 1.01) or read the text as hexadecimal (16).
    sqlite_source.run(
        f"CREATE TABLE amounts (amount_id INTEGER PRIMARY KEY, amount {declared}, "
        "updated_at TIMESTAMPTZ NOT NULL)",
        f"INSERT INTO amounts VALUES (1, {value}, '2026-01-01T10:00Z')",
    )
    with pytest.raises(LoadError, match=f"'amounts'.*{re.escape(shown)}.*column amount"):
        extract("amounts", sqlite_source, warehouse)


def test_sqlite_float_noise_in_decimal_lands_rounded(sqlite_source, warehouse):
    # An amount computed as 19.9 * 3 is stored as 59.699999999999996, which SQLite prints as
    # 59.7: it fits DECIMAL(10,2), unlike 1.005.
    sqlite_source.run(
        "CREATE TABLE amounts (amount_id INTEGER PRIMARY KEY, amount DECIMAL(10, 2), "
        "updated_at TIMESTAMPTZ NOT NULL)",
        f"INSERT INTO amounts VALUES (1, {19.9 * 3!r}, '2026-01-01T10:00Z')",
    )
    extract("amounts", sqlite_source, warehouse)
    assert landed(warehouse, "SELECT CAST(amount AS VARCHAR) FROM raw.amounts") == [("59.70",)]


def test_timestamptz_independent_of_session_zone(postgres_source, warehouse):
    postgres_source.run(
        "CREATE TABLE events (event_id INTEGER PRIMARY KEY, happened_at TIMESTAMPTZ, "
        "naive TIMESTAMP, updated_at TIMESTAMPTZ NOT NULL)",
        "INSERT INTO events VALUES (1, '2026-03-29 01:30:00.000001+00', "
        "'2026-03-29 01:30:00.000001', '2026-03-29 01:30:00+00')",
    )
    extract("events", postgres_source, warehouse)
    in_utc = landed(
        warehouse, "SELECT CAST(happened_at AS VARCHAR), CAST(naive AS VARCHAR) FROM raw.events"
    )
    database = postgres_source.url.rpartition("/")[2]
    postgres_source.run(f"ALTER DATABASE \"{database}\" SET timezone TO 'America/New_York'")
    assert postgres_source.rows("SHOW timezone") == [("America/New_York",)]
    warehouse.execute("DROP TABLE raw.events")
    warehouse.execute("DELETE FROM raw._extract_state")
    extract("events", postgres_source, warehouse)
    in_new_york = landed(
        warehouse, "SELECT CAST(happened_at AS VARCHAR), CAST(naive AS VARCHAR) FROM raw.events"
    )
    assert in_utc == [("2026-03-29 01:30:00.000001+00", "2026-03-29 01:30:00.000001")]
    assert in_new_york == in_utc


def test_postgres_infinite_dates_land_as_infinity(postgres_source, warehouse):
    postgres_source.run(
        "CREATE TABLE contracts (contract_id INTEGER PRIMARY KEY, valid_to DATE, "
        "ends_at TIMESTAMP, signed_at TIMESTAMPTZ, updated_at TIMESTAMPTZ NOT NULL)",
        "INSERT INTO contracts VALUES "
        "(1, 'infinity', 'infinity', 'infinity', '2026-01-01 10:00+00'), "
        "(2, '-infinity', '-infinity', '-infinity', '2026-01-01 10:00+00'), "
        "(3, '2026-12-31', '2026-12-31 23:59:59.999999', '0001-01-01 00:00+00', "
        "'2026-01-01 10:00+00')",
    )
    extract("contracts", postgres_source, warehouse)
    rows = landed(
        warehouse,
        "SELECT contract_id, CAST(valid_to AS VARCHAR), CAST(ends_at AS VARCHAR), "
        "CAST(signed_at AS VARCHAR) FROM raw.contracts ORDER BY 1",
    )
    assert rows == [
        (1, "infinity", "infinity", "infinity"),
        (2, "-infinity", "-infinity", "-infinity"),
        (3, "2026-12-31", "2026-12-31 23:59:59.999999", "0001-01-01 00:00:00+00"),
    ]


@pytest.mark.parametrize(
    "value", ["294248-01-01 00:00", "294276-12-31 23:59:59.999999", "294247-01-10 04:00:54.775807"]
)
def test_postgres_timestamp_past_duckdb_range_fails(postgres_source, warehouse, value):
    # Shifted to Arrow's epoch, these overflowed and landed silently as dates 290,308 years BC,
    # or as infinity.
    postgres_source.run(
        "CREATE TABLE events (event_id INTEGER PRIMARY KEY, ends_at TIMESTAMP, "
        "updated_at TIMESTAMPTZ NOT NULL)",
        f"INSERT INTO events VALUES (1, '{value}', '2026-01-01 10:00+00')",
    )
    with pytest.raises(LoadError, match="'events'.*column ends_at: a timestamp after 294247"):
        extract("events", postgres_source, warehouse)
    assert landed(warehouse, "SELECT count(*) FROM raw._extract_state") == [(0,)]


def test_change_to_a_loosely_equal_value_lands(postgres_source, warehouse):
    # A table without a cursor is read whole at every run. The merge compared with IS DISTINCT
    # FROM, which finds '1 day' and '24 hours', 0 and -0, and
    # jsonb's 1.0 and 1.00 equal, so the source's change was counted as unchanged.
    postgres_source.run(*LOOSELY_EQUAL)
    extract("readings", postgres_source, warehouse, cursor=None)
    postgres_source.run(*LOOSELY_EQUAL_UPDATE)
    assert extract("readings", postgres_source, warehouse, cursor=None).updated == 4
    assert landed(
        warehouse,
        "SELECT CAST(span AS VARCHAR), CAST(level AS VARCHAR), CAST(levels AS VARCHAR), "
        "CAST(doc AS VARCHAR) FROM raw.readings ORDER BY reading_id",
    ) == [
        ("24:00:00", "0.0", "[0.0, 1.0]", '{"x": 1.0}'),
        ("1 day", "-0.0", "[0.0, 1.0]", '{"x": 1.0}'),
        ("1 day", "0.0", "[-0.0, 1.0]", '{"x": 1.0}'),
        ("1 day", "0.0", "[0.0, 1.0]", '{"x": 1.00}'),
    ]


def test_sqlite_offsets_land_in_utc(sqlite_source, warehouse):
    sqlite_source.run(
        "CREATE TABLE events (event_id INTEGER PRIMARY KEY, naive DATETIME, "
        "updated_at TIMESTAMPTZ NOT NULL)",
        "INSERT INTO events VALUES (1, '2026-03-29 01:30:00.5', "
        "'2026-03-29T03:30:00.000001+02:00')",
    )
    extract("events", sqlite_source, warehouse)
    assert landed(
        warehouse, "SELECT CAST(naive AS VARCHAR), CAST(updated_at AS VARCHAR) FROM raw.events"
    ) == [("2026-03-29 01:30:00.5", "2026-03-29 01:30:00.000001+00")]


def test_text_lands_byte_exact(source, warehouse):
    values = ", ".join(f"({i}, '{text}', '2026-01-01T10:00Z')" for i, text in enumerate(TEXTS))
    source.run(
        "CREATE TABLE names (name_id INTEGER PRIMARY KEY, name TEXT, updated_at TIMESTAMPTZ)",
        f"INSERT INTO names VALUES {values}",
    )
    extract("names", source, warehouse)
    names = [row[0] for row in landed(warehouse, "SELECT name FROM raw.names ORDER BY name_id")]
    assert [name.encode() for name in names] == [text.encode() for text in TEXTS]


def test_quoted_names_round_trip(source, warehouse):
    source.run(
        'CREATE TABLE "Order Lines" ("Line ID" INTEGER PRIMARY KEY, "select" TEXT, '
        '"quantité" INTEGER, "MixedCase" TEXT, updated_at TIMESTAMPTZ NOT NULL)',
        "INSERT INTO \"Order Lines\" VALUES (1, 'a', 3, 'b', '2026-01-01T10:00Z')",
    )
    extract("Order Lines", source, warehouse)
    source.run('UPDATE "Order Lines" SET "quantité" = 4')
    result = extract("Order Lines", source, warehouse, reconcile=True)
    assert result.updated == 1
    assert landed(
        warehouse, 'SELECT "Line ID", "select", "quantité", "MixedCase" FROM raw."Order Lines"'
    ) == [(1, "a", 4, "b")]


def test_nan_in_decimal_column_fails_load(postgres_source, warehouse):
    from dagster_project.extract.loader import LoadError

    postgres_source.run(
        "CREATE TABLE amounts (amount_id INTEGER PRIMARY KEY, price NUMERIC(12, 2), "
        "updated_at TIMESTAMPTZ NOT NULL)",
        "INSERT INTO amounts VALUES (1, 'NaN', now())",
    )
    with pytest.raises(LoadError, match="'amounts': a source value does not fit.*price"):
        extract("amounts", postgres_source, warehouse)
    assert landed(
        warehouse, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'amounts'"
    ) == [(0,)]


def test_postgres_types_land_per_rule(postgres_source, warehouse):
    postgres_source.run(
        "CREATE TYPE mood AS ENUM ('calm', 'busy')",
        "CREATE DOMAIN positive_int AS INTEGER CHECK (VALUE > 0)",
        "CREATE TABLE kinds (kind_id INTEGER PRIMARY KEY, mood mood, counts INTEGER[], "
        "tags TEXT[], prices NUMERIC(6, 2)[], doc JSON, docb JSONB, token UUID, "
        "payload BYTEA, wait INTERVAL, quantity positive_int, fee MONEY, "
        "opens TIMETZ, address INET, updated_at TIMESTAMPTZ NOT NULL) PARTITION BY RANGE (kind_id)",
        "CREATE TABLE kinds_low PARTITION OF kinds FOR VALUES FROM (0) TO (100)",
        "CREATE TABLE kinds_high PARTITION OF kinds FOR VALUES FROM (100) TO (200)",
        "INSERT INTO kinds VALUES (1, 'busy', '{1,NULL,3}', '{\"a b\",NULL}', '{1.10,2}', "
        "'{\"x\": 1.10}', '{\"y\": [1, 2]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', "
        "'\\x00ff', '1 year 2 mons 3 days 04:05:06.789', 5, 12.34, '10:00:00+02', "
        "'192.168.0.1/24', now()), "
        f"(150, {', '.join(['NULL'] * 13)}, now())",
    )
    extract("kinds", postgres_source, warehouse)
    types = dict(
        landed(
            warehouse,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'kinds'",
        )
    )
    row = landed(
        warehouse,
        "SELECT mood, counts, tags, CAST(prices AS VARCHAR), CAST(doc AS VARCHAR), "
        "CAST(docb AS VARCHAR), CAST(token AS VARCHAR), payload, wait = INTERVAL "
        "'1 year 2 months 3 days 4 hours 5 minutes 6.789 seconds', quantity, "
        "CAST(fee AS VARCHAR), CAST(opens AS VARCHAR), address FROM raw.kinds "
        "WHERE kind_id = 1",
    )[0]
    assert types["mood"] == "VARCHAR"
    assert types["counts"] == "INTEGER[]"
    assert types["prices"] == "JSON"
    assert types["quantity"] == "INTEGER"
    assert types["fee"] == "DECIMAL(38,4)"
    assert types["opens"] == "TIME WITH TIME ZONE"
    assert row[:3] == ("busy", [1, None, 3], ["a b", None])
    assert row[3] == "[1.10,2.00]"
    assert row[4:7] == ('{"x": 1.10}', '{"y": [1, 2]}', "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    assert row[7] == b"\x00\xff"
    assert row[8] is True
    assert row[9:12] == (5, "12.3400", "10:00:00+02")
    assert row[12] == "192.168.0.1/24"
    assert landed(warehouse, "SELECT count(*) FROM raw.kinds") == [(2,)]


def test_sqlite_dates_at_midnight_land(sqlite_source, warehouse):
    sqlite_source.run(
        "CREATE TABLE days (day_id INTEGER PRIMARY KEY, day DATE, updated_at TIMESTAMPTZ)",
        "INSERT INTO days VALUES (1, ' 2026-01-05', '2026-01-01T10:00Z'), "
        "(2, '2026-01-05 00:00:00+02:00', '2026-01-01T10:00Z'), "
        "(3, '2026-01-05T00:00:00.000Z', '2026-01-01T10:00Z')",
    )
    extract("days", sqlite_source, warehouse)
    days = landed(warehouse, "SELECT DISTINCT CAST(day AS VARCHAR) FROM raw.days")
    assert days == [("2026-01-05",)]
