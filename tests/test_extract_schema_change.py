"""Source schema changes: additions and widenings applied, renames and narrowing rejected."""

from __future__ import annotations

import pytest

from dagster_project.extract.schema_change import SchemaChangeError, is_widening

pytest.register_assert_rewrite("extract_support")
from extract_support import extract, landed  # noqa: E402

pytest_plugins = ("extract_support",)

ORDERS = (
    "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, quantity INTEGER, "
    "updated_at TIMESTAMPTZ NOT NULL)"
)


def _recreate_sqlite(source, definition: str, columns: str) -> None:
    """SQLite cannot change a column's type: rebuild the table with the same rows."""
    source.run(
        "ALTER TABLE orders RENAME TO orders_old",
        definition,
        f"INSERT INTO orders SELECT {columns} FROM orders_old",
        "DROP TABLE orders_old",
    )


def test_added_column_applied_and_reported(source, warehouse):
    source.run(ORDERS, "INSERT INTO orders VALUES (1, 2, '2026-01-01T10:00Z')")
    extract("orders", source, warehouse)
    source.run(
        "ALTER TABLE orders ADD COLUMN note TEXT",
        "INSERT INTO orders VALUES (2, 3, '2026-01-01T11:00Z', 'rush')",
    )
    result = extract("orders", source, warehouse)
    assert result.schema_changes == ("added note VARCHAR",)
    assert landed(warehouse, "SELECT order_id, note FROM raw.orders ORDER BY 1") == [
        (1, None),
        (2, "rush"),
    ]


def test_added_column_with_default_fills_landed_rows(source, warehouse):
    # Adding a column with a default does not touch updated_at, so an incremental read left the
    # column NULL in every row landed before, while the source contains the default there.
    source.run(
        ORDERS,
        "INSERT INTO orders VALUES (1, 2, '2026-01-01T10:00Z')",
        "INSERT INTO orders VALUES (2, 2, '2026-01-01T12:00Z')",
    )
    extract("orders", source, warehouse)
    source.run("ALTER TABLE orders ADD COLUMN priority INTEGER NOT NULL DEFAULT 5")
    result = extract("orders", source, warehouse)
    assert (result.rows_read, result.updated) == (2, 2)
    assert landed(warehouse, "SELECT priority FROM raw.orders") == [(5,), (5,)]
    assert extract("orders", source, warehouse).rows_read == 1


def test_widened_to_text_rereads_landed_rows(postgres_source, warehouse):
    # The landed rows kept DuckDB's text of the old type, the rows read after it PostgreSQL's.
    postgres_source.run(
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, codes INTEGER[], "
        "updated_at TIMESTAMPTZ NOT NULL)",
        "INSERT INTO orders VALUES (1, '{1,2}', '2026-01-01T10:00Z')",
        "INSERT INTO orders VALUES (2, '{3}', '2026-01-01T12:00Z')",
    )
    extract("orders", postgres_source, warehouse)
    postgres_source.run("ALTER TABLE orders ALTER COLUMN codes TYPE TEXT")
    postgres_source.run("INSERT INTO orders VALUES (3, '{4,5}', '2026-01-01T12:01Z')")
    result = extract("orders", postgres_source, warehouse)
    assert result.schema_changes == ("widened codes INTEGER[] -> VARCHAR",)
    assert landed(warehouse, "SELECT codes FROM raw.orders ORDER BY order_id") == [
        ("{1,2}",),
        ("{3}",),
        ("{4,5}",),
    ]


def test_integer_widened_to_decimal(source, warehouse):
    source.run(ORDERS, "INSERT INTO orders VALUES (1, 2, '2026-01-01T10:00Z')")
    extract("orders", source, warehouse)
    if source.dialect == "sqlite":
        _recreate_sqlite(
            source,
            "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, quantity NUMERIC(6, 1), "
            "updated_at TIMESTAMPTZ NOT NULL)",
            "*",
        )
    else:
        source.run("ALTER TABLE orders ALTER COLUMN quantity TYPE NUMERIC(6, 1)")
    source.run("INSERT INTO orders VALUES (2, 2.5, '2026-01-01T11:00Z')")
    result = extract("orders", source, warehouse)
    assert len(result.schema_changes) == 1
    assert result.schema_changes[0].startswith("widened quantity ")
    assert result.schema_changes[0].endswith(" -> DECIMAL(6,1)")
    assert landed(
        warehouse, "SELECT CAST(quantity AS VARCHAR) FROM raw.orders ORDER BY order_id"
    ) == [("2.0",), ("2.5",)]


