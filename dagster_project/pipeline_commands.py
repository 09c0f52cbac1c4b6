"""``zone-marts demo`` and ``zone-marts refresh``: run the main job from the command line."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys

from dagster_project.settings import PROJECT_DIR, load_settings

DEFAULT_DAGSTER_HOME = PROJECT_DIR / ".dagster_home"
# The shell's exit code for a command stopped by Ctrl+C (128 + SIGINT).
INTERRUPTED_EXIT_CODE = 130


def open_instance():
    """Return the Dagster instance of DAGSTER_HOME, by default the project's .dagster_home."""
    import dagster as dg

    os.environ.setdefault("DAGSTER_HOME", str(DEFAULT_DAGSTER_HOME))
    return dg.DagsterInstance.get()


def _interrupt_on_hangup(signum: int, frame: object) -> None:
    """Stop as Ctrl+C does, so that the run in progress is marked failed."""
    os.kill(os.getpid(), signal.SIGINT)


def _run(args: argparse.Namespace) -> int:
    from dagster_project.runner import format_outcome, run_pipeline, run_using_warehouse
    from dagster_project.zones import load_zones

    settings = load_settings()
    instance = open_instance()
    busy = run_using_warehouse(instance, settings.is_production)
    if busy:
        print(
            f"zone-marts {args.command}: run {busy.run_id} of job {busy.job_name} is "
            f"{busy.status.value.lower()} in the Dagster instance {os.environ['DAGSTER_HOME']} "
            "and uses the warehouse; run the command again once it has ended. If no process "
            "runs it any more (its terminal was closed, say), terminate it in the Dagster UI.",
            file=sys.stderr,
        )
        return 1
    # Closing the terminal (SIGHUP) killed the command and left its run marked as started, which
    # then held back the schedule and the sensors.
    signal.signal(signal.SIGHUP, _interrupt_on_hangup)
    # Run logs (Dagster's and dbt's, including the dbt parse that loading the definitions may
    # start) go to stderr, so stdout holds only the summary below.
    with contextlib.redirect_stdout(sys.stderr):
        # Imported here so that `zone-marts --help` does not pay for loading Dagster and dbt.
        from dagster_project.definitions import defs

        try:
            outcome = run_pipeline(
                defs,
                load_zones(),
                settings.marts_dir,
                instance,
                reconcile_deletes=not args.no_reconcile,
                warehouse_url=settings.warehouse_url if settings.is_production else None,
            )
        except KeyboardInterrupt:
            # Between two runs: each run either finished or was rolled back.
            print("Interrupted (Ctrl+C); run the command again to finish.", file=sys.__stdout__)
            return INTERRUPTED_EXIT_CODE
    print(format_outcome(outcome))
    if outcome.interrupted:
        return INTERRUPTED_EXIT_CODE
    if outcome.succeeded and not settings.is_production:
        print(
            f"\nZone marts are in {settings.marts_dir}/<zone>.duckdb; open them read-only, "
            "for example: duckdb.connect(path, read_only=True)"
        )
    return 0 if outcome.succeeded else 1


def _demo(args: argparse.Namespace) -> int:
    from dagster_project.demo.generate import generate_base_operation

    settings = load_settings()
    if settings.is_production:
        print("zone-marts demo runs on the embedded default: unset ZONE_MARTS_MODE.")
        return 2
    source_path = settings.data_dir / "base_operation.sqlite"
    if settings.source_url == f"sqlite:///{source_path}" and not source_path.exists():
        print(f"Creating the demo Base Opération at {source_path} (scale {args.scale}) ...")
        counts = generate_base_operation(settings.source_url, scale=args.scale, seed=args.seed)
        print("  " + ", ".join(f"{table}: {rows:,}" for table, rows in counts.items()))
    return _run(args)


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="create the demo Base Opération if missing, then run the main job once",
    )
    demo.add_argument(
        "--scale", type=float, default=1.0, help="demo size; 1.0 is about 50,000 order lines"
    )
    demo.add_argument("--seed", type=int, default=42, help="random seed of the demo data")
    demo.set_defaults(handler=_demo, no_reconcile=False)

    refresh = subparsers.add_parser(
        "refresh",
        help="run the main job once: extract, transform, then audit and publish every zone",
    )
    refresh.add_argument(
        "--no-reconcile",
        action="store_true",
        help="skip the primary-key comparison that removes rows hard-deleted in the source",
    )
    refresh.set_defaults(handler=_run)
