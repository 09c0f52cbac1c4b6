"""Build and audit one zone's candidate, and record the verdict next to it for the publish step.

The record (``<zone>.audit.json``) carries the candidate file's size and modification time, so
the publish step refuses a candidate that failed its audit or changed after it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from dagster_project.gate.audit import audit_table, missing_table_check
from dagster_project.gate.candidate import (
    MART_SCHEMA,
    CandidateError,
    candidate_path,
    count_rows,
    open_candidate,
    table_columns,
    zone_lock,
)
from dagster_project.gate.checks import (
    DEFAULT_MAX_DROP_SHARE,
    DEFAULT_MIN_DROPPED_ROWS,
    DEFAULT_RECONCILIATION_TOLERANCE,
    CheckOutcome,
    check_reconciliation,
    check_volume,
)
from dagster_project.gate.fingerprint import CONTENT_FINGERPRINT_METADATA, candidate_fingerprint
from dagster_project.gate.report import REPORTS_DIRNAME, render_report, write_report
from dagster_project.gate.suites import MartSuite
from dagster_project.gate.validation import SuiteValidator, suite_parameters
from dagster_project.gate.warehouses import Warehouse
from dagster_project.publish.embedded import published_path
from dagster_project.publish.log import (
    CHANGED_ROWS_AUDIT,
    FULL_AUDIT,
    LatestPublish,
    PublishEntry,
    read_latest_publish,
)

# Row expectations read only the rows changed since the last publish, except once a day: a
# publish audits every row when the zone's last full audit is older than this.
FULL_AUDIT_INTERVAL = timedelta(hours=24)


@dataclass(frozen=True)
class GatePolicy:
    max_drop_share: float = DEFAULT_MAX_DROP_SHARE
    min_dropped_rows: int = DEFAULT_MIN_DROPPED_ROWS
    reconciliation_tolerance: Decimal = DEFAULT_RECONCILIATION_TOLERANCE
    full_audit: bool = False
    """Audit every row even when the published mart allows auditing only the changed ones."""


@dataclass
class ZoneAudit:
    zone_code: str
    run_id: str
    audited_at: datetime
    candidate: Path
    checks: list[CheckOutcome]
    row_counts: dict[str, int]
    source_watermarks: list[dict] = field(default_factory=list)
    report_path: Path | None = None
    audit_scope: str = FULL_AUDIT
    suites_fingerprint: str | None = None
    content_fingerprint: str | None = None

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


def suites_fingerprint(suites: dict[str, MartSuite]) -> str:
    """Return one SHA-256 over every suite file, so any suite change shows."""
    digest = hashlib.sha256()
    for table in sorted(suites):
        digest.update(f"{table}:{suites[table].fingerprint}\n".encode())
    return digest.hexdigest()


def audit_changed_rows_only(
    latest: LatestPublish | None, fingerprint: str, policy: GatePolicy, now: datetime
) -> bool:
    """Return whether the published mart may spare its rows a new row audit.

    Every row is audited when any of these holds:
    - a full audit is requested (always in production, which publishes to PostgreSQL);
    - no published mart records an audit, or the suites changed since;
    - the last full audit is older than FULL_AUDIT_INTERVAL, or dated in the future.
    """
    if policy.full_audit or latest is None or latest.suites_fingerprint != fingerprint:
        return False
    last_full = latest.last_full_audit_at
    # A full audit dated in the future (a clock that was fast) does not count.
    return last_full is not None and timedelta(0) <= now - last_full <= FULL_AUDIT_INTERVAL


def audit_record_path(candidate: Path) -> Path:
    return candidate.with_suffix(".audit.json")


def audit_zone(
    warehouse: Warehouse,
    marts_dir: Path,
    zone_code: str,
    suites: dict[str, MartSuite],
    run_id: str,
    policy: GatePolicy = GatePolicy(),
    now: datetime | None = None,
    last_publish: tuple[str | None, dict[str, int] | None] | None = None,
    recorded_publish: tuple[str | None, dict[str, int] | None] = (None, None),
) -> ZoneAudit:
    """Build the zone's candidate from the warehouse and run every gate check on it.

    ``last_publish`` is the run id and row counts of the zone's current mart, read from the
    embedded mart file when not given. ``recorded_publish`` is the same, as recorded elsewhere
    (in Dagster): the volume check compares with it when the file gives no row counts, because
    the mart file was moved away or its log emptied.
    """
    with zone_lock(marts_dir, zone_code):
        latest = read_latest_publish(published_path(marts_dir, zone_code))
        if last_publish is None:
            last_publish = (latest.run_id, latest.row_counts) if latest else (None, None)
        if not last_publish[1] and recorded_publish[1]:
            last_publish = recorded_publish
        return _audit_zone(
            warehouse, marts_dir, zone_code, suites, run_id, policy, now, last_publish, latest
        )


def _audit_zone(
    warehouse: Warehouse,
    marts_dir: Path,
    zone_code: str,
    suites: dict[str, MartSuite],
    run_id: str,
    policy: GatePolicy,
    now: datetime | None,
    last_publish: tuple[str | None, dict[str, int] | None],
    latest: LatestPublish | None,
) -> ZoneAudit:
    now = now or datetime.now(UTC)
    candidate = candidate_path(marts_dir, zone_code)
    audit_record_path(candidate).unlink(missing_ok=True)
    previous_run_id, previous_counts = last_publish
    expectations_by_table = {}
    fingerprint = suites_fingerprint(suites)
    changed_only = (
        audit_changed_rows_only(latest, fingerprint, policy, now) and warehouse.updates_in_place
    )
    published = published_path(marts_dir, zone_code) if changed_only else None

    with open_candidate(candidate, start_from=published) as connection:
        unfinished = warehouse.unfinished_build(connection)
        if unfinished:
            raise CandidateError(
                f"zone {zone_code}: {unfinished}. The zone keeps its last published mart; run "
                "the refresh (or dbt build) again once it passes"
            )
        digests: dict[str, str] = {}
        if changed_only:
            tables, copied, digests = _update_from_published(
                warehouse, connection, zone_code, published
            )
        else:
            tables = warehouse.copy_zone_tables(connection, zone_code)
            copied = tables
        if not tables:
            raise CandidateError(
                f"no table in schema {MART_SCHEMA} of {warehouse.describe()}: run dbt first"
            )
        content = candidate_fingerprint(connection, tables, digests)
        unaudited = sorted(set(tables) - set(suites))
        if unaudited:
            raise CandidateError(
                f"mart table(s) without a suite: {', '.join(unaudited)}. Add "
                "expectations/<table>.json for each, since an unaudited table is never published"
            )
        # A column named rowid hides DuckDB's row identifier, by which the audit names and
        # quarantines rows and the row delta deletes them.
        invalid = []
        for table in tables:
            names = {name.lower() for name, _ in table_columns(connection, table)}
            if "rowid" in names:
                invalid.append(table)
        if invalid:
            raise CandidateError(
                f"invalid mart table(s) {', '.join(invalid)}: a column is named rowid, which "
                "hides DuckDB's row identifier that the audit uses. Rename the column in the "
                "dbt model"
            )

        watermarks = warehouse.source_watermarks(connection)
        checks = [
            check_reconciliation(
                connection, zone_code, tables, warehouse, policy.reconciliation_tolerance
            )
        ]
        validator = SuiteValidator()
        parameters = suite_parameters(now)
        for table, suite in suites.items():
            if table not in tables:
                checks.append(missing_table_check(table, zone_code))
                continue
            check, outcomes = audit_table(
                connection,
                validator,
                suite,
                zone_code,
                parameters,
                run_id,
                now,
                changed_rows_only=table not in copied,
            )
            checks.append(check)
            expectations_by_table[table] = outcomes
        row_counts = {table: count_rows(connection, table) for table in tables}

    checks.append(
        check_volume(
            zone_code,
            row_counts,
            previous_counts,
            previous_run_id,
            policy.max_drop_share,
            policy.min_dropped_rows,
        )
    )
    audit = ZoneAudit(
        zone_code,
        run_id,
        now,
        candidate,
        checks,
        row_counts,
        watermarks,
        audit_scope=CHANGED_ROWS_AUDIT if changed_only else FULL_AUDIT,
        suites_fingerprint=fingerprint,
        content_fingerprint=content,
    )
    html = render_report(
        zone_code, run_id, now.isoformat(timespec="seconds"), checks, expectations_by_table
    )
    stamp = now.strftime("%Y%m%dT%H%M%S")
    audit.report_path = write_report(candidate.parent / REPORTS_DIRNAME, zone_code, stamp, html)
    write_audit_record(audit)
    return audit


def _update_from_published(
    warehouse: Warehouse, connection: duckdb.DuckDBPyConnection, zone_code: str, published: Path
) -> tuple[list[str], list[str], dict[str, str]]:
    """Run ``update_zone_tables``, naming the published mart when DuckDB fails to read it."""
    try:
        return warehouse.update_zone_tables(connection, zone_code)
    except duckdb.OutOfMemoryException:
        raise
    except duckdb.Error as error:
        raise CandidateError(
            f"zone {zone_code}: cannot update the candidate copied from the published mart "
            f"{published} with the rows of {warehouse.describe()}: "
            f"{str(error).splitlines()[0]}. If the published mart is damaged, move it aside "
            "and run the zone again: its candidate is then built from the warehouse and every "
            "row is audited"
        ) from error


def _fingerprint(path: Path) -> list[int]:
    status = path.stat()
    return [status.st_size, status.st_mtime_ns]


def write_audit_record(audit: ZoneAudit) -> None:
    record = {
        "zone_code": audit.zone_code,
        "run_id": audit.run_id,
        "audited_at": audit.audited_at.isoformat(),
        "passed": audit.passed,
        "checks_passed": [check.name for check in audit.checks if check.passed],
        "checks_failed": [check.name for check in audit.checks if not check.passed],
        "row_counts": audit.row_counts,
        "source_watermarks": audit.source_watermarks,
        "audit_scope": audit.audit_scope,
        "suites_fingerprint": audit.suites_fingerprint,
        CONTENT_FINGERPRINT_METADATA: audit.content_fingerprint,
        "report_path": str(audit.report_path),
        "candidate_fingerprint": _fingerprint(audit.candidate),
    }
    audit_record_path(audit.candidate).write_text(
        json.dumps(record, indent=2, default=str), encoding="utf-8"
    )


# Keys of an audit record that read_passed_audit and publish_entry read.
PUBLISHED_RECORD_KEYS = frozenset(
    {
        "zone_code",
        "run_id",
        "passed",
        "checks_passed",
        "checks_failed",
        "row_counts",
        "source_watermarks",
        "candidate_fingerprint",
    }
)


def read_passed_audit(candidate: Path) -> dict:
    """Return the audit record of ``candidate``, raising CandidateError unless it may publish."""
    record_path = audit_record_path(candidate)
    if not candidate.exists() or not record_path.exists():
        raise CandidateError(
            f"no audited candidate at {candidate}: materialize zone_candidate for this zone first"
        )
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        if not isinstance(record, dict):
            raise ValueError(f"a JSON {type(record).__name__}, not an object")
        missing = sorted(PUBLISHED_RECORD_KEYS - set(record))
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
    except ValueError as error:
        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors too.
        raise CandidateError(
            f"the audit record {record_path} is damaged ({error}); materialize zone_candidate "
            "for this zone again"
        ) from error
    if not record["passed"]:
        raise CandidateError(
            f"candidate {candidate} failed its audit (run {record['run_id']}): "
            f"{', '.join(record['checks_failed'])}; the zone keeps its last published mart"
        )
    if record["candidate_fingerprint"] != _fingerprint(candidate):
        raise CandidateError(
            f"candidate {candidate} changed after its audit (run {record['run_id']}). "
            "Materialize zone_candidate again."
        )
    return record


def publish_entry(record: dict, run_id: str, published_at: datetime) -> PublishEntry:
    """Return the publish log entry of a passed audit record, for the run that publishes it."""
    return PublishEntry(
        run_id=run_id,
        zone_code=record["zone_code"],
        published_at=published_at,
        source_watermarks=record["source_watermarks"],
        row_counts=record["row_counts"],
        checks_passed=record["checks_passed"],
        checks_failed=record["checks_failed"],
        audit_scope=record.get("audit_scope"),
        suites_fingerprint=record.get("suites_fingerprint"),
    )