def test_rename_rejected_naming_columns(source, warehouse):
    source.run(ORDERS, "INSERT INTO orders VALUES (1, 2, '2026-01-01T10:00Z')")
    first = extract("orders", source, warehouse)
    source.run(
        "ALTER TABLE orders RENAME COLUMN quantity TO ordered_quantity",
        "INSERT INTO orders VALUES (2, 3, '2026-01-01T11:00Z')",
    )
    with pytest.raises(SchemaChangeError, match="column quantity .* while ordered_quantity"):
        extract("orders", source, warehouse)
    assert landed(warehouse, "SELECT count(*) FROM raw.orders") == [(1,)]
    assert landed(warehouse, "SELECT watermark FROM raw._extract_state") == [
        (first.watermark_after,)
    ]


def test_narrowing_rejected_naming_column(source, warehouse):
    source.run(
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, price NUMERIC(12, 2), "
        "updated_at TIMESTAMPTZ NOT NULL)",
        "INSERT INTO orders VALUES (1, 2.5, '2026-01-01T10:00Z')",
    )
    extract("orders", source, warehouse)
    if source.dialect == "sqlite":
        _recreate_sqlite(
            source,
            "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, price NUMERIC(6, 1), "
            "updated_at TIMESTAMPTZ NOT NULL)",
            "*",
        )
    else:
        source.run("ALTER TABLE orders ALTER COLUMN price TYPE NUMERIC(6, 1)")
    with pytest.raises(
        SchemaChangeError, match=r"narrow .*price DECIMAL\(12,2\) -> DECIMAL\(6,1\)"
    ):
        extract("orders", source, warehouse)


@pytest.mark.parametrize(
    ("old", "new", "widens"),
    [
        ("INTEGER", "BIGINT", True),
        ("BIGINT", "INTEGER", False),
        ("INTEGER", "DECIMAL(6,1)", True),
        ("DECIMAL(12,2)", "DECIMAL(14,4)", True),
        ("DECIMAL(12,2)", "DECIMAL(12,4)", False),
        ("DECIMAL(12,2)", "INTEGER", False),
        ("FLOAT", "DOUBLE", True),
        ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", False),
        ("DATE", "VARCHAR", True),
        ("VARCHAR", "INTEGER", False),
    ],
)
def test_widening_rules(old, new, widens):
    assert is_widening(old, new) is widens


LINES = (
    "CREATE TABLE lines (order_id INTEGER, line_no INTEGER, note TEXT, "
    "updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (order_id, line_no))"
)


def rekey_lines(source) -> None:
    """Drop line (1, 1), then make order_id alone the key and update order 1's last line."""
    source.run(
        "DELETE FROM lines WHERE order_id = 1 AND line_no = 1",
        "ALTER TABLE lines DROP CONSTRAINT lines_pkey",
        "ALTER TABLE lines ADD PRIMARY KEY (order_id)",
        "UPDATE lines SET note = 'v2', updated_at = '2026-01-02T10:00Z' WHERE order_id = 1",
    )


def test_primary_key_change_replaces_landed_rows(postgres_source, warehouse):
    # Merged by the new key, both landed rows of order 1 matched the source's one row and stayed,
    # and the comparison of keys for deletes found nothing to delete either.
    postgres_source.run(
        LINES,
        "INSERT INTO lines VALUES (1, 1, 'a', '2026-01-01T10:00Z'), "
        "(1, 2, 'b', '2026-01-01T10:00Z'), (2, 1, 'c', '2026-01-01T10:00Z')",
    )
    extract("lines", postgres_source, warehouse)
    rekey_lines(postgres_source)
    result = extract("lines", postgres_source, warehouse, reconcile=True)

    assert result.schema_changes == (
        "primary key (order_id, line_no) -> (order_id), landed rows replaced by a full read",
    )
    assert landed(warehouse, "SELECT order_id, line_no, note FROM raw.lines ORDER BY 1") == [
        (1, 2, "v2"),
        (2, 1, "c"),
    ]
    assert extract("lines", postgres_source, warehouse).schema_changes == ()


