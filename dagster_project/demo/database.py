"""Open a Base Opération by URL (SQLite file or PostgreSQL) and write rows to it in bulk.

Both back ends receive the same Python values: integers, ``None`` and text. Instants are
formatted as ``YYYY-MM-DD HH:MM:SS.ffffff+00:00``, dates as ``YYYY-MM-DD`` and amounts as
decimal text. PostgreSQL parses that text into TIMESTAMPTZ, DATE and NUMERIC. SQLite keeps
instants and dates as text but, because a column declared NUMERIC has numeric affinity, stores
an amount such as ``'12.50'`` as the REAL 12.5. Every amount here has at most 14 significant
digits, so ``CAST(amount AS TEXT)`` read back into a DECIMAL of the declared scale is exact.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

SCHEMA_FILE = Path(__file__).with_name("schema.sql")

# Columns of every table as schema.sql declares them, with the tables in foreign-key order:
# a table only references tables listed before it.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "zones": ("zone_code", "zone_name", "region", "updated_at"),
    "sites": ("site_id", "zone_code", "site_name", "city", "site_type", "updated_at"),
    "customers": (
        "customer_id",
        "customer_name",
        "market_segment",
        "zone_code",
        "city",
        "created_at",
        "updated_at",
    ),
    "products": (
        "product_id",
        "sku",
        "product_name",
        "family",
        "category",
        "unit_cost",
        "list_price",
        "updated_at",
    ),
    "carriers": ("carrier_id", "carrier_name", "updated_at"),
    "sales_orders": (
        "order_id",
        "customer_id",
        "channel",
        "order_status",
        "currency",
        "ordered_at",
        "updated_at",
    ),
    "sales_order_lines": (
        "order_id",
        "line_number",
        "product_id",
        "quantity",
        "unit_price",
        "discount_rate",
        "updated_at",
    ),
    "shipments": (
        "shipment_id",
        "order_id",
        "carrier_id",
        "site_id",
        "promised_at",
        "shipped_at",
        "delivered_at",
        "updated_at",
    ),
    "production_orders": (
        "work_order_id",
        "site_id",
        "product_id",
        "planned_quantity",
        "produced_quantity",
        "planned_start_date",
        "planned_end_date",
        "actual_start_at",
        "actual_end_at",
        "work_order_status",
        "updated_at",
    ),
    "stock_levels": (
        "site_id",
        "product_id",
        "on_hand_quantity",
        "reserved_quantity",
        "reorder_point",
        "updated_at",
    ),
    "invoices": (
        "invoice_id",
        "order_id",
        "customer_id",
        "invoice_date",
        "due_date",
        "amount",
        "currency",
        "invoice_status",
        "updated_at",
    ),
    "payments": ("payment_id", "invoice_id", "amount", "payment_method", "paid_at", "updated_at"),
}
TABLES = tuple(TABLE_COLUMNS)


class DemoDatabaseError(ValueError):
    """The Base Opération URL is invalid or the database cannot be written as requested."""


def format_instant(instant: datetime) -> str:
    """Format an aware datetime as the UTC text both back ends accept for a TIMESTAMPTZ."""
    if instant.tzinfo is not UTC:
        instant = instant.astimezone(UTC)
    return instant.isoformat(sep=" ", timespec="microseconds")


def parse_instant(value: str | datetime) -> datetime:
    """Read a TIMESTAMPTZ as returned by SQLite (text) or psycopg (aware datetime)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(value).astimezone(UTC)


def format_date(day: date) -> str:
    return day.isoformat()


