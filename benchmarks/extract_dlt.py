"""One dlt step of benchmarks/extract.py, run by the Python of a separate virtual environment.

dlt is not among the project's dependencies: install it apart, for example
  python3.11 -m venv /tmp/dlt-venv && /tmp/dlt-venv/bin/pip install --only-binary :all: \
      "dlt[duckdb]" connectorx pyarrow psycopg2-binary sqlalchemy
and pass ``--dlt-python /tmp/dlt-venv/bin/python`` to benchmarks/extract.py.

Usage: PYTHON extract_dlt.py --url URL --backend connectorx|pyarrow --warehouse FILE
       --pipelines-dir DIR
The first call on a pipelines directory is the full load, the next an incremental one on
``updated_at``, merged by primary key like our extraction. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="PostgreSQL source URL")
    parser.add_argument("--backend", required=True, choices=("connectorx", "pyarrow"))
    parser.add_argument("--warehouse", required=True, help="DuckDB file to load into")
    parser.add_argument("--pipelines-dir", required=True, help="dlt state directory")
    args = parser.parse_args()

    # dlt sends anonymous usage events to the internet unless this setting is false.
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    import dlt
    from dlt.sources.sql_database import sql_table

    started = time.perf_counter()
    # SQLAlchemy 2.1 maps postgresql:// to psycopg 3, so the driver is named for reflection.
    table = sql_table(
        credentials=args.url.replace("postgresql://", "postgresql+psycopg2://", 1),
        table="order_lines",
        backend=args.backend,
        incremental=dlt.sources.incremental("updated_at"),
    )
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{args.backend}",
        pipelines_dir=args.pipelines_dir,
        destination=dlt.destinations.duckdb(args.warehouse),
        dataset_name="raw",
    )
    info = pipeline.run(table, write_disposition="merge", primary_key=("order_id", "line_number"))
    info.raise_on_failed_jobs()
    rows = pipeline.last_trace.last_normalize_info.row_counts.get("order_lines", 0)
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - started,
                "rows_read": rows,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