def test_primary_key_change_fails_when_schema_changes_fail(postgres_source, warehouse):
    postgres_source.run(LINES, "INSERT INTO lines VALUES (1, 1, 'a', '2026-01-01T10:00Z')")
    extract("lines", postgres_source, warehouse)
    rekey_lines(postgres_source)
    with pytest.raises(SchemaChangeError, match=r"primary key \(order_id, line_no\)"):
        extract("lines", postgres_source, warehouse, on_schema_change="fail")


def test_column_dropped_and_added_again_is_read_again(postgres_source, warehouse):
    # The column list was the same as before, so no change was seen, and rows landed before kept
    # the dropped column's values while the source had the new column's default.
    postgres_source.run(
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, note TEXT, "
        "updated_at TIMESTAMPTZ NOT NULL)",
        "INSERT INTO orders VALUES (1, 'old', '2026-01-01T10:00Z'), "
        "(2, 'old', '2026-01-01T11:00Z')",
    )
    extract("orders", postgres_source, warehouse)
    postgres_source.run(
        "ALTER TABLE orders DROP COLUMN note",
        "ALTER TABLE orders ADD COLUMN note TEXT NOT NULL DEFAULT 'fresh'",
    )
    result = extract("orders", postgres_source, warehouse)

    assert "note" in result.schema_changes[0]
    assert "at a new position in the source" in result.schema_changes[0]
    assert landed(warehouse, "SELECT order_id, note FROM raw.orders ORDER BY 1") == [
        (1, "fresh"),
        (2, "fresh"),
    ]
    assert extract("orders", postgres_source, warehouse).schema_changes == ()


def test_primary_key_columns_reordered_keep_landed_rows(postgres_source, warehouse):
    # The same key in another column order emptied and reloaded the whole table.
    postgres_source.run(LINES, "INSERT INTO lines VALUES (1, 1, 'a', '2026-01-01T10:00Z')")
    extract("lines", postgres_source, warehouse)
    postgres_source.run(
        "ALTER TABLE lines DROP CONSTRAINT lines_pkey",
        "ALTER TABLE lines ADD PRIMARY KEY (line_no, order_id)",
    )
    result = extract("lines", postgres_source, warehouse)
    assert result.schema_changes == ()
    assert result.inserted == 0


def test_sqlite_column_dropped_before_others_is_no_change(sqlite_source, warehouse):
    # SQLite numbers columns by rank, so dropping one shifted the next ones: every later run
    # read the table in full, or failed under on_schema_change: fail.
    sqlite_source.run(
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, legacy TEXT, note TEXT, "
        "updated_at TIMESTAMPTZ NOT NULL)",
        "INSERT INTO orders VALUES (1, 'x', 'a', '2025-06-01T10:00Z'), "
        "(2, 'x', 'b', '2025-06-01T10:00Z'), (3, 'x', 'c', '2026-01-01T10:00Z')",
    )
    extract("orders", sqlite_source, warehouse)
    sqlite_source.run("ALTER TABLE orders DROP COLUMN legacy")
    warehouse.execute("ALTER TABLE raw.orders DROP COLUMN legacy")
    result = extract("orders", sqlite_source, warehouse, on_schema_change="fail")
    # Only the row inside the lookback is read again, not the whole table.
    assert (result.schema_changes, result.rows_read) == ((), 1)


def test_comment_of_another_tool_is_kept(postgres_source, warehouse):
    postgres_source.run(ORDERS, "INSERT INTO orders VALUES (1, 2, '2026-01-01T10:00Z')")
    extract("orders", postgres_source, warehouse)
    warehouse.execute("COMMENT ON TABLE raw.orders IS 'Landing copy - owner: data team'")
    with pytest.raises(SchemaChangeError, match="comment that the extraction did not write"):
        extract("orders", postgres_source, warehouse)
    comment = landed(warehouse, "SELECT comment FROM duckdb_tables() WHERE table_name = 'orders'")
    assert comment == [("Landing copy - owner: data team",)]
