"""Benchmark refresh cycles at scale: a full refresh, then cycles after 0.1 % and 1 % changed.

The source is a PostgreSQL Base Opération (database zm_bench_cycle by default, created here and
dropped at the end). The warehouse and the zone marts are embedded DuckDB files in a temporary
folder. Steps:
  generate  `zone-marts generate --scale N` into the source database
  full      the refresh job then one publish run per zone, on an empty warehouse and no marts
  0.1 %     the same after 0.1 % of sales_order_lines (and their orders) changed
  1 %       the same after 1 % changed
Each cycle runs in its own process, so its peak RSS is its own. dbt runs in a grandchild
process, whose peak RSS is reported apart. Stage seconds come from the Dagster step events.

Usage: .venv/bin/python benchmarks/cycle.py --scale 20 [--skip-generate] [--keep-database]
       [--latency] [--output results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from extract import machine_description

PROJECT_DIR = Path(__file__).resolve().parent.parent
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "zm_bench_cycle"
CHANGE_SHARES = (0.001, 0.01)
# The stage that times the refresh run and every publish run, without loading the definitions.
CYCLE = "cycle (excluding load)"

# Sampled keys go to a temporary table first, so the orders updated are exactly the parents
# of the lines updated.
PICK_LINES = """
CREATE TEMPORARY TABLE picked_lines AS
SELECT order_id, line_number
FROM sales_order_lines TABLESAMPLE BERNOULLI (%(percent)s)
"""
CHANGE_LINES = """
UPDATE sales_order_lines AS line
SET quantity = line.quantity + 1, updated_at = now()
FROM picked_lines AS picked
WHERE line.order_id = picked.order_id AND line.line_number = picked.line_number
"""
TOUCH_ORDERS = """
UPDATE sales_orders SET updated_at = now()
WHERE order_id IN (SELECT order_id FROM picked_lines)
"""


def database_url(admin_url: str, database: str) -> str:
    return admin_url.rpartition("/")[0] + "/" + database


def pipeline_environment(source_url: str, work_dir: Path) -> dict[str, str]:
    """Return the environment that points the pipeline at the benchmark's own files."""
    dagster_home = work_dir / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    # The project's instance settings: telemetry off, one warehouse run at a time.
    shutil.copy(PROJECT_DIR / ".dagster_home" / "dagster.yaml", dagster_home / "dagster.yaml")
    return {
        **os.environ,
        "BASE_OPERATION_URL": source_url,
        "ZONE_MARTS_MODE": "embedded",
        "ZONE_MARTS_DATA_DIR": str(work_dir / "data"),
        "WAREHOUSE_PATH": str(work_dir / "data" / "warehouse.duckdb"),
        "ZONE_MARTS_DIR": str(work_dir / "marts"),
        "DAGSTER_HOME": str(dagster_home),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def change_order_lines(url: str, share: float) -> dict[str, int]:
    """Bump quantity and updated_at on a random ``share`` of order lines and touch their orders."""
    with psycopg.connect(url) as connection:
        connection.execute(PICK_LINES, {"percent": share * 100})
        lines = connection.execute(CHANGE_LINES).rowcount
        orders = connection.execute(TOUCH_ORDERS).rowcount
    return {"lines_changed": lines, "orders_changed": orders}


def stage_of(step_key: str) -> str:
    if step_key.startswith("base_operation"):
        return "extraction"
    if step_key.startswith("zone_context"):
        return "zone_context"
    return "dbt"


def step_seconds(instance, run_id: str) -> dict[str, float]:
    """Return each step's seconds, from its STEP_START to its success or failure event."""
    import dagster as dg

    kinds = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
    }
    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for entry in instance.all_logs(run_id, of_type=kinds):
        if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
            started[entry.step_key] = entry.timestamp
        else:
            seconds[entry.step_key] = entry.timestamp - started[entry.step_key]
    return seconds


def run_cycle() -> dict:
    """Run the refresh and publish jobs once in this process and time each stage."""
    import dagster as dg

    loading = time.perf_counter()
    from dagster_project.definitions import defs
    from dagster_project.runner import run_pipeline
    from dagster_project.settings import load_settings
    from dagster_project.zones import load_zones

    instance = dg.DagsterInstance.get()
    load_seconds = time.perf_counter() - loading
    started = time.perf_counter()
    outcome = run_pipeline(
        defs, load_zones(), load_settings().marts_dir, instance, reconcile_deletes=False
    )
    total = time.perf_counter() - started
    if not outcome.succeeded:
        failed = {zone.zone.code: zone.checks_failed for zone in outcome.zones}
        raise SystemExit(f"cycle failed: {outcome.refresh_error or failed}")

    stages = {"extraction": 0.0, "zone_context": 0.0, "dbt": 0.0}
    for step_key, seconds in step_seconds(instance, outcome.refresh_run_id).items():
        stages[stage_of(step_key)] += seconds
    for zone in outcome.zones:
        record = instance.get_run_record_by_id(zone.run_id)
        stages[f"publish {zone.zone.code}"] = record.end_time - record.start_time
    stages["refresh run"] = outcome.refresh_seconds
    stages["load definitions"] = load_seconds
    stages[CYCLE] = total
    fact_rows = sum(zone.table_rows.get("fct_order_lines", 0) for zone in outcome.zones)
    return {"stages": stages, "published_order_lines": fact_rows}


