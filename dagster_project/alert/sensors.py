"""Dagster sensors that feed run, check, freshness and heartbeat signals to the dispatcher.

The sensors only read the Dagster instance and hand signals over: storm control and delivery
live in dispatch.py and incidents.py, and the evaluation in freshness.py and run_signals.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import yaml

from dagster_project.access.secrets import mask_secrets
from dagster_project.alert.config import AlertConfig, load_alert_config
from dagster_project.alert.dispatch import AlertDispatcher, DispatchReport, utc_now
from dagster_project.alert.freshness import evaluate_heartbeat, evaluate_zone_freshness
from dagster_project.alert.policies import EXTRACTION_PREFIX, ZONE_MART_KEY, heartbeat_window
from dagster_project.alert.run_signals import (
    check_evaluation_signal,
    run_failure_signal,
    run_success_signals,
)
from dagster_project.alert.signals import Signal, to_utc
from dagster_project.runner import is_interruption
from dagster_project.zones import Zone

EXTRACTION_DECLARATION = Path(__file__).resolve().parent.parent / "extract" / "base_operation.yml"
# Extraction metadata keys that may hold the watermark after the run, most specific first.
WATERMARK_KEYS = ("watermark_after", "watermark")
RUNS_PER_TICK = 100
FINISHED_RUN_STATUSES = [
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
]
FRESHNESS_INTERVAL_SECONDS = 60
# Variables holding connection URLs whose passwords a run's error may quote.
URL_VARIABLES = ("BASE_OPERATION_URL", "WAREHOUSE_URL", "ZONE_MARTS_DASHBOARD_URL")


def declared_tables(path: Path = EXTRACTION_DECLARATION) -> list[str]:
    """Return the source tables declared for extraction, in declaration order."""
    with open(path, encoding="utf-8") as handle:
        return list((yaml.safe_load(handle) or {}).get("tables") or {})


def latest_materialization_time(
    instance: dg.DagsterInstance, key: dg.AssetKey, partition: str | None = None
) -> datetime | None:
    records_filter = dg.AssetRecordsFilter(
        asset_key=key, asset_partitions=[partition] if partition else None
    )
    records = instance.fetch_materializations(records_filter, limit=1).records
    return datetime.fromtimestamp(records[0].timestamp, tz=UTC) if records else None


def latest_watermark(instance: dg.DagsterInstance, key: dg.AssetKey) -> datetime | None:
    """Return the source's last cursor value recorded by the latest extraction of ``key``."""
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return None
    metadata = event.asset_materialization.metadata
    for name in WATERMARK_KEYS:
        if name in metadata:
            return to_utc(getattr(metadata[name], "value", metadata[name]))
    return None


def _run_errors(context: dg.RunFailureSensorContext) -> list[str]:
    """Return the run's errors, the one that the message shows first.

    Dagster wraps the exception raised in a step in its own. The first error listed is the
    outermost other one, which is this project's message where it wrapped a library's error
    (the mart 'open for writing in another process', not DuckDB's lock error), then its causes.
    """
    errors = []
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        chain = []
        while error is not None:
            chain.append(error)
            error = error.cause
        raised = [error for error in chain if not error.cls_name.startswith("Dagster")] or chain
        errors.extend(_with_class(error.cls_name, error.message.strip()) for error in raised)
    errors.append(context.failure_event.message or "")
    return errors


def _interrupted(context: dg.RunFailureSensorContext) -> bool:
    """Return whether the run failed because its process was interrupted."""
    run_error = getattr(context.failure_event.event_specific_data, "error", None)
    return is_interruption(run_error) or any(
        is_interruption(getattr(event.event_specific_data, "error", None))
        for event in context.get_step_failure_events()
    )


def _with_class(cls_name: str, message: str) -> str:
    """Prefix the exception's class name, unless Dagster's message already starts with it."""
    return message if message.startswith(f"{cls_name}:") else f"{cls_name}: {message}"


def masked_errors(errors: list[str]) -> list[str]:
    """Mask the passwords of the configured connection URLs in error texts sent to receivers.

    The URLs come from the environment as they are, since settings that fail their checks
    still name the URLs whose passwords an error may quote.
    """
    urls = [os.environ.get(name) for name in URL_VARIABLES]
    return [mask_secrets(error, *urls) for error in errors]


