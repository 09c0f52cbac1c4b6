"""Benchmark the extraction of an order-lines table (default 2M rows) from PostgreSQL to DuckDB.

Steps, each in its own process so its peak RSS is its own:
  floor        binary COPY of the whole table, read and discarded (what the network and the
               server can deliver at best)
  full         our first extraction into an empty DuckDB warehouse
  incremental  our next extraction after 1 % of the rows changed
  dlt          the same full and incremental loads with dlt's ``sql_table`` (connectorx and
               pyarrow backends, merge on the primary key), run by extract_dlt.py in the
               virtual environment given by --dlt-python; skipped without it

Usage: .venv/bin/python benchmarks/extract.py [--rows N] [--admin-url URL] [--database NAME]
       [--write FILE] [--dlt-python PYTHON]
The script creates its own database (--database, default zm_bench_extract) on the server, after
dropping any database of that name, and drops it afterwards. It prints the results page, and
writes it to --write when given (benchmarks/extract-results.md is the committed one).
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
from psycopg import sql

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATABASE = "zm_bench_extract"
RESULTS = Path(__file__).with_name("extract-results.md")
DLT_STEP = Path(__file__).with_name("extract_dlt.py")
DLT_BACKENDS = ("connectorx", "pyarrow")

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


def database_url(admin_url: str, database: str) -> str:
    return admin_url.rpartition("/")[0] + "/" + database


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
    from dagster_project.extract.sources.postgres import PostgresSource  # noqa: F401

    # Modules are imported before the clock starts, as in a running Dagster process.
    (spec,) = parse_declaration({"tables": {"order_lines": {}}})
    started = time.perf_counter()
    source = open_source(url)
    connection = duckdb.connect(warehouse)
    connection.execute("SET TimeZone = 'UTC'")
    opened = time.perf_counter()
    result = extract_table(spec, source, connection)
    extracted = time.perf_counter()
    connection.close()
    source.close()
    finished = time.perf_counter()
    return {
        "seconds": finished - started,
        "connection_seconds": (opened - started) + (finished - extracted),
        "rows_read": result.rows_read,
        "inserted": result.inserted,
        "updated": result.updated,
    }


def run_step(name: str, url: str, warehouse: str) -> dict:
    command = [sys.executable, __file__, "--step", name, "--url", url, "--warehouse", warehouse]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_dlt_step(dlt_python: str, backend: str, url: str, directory: str) -> dict:
    """Run one dlt load; the first call per backend is the full load, the next incremental."""
    command = [
        dlt_python,
        str(DLT_STEP),
        "--url",
        url,
        "--backend",
        backend,
        "--warehouse",
        str(Path(directory) / f"dlt_{backend}.duckdb"),
        "--pipelines-dir",
        str(Path(directory) / f"dlt_{backend}"),
    ]
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, cwd=directory
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def goals_text(floor: dict, full: dict, incremental: dict, dlt_full: dict) -> str:
    """Describe which speed goals this run met."""
    full_ratio = full["seconds"] / floor["seconds"]
    incremental_share = incremental["seconds"] / full["seconds"]
    lines = [
        "Goals:",
        f"- full extraction within 2x the floor: {full_ratio:.2f}x, "
        + ("met" if full_ratio <= 2 else "not met"),
        f"- incremental after 1 % changed at most 5 % of a full one: {incremental_share:.1%}, "
        + ("met" if incremental_share <= 0.05 else "not met"),
    ]
    if dlt_full:
        fastest = min(dlt_full, key=lambda backend: dlt_full[backend]["seconds"])
        speedup = dlt_full[fastest]["seconds"] / full["seconds"]
        lines.append(
            f"- full extraction at least 2x faster than dlt's fastest backend ({fastest}): "
            f"{speedup:.2f}x, " + ("met" if speedup >= 2 else "not met")
        )
    else:
        lines.append("- dlt comparison: not measured (run with --dlt-python)")
    return "\n".join(lines)


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
    parser.add_argument(
        "--database",
        default=DEFAULT_DATABASE,
        help=f"scratch database, dropped and created again (default {DEFAULT_DATABASE})",
    )
    parser.add_argument(
        "--write", help=f"results page to write, such as {RESULTS.relative_to(RESULTS.parents[1])}"
    )
    parser.add_argument(
        "--dlt-python",
        help="Python of a virtual environment with dlt installed (see extract_dlt.py)",
    )
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

    if not args.dlt_python:
        print("dlt rows skipped: pass --dlt-python PYTHON to measure dlt", file=sys.stderr)
    load_average = Path("/proc/loadavg").read_text().split()[0]
    url = database_url(args.admin_url, args.database)
    database = sql.Identifier(args.database).as_string()
    dlt_full, dlt_incremental = {}, {}
    with psycopg.connect(args.admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {database}")
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
            for backend in DLT_BACKENDS if args.dlt_python else ():
                dlt_full[backend] = run_dlt_step(args.dlt_python, backend, url, directory)
            with psycopg.connect(url, autocommit=True) as connection:
                changed = connection.execute(CHANGE_ONE_PERCENT).rowcount
            incremental = run_step("incremental", url, warehouse)
            for backend in DLT_BACKENDS if args.dlt_python else ():
                dlt_incremental[backend] = run_dlt_step(args.dlt_python, backend, url, directory)
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")

    rows = [
        ("binary COPY read and discarded (the floor)", floor),
        ("our full extraction into an empty warehouse", full),
        (f"our incremental extraction after {changed} rows (1 %) changed", incremental),
    ]
    for backend, result in dlt_full.items():
        rows.append((f"dlt `sql_table`, {backend} backend, full", result))
    for backend, result in dlt_incremental.items():
        rows.append((f"dlt `sql_table`, {backend} backend, incremental", result))
    table = "\n".join(
        f"| {label} | {result['seconds']:.2f} | {result['seconds'] / floor['seconds']:.2f} "
        f"| {result['peak_rss_mb']:.0f} MB |"
        for label, result in rows
    )
    command = f"benchmarks/extract.py --rows {args.rows}"
    if args.dlt_python:
        command += f" --dlt-python {args.dlt_python}"
    busy = (
        f" The load average was {load_average} before the run, so other jobs shared the cores."
        if float(load_average) > 1
        else ""
    )
    page = f"""# Extraction benchmark: PostgreSQL order lines into DuckDB

Produced by `{command}` in one run on {time.strftime("%Y-%m-%d")}.
Machine: {machine_description()}; PostgreSQL on the same machine (127.0.0.1).{busy}
Table: {args.rows:,} order lines, 8 columns (two NUMERIC, one nullable TEXT, a TIMESTAMPTZ
cursor), composite primary key, index on updated_at. Each step runs in its own process;
peak RSS is that process's maximum resident set. Timings start after the modules are
imported and include opening the connections.

| step | seconds | x floor | peak RSS |
|---|---|---|---|
{table}

Full extraction read {full["rows_read"]:,} rows and inserted {full["inserted"]:,}; the
incremental run read {incremental["rows_read"]:,} rows (the changed rows plus those inside the
10-minute lookback) and updated {incremental["updated"]:,}. Opening and closing the two
connections took {incremental["connection_seconds"]:.3f} s of the incremental run, whatever the
number of rows changed (the PostgreSQL ADBC driver reads the server's type catalog when it
connects, and DuckDB writes a checkpoint when it closes).

{goals_text(floor, full, incremental, dlt_full)}
"""
    if args.write:
        Path(args.write).write_text(page, encoding="utf-8")
    print(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