def peak_rss_mb() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": own, "peak_rss_child_mb": children}


def run_cycle_in_child(environment: dict[str, str]) -> dict:
    command = [sys.executable, __file__, "--step", "cycle"]
    completed = subprocess.run(
        command, env=environment, cwd=PROJECT_DIR, capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise SystemExit(f"cycle process failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def generate(url: str, scale: float) -> float:
    started = time.perf_counter()
    command = [str(PROJECT_DIR / ".venv/bin/zone-marts"), "generate", "--url", url]
    subprocess.run([*command, "--scale", str(scale)], check=True, cwd=PROJECT_DIR)
    return time.perf_counter() - started


def count_order_lines(url: str) -> int:
    with psycopg.connect(url) as connection:
        return connection.execute("SELECT count(*) FROM sales_order_lines").fetchone()[0]


def run_benchmark(args: argparse.Namespace, url: str, work_dir: Path) -> dict:
    results: dict = {"scale": args.scale, "machine": machine_description()}
    if not args.skip_generate:
        results["generate_seconds"] = generate(url, args.scale)
    results["order_lines"] = count_order_lines(url)
    environment = pipeline_environment(url, work_dir)
    cycles = {"full": run_cycle_in_child(environment)}
    print(json.dumps(cycles["full"]), flush=True)
    for share in CHANGE_SHARES:
        change = change_order_lines(url, share)
        label = f"{share * 100:g} %"
        cycles[label] = {**change, **run_cycle_in_child(environment)}
        print(label, json.dumps(cycles[label]), flush=True)
    results["cycles"] = cycles
    if args.latency:
        from latency import measure_latency

        try:
            results["latency"] = measure_latency(url, environment, work_dir)
        except (TimeoutError, subprocess.CalledProcessError) as error:
            # Keep the cycle figures when the latency run fails; the error goes in the results.
            results["latency"] = {"error": str(error)}
    return results


def format_table(results: dict) -> str:
    """Render per-stage seconds of every cycle as a Markdown table, with each cycle's ratio."""
    cycles = results["cycles"]
    labels = list(cycles)
    stages = list(cycles["full"]["stages"])
    lines = [
        "| stage | " + " | ".join(labels) + " |",
        "|---" * (len(labels) + 1) + "|",
    ]
    for stage in stages:
        cells = " | ".join(f"{cycles[label]['stages'][stage]:.1f}" for label in labels)
        lines.append(f"| {stage} | {cells} |")
    full = cycles["full"]["stages"][CYCLE]
    ratios = " | ".join(f"{cycles[label]['stages'][CYCLE] / full:.1%}" for label in labels)
    lines.append(f"| cycle / full | {ratios} |")
    for key in ("peak_rss_mb", "peak_rss_child_mb"):
        cells = " | ".join(f"{cycles[label][key]:.0f}" for label in labels)
        lines.append(f"| {key.replace('_', ' ')} | {cells} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=20.0, help="generator scale (1: 48k lines)")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL maintenance URL")
    parser.add_argument("--database", default=DATABASE, help="source database name")
    parser.add_argument(
        "--skip-generate",
        action="store_true",
        help="reuse the data already in the source database instead of recreating it",
    )
    parser.add_argument(
        "--keep-database", action="store_true", help="leave the source database in place"
    )
    parser.add_argument(
        "--latency", action="store_true", help="also measure source-to-mart latency (latency.py)"
    )
    parser.add_argument("--output", help="write the measurements to this JSON file")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.step == "cycle":
        print(json.dumps({**run_cycle(), **peak_rss_mb()}))
        return 0

    url = database_url(args.admin_url, args.database)
    if not args.skip_generate:
        with psycopg.connect(args.admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {args.database}")
    try:
        with tempfile.TemporaryDirectory(
            prefix="zm-cycle-", ignore_cleanup_errors=True
        ) as directory:
            results = run_benchmark(args, url, Path(directory))
        # Written before the database is dropped: DROP DATABASE ... WITH (FORCE) waits for
        # every backend of the server, and a stalled client elsewhere can hold it for minutes.
        if args.output:
            Path(args.output).write_text(json.dumps(results, indent=2), encoding="utf-8")
        print(format_table(results))
        if "latency" in results:
            print(json.dumps(results["latency"]), flush=True)
    finally:
        if not args.keep_database:
            with psycopg.connect(args.admin_url, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
