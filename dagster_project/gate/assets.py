"""Dagster assets of the gate: ``zone_candidate`` (build and audit) and ``zone_mart`` (publish).

Both are partitioned by zone code. ``zone_candidate`` carries one blocking check per suite plus
``volume`` and ``reconciliation``. When one fails, Dagster skips ``zone_mart`` for that zone in
the same run, and the zone keeps its last published mart. Embedded, the mart is the file
``<marts_dir>/<zone>.duckdb``. In production (ZONE_MARTS_MODE=production) the marts are read
from the PostgreSQL warehouse and the zone is published as the PostgreSQL schema ``<zone>``.

A third, unpartitioned asset, ``zone_mart_changes``, ends the refresh job. It records each zone's
fingerprint of mart rows and the number of its rows this refresh landed (gate/fingerprint.py),
from which the publish sensor sets each zone's priority.

Check metadata keys, stable for alerting: every check has ``zone_code`` and ``report_path`` (the
zone's HTML audit report). Suite checks (``suite_<table>``) add ``table``, ``row_count``,
``audit_scope``, ``audited_rows``, ``rows_after_quarantine``, ``evaluated_expectations``,
``successful_expectations``, ``failed_expectations`` (names), ``quarantined_expectations``,
``quarantined_rows``, ``quarantine_share``, ``max_quarantine_share``, ``failures`` (per failed
expectation: name, type, on_failure, element_count, missing_count, unexpected_count,
observed_value, unexpected_sample, error). A suite check that failed before any expectation ran
(missing table, unreadable value) has only ``table`` and ``failed_expectations``.
``volume`` adds ``row_counts``, ``previous_row_counts``, ``previous_run_id``,
``dropped_tables`` (table: share lost), ``max_drop_share``, ``min_dropped_rows``.
``reconciliation`` adds ``candidate_total``, ``source_total``, ``difference``, ``tolerance``.
"""

# No ``from __future__ import annotations`` here: Dagster reads the asset functions' config and
# resource annotations at definition time and cannot resolve them from strings.
import dataclasses
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dagster as dg

from dagster_project.gate.audit import suite_check_name
from dagster_project.gate.candidate import (
    MART_SCHEMA,
    candidate_path,
    remove_database_file,
    zone_lock,
)
from dagster_project.gate.checks import (
    DEFAULT_MAX_DROP_SHARE,
    DEFAULT_MIN_DROPPED_ROWS,
    DEFAULT_RECONCILIATION_TOLERANCE,
    RECONCILIATION_CHECK,
    VOLUME_CHECK,
    CheckOutcome,
)
from dagster_project.gate.fingerprint import (
    CHANGES_ASSET,
    CONTENT_FINGERPRINT_METADATA,
    FINGERPRINTS_METADATA,
    LANDED_METADATA,
    ZONE_MART_ASSET,
    rows_landed_since,
    warehouse_fingerprints,
)
from dagster_project.gate.suites import load_suites, suite_tables
from dagster_project.gate.warehouses import DuckDBWarehouse, PostgresWarehouse
from dagster_project.gate.zone_audit import (
    GatePolicy,
    audit_record_path,
    audit_zone,
    publish_entry,
    read_passed_audit,
)
from dagster_project.publish.embedded import publish_candidate, published_path
from dagster_project.publish.postgres import publish_to_postgres, read_last_postgres_publish
from dagster_project.resources import WAREHOUSE_POOL, WarehouseResource
from dagster_project.settings import EXPECTATIONS_DIR, Settings, load_settings
from dagster_project.zones import Zone

GROUP = "zone_marts"


class GateConfig(dg.Config):
    """Thresholds of the volume and reconciliation checks and the audit scope, per run."""

    max_drop_share: float = DEFAULT_MAX_DROP_SHARE
    min_dropped_rows: int = DEFAULT_MIN_DROPPED_ROWS
    reconciliation_tolerance: str = str(DEFAULT_RECONCILIATION_TOLERANCE)
    full_audit: bool = False
    """Validate every row, not only those changed since the zone's published mart."""

    def to_policy(self) -> GatePolicy:
        """Return the policy, raising ValueError naming the first invalid setting."""
        if not 0 <= self.max_drop_share <= 1:
            raise ValueError(f"max_drop_share={self.max_drop_share} must be between 0 and 1")
        if self.min_dropped_rows < 0:
            raise ValueError(f"min_dropped_rows={self.min_dropped_rows} must be 0 or more")
        try:
            tolerance = Decimal(self.reconciliation_tolerance)
        except InvalidOperation as error:
            raise ValueError(
                f"reconciliation_tolerance={self.reconciliation_tolerance!r} is not a decimal "
                "number. Write it like 0.01"
            ) from error
        if not tolerance >= 0:
            raise ValueError(f"reconciliation_tolerance={tolerance} must be 0 or more")
        return GatePolicy(self.max_drop_share, self.min_dropped_rows, tolerance, self.full_audit)