class BaseOperationDatabase:
    """One open connection to a Base Opération, with the few operations the demo needs.

    SQL is written with ``?`` placeholders and translated for psycopg. Nothing is committed
    until ``commit()``, so a failed generation or simulation leaves the database unchanged.
    A missing SQLite file is created, with its folders, unless ``create`` is false.
    """

    def __init__(self, url: str, create: bool = True):
        self.url = url
        if url.startswith("sqlite:///"):
            self.dialect = "sqlite"
            self.path = Path(url.removeprefix("sqlite:///"))
            if not create and not self.path.is_file():
                raise DemoDatabaseError(
                    f"no Base Opération at {url}: the file does not exist; run zone-marts "
                    "generate first"
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are opened explicitly by begin().
            self.connection = sqlite3.connect(self.path, isolation_level=None)
        elif url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            self.dialect = "postgresql"
            conninfo = "postgresql://" + url.split("://", 1)[1]
            try:
                self.connection = psycopg.connect(conninfo)
            except psycopg.OperationalError as error:
                raise DemoDatabaseError(
                    f"cannot connect to the Base Opération at {describe_url(url)}: {error}"
                ) from error
        else:
            raise DemoDatabaseError(
                f"unsupported Base Opération URL {describe_url(url)}: use sqlite:///PATH "
                "or postgresql://USER@HOST:PORT/DATABASE"
            )

    def __enter__(self) -> BaseOperationDatabase:
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        if error_type is not None:
            self.rollback()
        self.connection.close()

    def describe(self) -> str:
        return describe_url(self.url)

    def begin(self) -> None:
        """Open a write transaction, which on SQLite takes the write lock immediately."""
        if self.dialect == "sqlite":
            self.connection.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self.dialect == "postgresql":
            self.connection.commit()
        else:
            self._sqlite_end("COMMIT")

    def rollback(self) -> None:
        if self.dialect == "postgresql":
            self.connection.rollback()
        else:
            self._sqlite_end("ROLLBACK")

    def _sqlite_end(self, statement: str) -> None:
        if self.connection.in_transaction:
            self.connection.execute(statement)

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.dialect == "postgresql" else statement

    def execute(self, statement: str, parameters: Sequence = ()) -> int:
        """Run one statement and return the number of rows it changed."""
        cursor = self.connection.execute(self._sql(statement), parameters)
        return cursor.rowcount

    def execute_many(self, statement: str, rows: Sequence[Sequence]) -> None:
        if not rows:
            return
        cursor = self.connection.cursor()
        cursor.executemany(self._sql(statement), rows)

    def query(self, statement: str, parameters: Sequence = ()) -> list[tuple]:
        return list(self.connection.execute(self._sql(statement), parameters).fetchall())

    def existing_tables(self) -> list[str]:
        """Return the names of the tables that already exist, Base Opération or not."""
        if self.dialect == "sqlite":
            statement = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        else:
            statement = (
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() ORDER BY table_name"
            )
        return [name for (name,) in self.query(statement)]

    def non_empty_tables(self) -> list[str]:
        """Return the existing tables that hold rows or that are not Base Opération tables."""
        found = []
        for table in self.existing_tables():
            if table not in TABLES or self.query(f"SELECT 1 FROM {table} LIMIT 1"):
                found.append(table)
        return found

    def recreate_schema(self) -> None:
        """Drop the Base Opération tables, then create them from schema.sql, in the transaction."""
        for table in reversed(TABLES):
            cascade = " CASCADE" if self.dialect == "postgresql" else ""
            self.execute(f"DROP TABLE IF EXISTS {table}{cascade}")
        for statement in SCHEMA_FILE.read_text(encoding="utf-8").split(";"):
            if _strip_comments(statement):
                self.execute(statement)

    def insert_rows(self, table: str, rows: Iterable[Sequence]) -> int:
        """Insert ``rows`` (values in TABLE_COLUMNS order): COPY on PostgreSQL, else executemany."""
        columns = TABLE_COLUMNS[table]
        count = 0
        if self.dialect == "postgresql":
            cursor = self.connection.cursor()
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        rows = list(rows)
        placeholders = ", ".join("?" for _ in columns)
        self.connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows
        )
        return len(rows)


def _strip_comments(statement: str) -> str:
    lines = [line.split("--", 1)[0] for line in statement.splitlines()]
    return "\n".join(lines).strip()


def describe_url(url: str) -> str:
    """Return ``url`` without its password, for messages."""
    scheme, separator, rest = url.partition("://")
    if not separator or "@" not in rest.split("/", 1)[0]:
        return url
    credentials, _, host = rest.partition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


class RowBuffer:
    """Collect generated rows per table and write them in foreign-key order once enough pile up.

    Writing parents first keeps PostgreSQL's foreign-key checks satisfied at every COPY, and
    flushing about every ``flush_rows`` rows keeps memory flat whatever the scale.
    """

    def __init__(self, database: BaseOperationDatabase, flush_rows: int = 20_000):
        self.database = database
        self.flush_rows = flush_rows
        self.pending: dict[str, list[tuple]] = {table: [] for table in TABLES}
        self.pending_count = 0
        self.written: dict[str, int] = dict.fromkeys(TABLES, 0)

    def add(self, table: str, row: tuple) -> None:
        self.pending[table].append(row)
        self.pending_count += 1

    def flush_if_full(self) -> None:
        """Flush if at least ``flush_rows`` rows are pending.

        Call it between whole records, such as after an order with its lines, shipment and
        invoices, because a flush must never write a row before the rows it references.
        """
        if self.pending_count >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        for table in TABLES:
            rows = self.pending[table]
            if rows:
                self.written[table] += self.database.insert_rows(table, rows)
                self.pending[table] = []
        self.pending_count = 0