def build_alert_sensors(
    zones: Sequence[Zone],
    tables: Sequence[str] | None = None,
    config_loader: Callable[[], AlertConfig] = load_alert_config,
    clock: Callable[[], datetime] = utc_now,
) -> list[dg.SensorDefinition]:
    """Build the alert sensors; ``config_loader`` and ``clock`` are replaceable in tests."""
    zones = list(zones)
    zone_codes = [zone.code for zone in zones]
    tables = list(tables) if tables is not None else declared_tables()

    def dispatch(context, signals: list[Signal]) -> DispatchReport:
        # The configuration is read at each evaluation, so the definitions load without the
        # alert secrets and a fixed alerts.yml takes effect without a reload.
        dispatcher = AlertDispatcher.from_config(config_loader(), zones, clock)
        report = dispatcher.handle(signals)
        for notice in report.delivered:
            context.log.info(f"sent {notice.kind} for {notice.signal.asset} {notice.signal.check}")
        for notice in report.failed:
            context.log.error(
                f"failed to deliver {notice.kind} for {notice.signal.asset} "
                f"{notice.signal.check}; retried on the next evaluation"
            )
        return report

    @dg.run_failure_sensor(
        name="alert_on_run_failure",
        monitor_all_code_locations=True,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def alert_on_run_failure(context: dg.RunFailureSensorContext):
        # NOTE: Dagster moves this sensor's cursor past the run even when delivery failed, so
        # the alert is retried on the next failure of the same job, not on the next tick.
        run = context.dagster_run
        if _interrupted(context):
            # Stopped on purpose (Ctrl+C, a closed terminal, a service stop), so no alert is
            # sent, as for a run terminated from the UI, which Dagster marks canceled.
            context.log.info(f"run {run.run_id} was interrupted; no alert sent")
            return
        signal = run_failure_signal(
            run.job_name, run.run_id, run.tags, masked_errors(_run_errors(context)), zone_codes
        )
        dispatch(context, [signal])

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="resolve_on_run_success",
        monitor_all_code_locations=True,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def resolve_on_run_success(context: dg.RunStatusSensorContext):
        run = context.dagster_run
        dispatch(context, run_success_signals(run.job_name, run.run_id, run.tags, zone_codes))

    @dg.sensor(
        name="alert_on_asset_check_failure",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def alert_on_asset_check_failure(context: dg.SensorEvaluationContext):
        # The cursor is the update time of the last finished run read. Event storage ids are
        # not comparable across runs in the default SQLite storage, which keeps one event log
        # per run, so the sensor walks finished runs and reads each run's check evaluations.
        after = datetime.fromisoformat(context.cursor) if context.cursor else None

        runs = context.instance.get_run_records(
            filters=dg.RunsFilter(statuses=FINISHED_RUN_STATUSES, updated_after=after),
            order_by="update_timestamp",
            ascending=True,
            limit=RUNS_PER_TICK,
        )

        signals = []
        for record in runs:
            run = record.dagster_run
            entries = context.instance.all_logs(
                run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            )
            for entry in entries:
                evaluation = entry.dagster_event.event_specific_data
                signals.append(
                    check_evaluation_signal(
                        evaluation.asset_key.path,
                        evaluation.check_name,
                        evaluation.passed,
                        {name: getattr(v, "value", v) for name, v in evaluation.metadata.items()},
                        run.run_id,
                        run.tags,
                        partition=getattr(evaluation, "partition", None),
                        zone_codes=zone_codes,
                    )
                )
        if not runs:
            return dg.SkipReason("no run finished since the last tick")

        report = dispatch(context, signals) if signals else None
        # After a failed delivery the cursor stays, so the next tick reads the same evaluations
        # again and retries. Recording them twice changes nothing in the incident store.
        if report is None or not report.failed:
            context.update_cursor(runs[-1].update_timestamp.isoformat())
        delivered = len(report.delivered) if report else 0
        return dg.SkipReason(f"{len(signals)} evaluations, {delivered} notices sent")

    @dg.sensor(
        name="alert_on_stale_data",
        minimum_interval_seconds=FRESHNESS_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def alert_on_stale_data(context: dg.SensorEvaluationContext):
        instance = context.instance
        watermarks = {
            table: latest_watermark(instance, dg.AssetKey([EXTRACTION_PREFIX, table]))
            for table in tables
        }
        signals = []
        for zone in zones:
            last_publish = latest_materialization_time(instance, ZONE_MART_KEY, zone.code)
            signals += evaluate_zone_freshness(
                zone, clock(), source_watermarks=watermarks, last_publish=last_publish
            )
        report = dispatch(context, signals)
        failing = sum(signal.failing for signal in signals)
        return dg.SkipReason(f"{failing} stale, {len(report.delivered)} notices sent")

    @dg.sensor(
        name="alert_on_missed_heartbeat",
        minimum_interval_seconds=FRESHNESS_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def alert_on_missed_heartbeat(context: dg.SensorEvaluationContext):
        signals = heartbeat_signals(context.instance, zones, tables, clock())
        report = dispatch(context, signals)
        failing = sum(signal.failing for signal in signals)
        return dg.SkipReason(f"{failing} missed, {len(report.delivered)} notices sent")

    return [
        alert_on_run_failure,
        resolve_on_run_success,
        alert_on_asset_check_failure,
        alert_on_stale_data,
        alert_on_missed_heartbeat,
    ]


def heartbeat_signals(
    instance: dg.DagsterInstance, zones: Sequence[Zone], tables: Sequence[str], now: datetime
) -> list[Signal]:
    """Evaluate one heartbeat for the whole extraction (its oldest table) and one per zone mart.

    One extraction signal, not one per table, so a stopped pipeline raises one alert for the
    extraction rather than one per table.
    """
    last_by_table = {
        table: latest_materialization_time(instance, dg.AssetKey([EXTRACTION_PREFIX, table]))
        for table in tables
    }
    signals = []
    if tables:
        oldest = min(tables, key=lambda t: last_by_table[t] or datetime.min.replace(tzinfo=UTC))
        signals.append(
            evaluate_heartbeat(
                last_by_table[oldest], heartbeat_window(zones), now, asset=EXTRACTION_PREFIX
            )
        )
    for zone in zones:
        signals.append(
            evaluate_heartbeat(
                latest_materialization_time(instance, ZONE_MART_KEY, zone.code),
                zone.freshness.heartbeat_max_interval,
                now,
                asset=f"zone_mart[{zone.code}]",
                zone=zone,
            )
        )
    return signals


def build_alert_definitions(zones: Sequence[Zone], **options) -> dg.Definitions:
    """Return Definitions holding the alert sensors, for definitions.py to merge."""
    return dg.Definitions(sensors=build_alert_sensors(zones, **options))
