"""Time the demo Base Opération generator and report its peak memory.

Usage: .venv/bin/python benchmarks/generate_base_operation.py --url URL --scale 20

The target database is overwritten. Peak memory is the process's maximum resident set size,
which includes the interpreter and imported libraries (about 60 MB).
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import UTC, datetime

from dagster_project.demo.generate import generate_base_operation

AS_OF = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="sqlite:///PATH or postgresql://...")
    parser.add_argument("--scale", type=float, default=1.0, help="generator scale (default: 1)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    args = parser.parse_args()
    started = time.perf_counter()
    counts = generate_base_operation(
        args.url, scale=args.scale, seed=args.seed, as_of=AS_OF, overwrite=True
    )
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scale {args.scale:g}: {sum(counts.values()):,} rows in {seconds:.1f} s")
    print(f"order lines: {counts['sales_order_lines']:,}; peak memory: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