def _metadata_value(value: object) -> object:
    if value is None:
        return dg.MetadataValue.null()
    if isinstance(value, dict | list | tuple):
        return dg.MetadataValue.json(value)
    return value


def recorded_publish(
    instance: dg.DagsterInstance, zone_code: str
) -> tuple[str | None, dict[str, int] | None]:
    """Return the audit run id and row counts of the zone's latest zone_mart materialization."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(ZONE_MART_ASSET), asset_partitions=[zone_code]),
        limit=1,
    ).records
    if not records:
        return None, None
    metadata = records[0].asset_materialization.metadata
    counts = getattr(metadata.get("row_counts"), "value", None)
    run_id = getattr(metadata.get("audit_run_id"), "value", None)
    if not isinstance(counts, dict) or not all(isinstance(n, int) for n in counts.values()):
        return None, None
    return run_id, counts


def check_result(outcome: CheckOutcome, report_path: Path | None) -> dg.AssetCheckResult:
    metadata = {key: _metadata_value(value) for key, value in outcome.metadata.items()}
    if report_path is not None:
        metadata["report_path"] = dg.MetadataValue.path(str(report_path))
    return dg.AssetCheckResult(
        check_name=outcome.name,
        passed=outcome.passed,
        metadata=metadata,
        description=outcome.description,
    )


def declared_zone(context: dg.AssetExecutionContext, zones: list[Zone]) -> str:
    """Return the run's zone code, or raise a Failure naming what is wrong with it.

    Launched through the API, a run may have no partition or one that marts/zones.yml does not
    declare: its candidate would hold no rows and pass every row check.
    """
    codes = [zone.code for zone in zones]
    if not context.has_partition_key:
        raise dg.Failure(f"a publish runs for one zone: choose a partition among {codes}")
    if context.partition_key not in codes:
        raise dg.Failure(
            f"zone {context.partition_key!r} is not declared in marts/zones.yml ({codes})"
        )
    return context.partition_key


def build_gate_definitions(
    zones: list[Zone],
    settings: Settings | None = None,
    expectations_dir: Path = EXPECTATIONS_DIR,
) -> dg.Definitions:
    """Return the ``zone_candidate`` and ``zone_mart`` assets for ``zones``.

    Needs the ``warehouse`` resource (WarehouseResource). The audited tables are those with a
    suite in ``expectations_dir``, and each is the upstream dbt model ``["marts", <table>]``.
    """
    settings = settings or load_settings()
    marts_dir = settings.marts_dir
    partitions = dg.StaticPartitionsDefinition([zone.code for zone in zones])
    tables = suite_tables(expectations_dir)
    descriptions = {suite_check_name(table): f"Suite expectations/{table}.json" for table in tables}
    descriptions[VOLUME_CHECK] = "No mart table lost too many rows since the last publish"
    descriptions[RECONCILIATION_CHECK] = "Order-line net total equals the raw source total"
    check_specs = [
        dg.AssetCheckSpec(
            name,
            asset="zone_candidate",
            blocking=True,
            partitions_def=partitions,
            description=description,
        )
        for name, description in descriptions.items()
    ]

    @dg.asset(
        name=CHANGES_ASSET,
        deps=[dg.AssetKey([MART_SCHEMA, table]) for table in tables],
        group_name=GROUP,
        kinds={"duckdb"},
        description="Fingerprint of each zone's mart rows and the rows this refresh landed, "
        "from which the publish sensor orders the zones.",
        pool=WAREHOUSE_POOL,
    )
    def zone_mart_changes(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        codes = [zone.code for zone in zones]
        if settings.is_production:
            # NOTE: production computes no fingerprint, so its zones publish in declared order.
            return dg.MaterializeResult(metadata={FINGERPRINTS_METADATA: dg.MetadataValue.json({})})
        record = context.instance.get_run_record_by_id(context.run_id)
        started = record.start_time if record and record.start_time else 0.0
        with warehouse.connect() as connection:
            fingerprints = warehouse_fingerprints(connection, codes)
            landed = rows_landed_since(connection, codes, datetime.fromtimestamp(started, UTC))
        return dg.MaterializeResult(
            metadata={
                FINGERPRINTS_METADATA: dg.MetadataValue.json(fingerprints),
                LANDED_METADATA: dg.MetadataValue.json(landed),
            }
        )

    @dg.asset(
        name="zone_candidate",
        partitions_def=partitions,
        # dagster-dbt's default key for a model with a configured schema is [schema, model].
        deps=[dg.AssetKey([MART_SCHEMA, table]) for table in tables],
        check_specs=check_specs,
        group_name=GROUP,
        kinds={"duckdb"},
        description="The zone's rows of every mart, in a private file, audited before publishing.",
        pool=WAREHOUSE_POOL,
    )
    def zone_candidate(
        context: dg.AssetExecutionContext, config: GateConfig, warehouse: WarehouseResource
    ):
        zone_code = declared_zone(context, zones)
        if settings.is_production:
            source = PostgresWarehouse(settings.warehouse_url)
            last_publish = read_last_postgres_publish(settings.warehouse_url, zone_code)
        else:
            source = DuckDBWarehouse(Path(warehouse.path))
            last_publish = None
        policy = config.to_policy()
        if settings.is_production:
            # The published version lives in PostgreSQL, not in a local file to compare with.
            policy = dataclasses.replace(policy, full_audit=True)
        audit = audit_zone(
            source,
            marts_dir,
            zone_code,
            load_suites(expectations_dir),
            context.run_id,
            policy,
            last_publish=last_publish,
            recorded_publish=recorded_publish(context.instance, zone_code),
        )
        failed = [check.name for check in audit.checks if not check.passed]
        context.log.info(
            "zone %s: candidate %s, %d rows in %d tables, checks failed: %s, report %s",
            zone_code,
            audit.candidate,
            sum(audit.row_counts.values()),
            len(audit.row_counts),
            ", ".join(failed) or "none",
            audit.report_path,
        )
        yield dg.MaterializeResult(
            metadata={
                "zone_code": zone_code,
                "candidate_path": dg.MetadataValue.path(str(audit.candidate)),
                "row_counts": dg.MetadataValue.json(audit.row_counts),
                "checks_failed": dg.MetadataValue.json(failed),
                "audit_scope": audit.audit_scope,
                CONTENT_FINGERPRINT_METADATA: audit.content_fingerprint,
                "report_path": dg.MetadataValue.path(str(audit.report_path)),
            }
        )
        for check in audit.checks:
            yield check_result(check, audit.report_path)

    @dg.asset(
        name=ZONE_MART_ASSET,
        partitions_def=partitions,
        deps=[zone_candidate],
        group_name=GROUP,
        kinds={"duckdb"},
        description="The zone's published mart, replaced atomically by an audited candidate.",
    )
    def zone_mart(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        zone_code = context.partition_key
        candidate = candidate_path(marts_dir, zone_code)
        target = published_path(marts_dir, zone_code)
        with zone_lock(marts_dir, zone_code):
            record = read_passed_audit(candidate)
            entry = publish_entry(record, context.run_id, datetime.now(UTC))
            if settings.is_production:
                roles = publish_to_postgres(candidate, settings.warehouse_url, zone_code, entry)
                target = f"PostgreSQL schema {zone_code}, read by {', '.join(roles) or 'no role'}"
                remove_database_file(candidate)
            else:
                publish_candidate(candidate, target, entry)
            audit_record_path(candidate).unlink(missing_ok=True)
        context.log.info("zone %s: published to %s", zone_code, target)
        return dg.MaterializeResult(
            metadata={
                "zone_code": zone_code,
                "target": str(target),
                "published_at": entry.published_at.isoformat(timespec="seconds"),
                "audit_run_id": record["run_id"],
                CONTENT_FINGERPRINT_METADATA: record.get(CONTENT_FINGERPRINT_METADATA) or "",
                "row_counts": dg.MetadataValue.json(entry.row_counts),
            }
        )

    return dg.Definitions(assets=[zone_mart_changes, zone_candidate, zone_mart])
