"""Benchmark the extraction of a 2M-row order-lines table from PostgreSQL into DuckDB.

Steps, each in its own process so its peak RSS is its own:
  floor        binary COPY of the whole table, read and discarded (what the network and the
               server can deliver at best)
  full         our first extraction into an empty DuckDB warehouse
  incremental  our next extraction after 1 % of the rows changed

Usage: .venv/bin/python benchmarks/extract.py [--rows N] [--admin-url URL] [--write FILE]
The script creates its own database (zm_bench_extract) on the server and drops it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "zm_bench_extract"
RESULTS = Path(__file__).with_name("extract-results.md")

TABLE_DDL = """
CREATE TABLE order_lines (
    order_id BIGINT NOT NULL,
    line_number INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price NUMERIC(12, 2) NOT NULL,
    discount_rate NUMERIC(5, 4) NOT NULL,
    note TEXT,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (order_id, line_number)
)
"""
FILL = """
INSERT INTO order_lines
SELECT n / 4, n % 4, n % 5000, 1 + n % 50, (n % 100000) / 100.0, (n % 300) / 1000.0,
       CASE WHEN n % 10 = 0 THEN 'livraison partielle n° ' || n END,
       timestamptz '2026-01-01' + n * interval '1 second'
FROM generate_series(0, {rows} - 1) AS n
"""
CHANGE_ONE_PERCENT = (
    "UPDATE order_lines SET quantity = quantity + 1, updated_at = now() WHERE order_id % 100 = 7"
)


def database_url(admin_url: str) -> str:
    return admin_url.rpartition("/")[0] + "/" + DATABASE


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step_floor(url: str) -> dict:
    started = time.perf_counter()
    size = 0
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        with cursor.copy("COPY order_lines TO STDOUT (FORMAT binary)") as copy:
            for chunk in copy:
                size += len(chunk)
    return {"seconds": time.perf_counter() - started, "bytes": size}


def step_extract(url: str, warehouse: str) -> dict:
    import duckdb

    from dagster_project.extract.declaration import parse_declaration
    from dagster_project.extract.run import extract_table
    from dagster_project.extract.sources import open_source

    (spec,) = parse_declaration({"tables": {"order_lines": {}}})
    started = time.perf_counter()
    source = open_source(url)
    connection = duckdb.connect(warehouse)
    connection.execute("SET TimeZone = 'UTC'")
    result = extract_table(spec, source, connection)
    connection.close()
    source.close()
    return {
        "seconds": time.perf_counter() - started,
        "rows_read": result.rows_read,
        "inserted": result.inserted,
        "updated": result.updated,
    }


def run_step(name: str, url: str, warehouse: str) -> dict:
    command = [sys.executable, __file__, "--step", name, "--url", url, "--warehouse", warehouse]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def machine_description() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    memory_gb = memory_kb / 1024 / 1024
    return f"{os.cpu_count()} cores ({cpu}), {memory_gb:.1f} GB RAM, {platform.platform()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows in the table")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL maintenance URL")
    parser.add_argument("--write", default=str(RESULTS), help="results page to write")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.step:
        result = (
            step_floor(args.url) if args.step == "floor" else step_extract(args.url, args.warehouse)
        )
        print(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}))
        return 0

    url = database_url(args.admin_url)
    with psycopg.connect(args.admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(TABLE_DDL)
            connection.execute(FILL.format(rows=int(args.rows)))
            connection.execute("CREATE INDEX order_lines_updated_at ON order_lines (updated_at)")
            connection.execute("VACUUM ANALYZE order_lines")
        with tempfile.TemporaryDirectory() as directory:
            warehouse = str(Path(directory) / "warehouse.duckdb")
            floor = run_step("floor", url, warehouse)
            full = run_step("full", url, warehouse)
            with psycopg.connect(url, autocommit=True) as connection:
                changed = connection.execute(CHANGE_ONE_PERCENT).rowcount
            incremental = run_step("incremental", url, warehouse)
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")

    rows = [
        ("binary COPY read and discarded (the floor)", floor),
        ("our full extraction into an empty warehouse", full),
        (f"our incremental extraction after {changed} rows (1 %) changed", incremental),
    ]
    table = "\n".join(
        f"| {label} | {result['seconds']:.2f} | {result['seconds'] / floor['seconds']:.2f} "
        f"| {result['peak_rss_mb']:.0f} MB |"
        for label, result in rows
    )
    page = f"""# Extraction benchmark: PostgreSQL order lines into DuckDB

Produced by `benchmarks/extract.py --rows {args.rows}` in one run on {time.strftime("%Y-%m-%d")}.
Machine: {machine_description()}; PostgreSQL on the same machine (127.0.0.1).
Table: {args.rows:,} order lines, 8 columns (two NUMERIC, one nullable TEXT, a TIMESTAMPTZ
cursor), composite primary key, index on updated_at. Each step runs in its own process;
peak RSS is that process's maximum resident set.

| step | seconds | x floor | peak RSS |
|---|---|---|---|
{table}

Full extraction read {full["rows_read"]:,} rows and inserted {full["inserted"]:,}; the
incremental run read {incremental["rows_read"]:,} rows (the changed rows plus those inside the
10-minute lookback) and updated {incremental["updated"]:,}.

Not measured here: dlt's `sql_table` (connectorx and pyarrow backends), which needs dlt
installed in a separate virtual environment, outside the project's pinned set.
"""
    Path(args.write).write_text(page, encoding="utf-8")
    print(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
