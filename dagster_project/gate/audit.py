"""Audit a candidate: one Great Expectations suite per table, then quarantine rejected rows.

Each table yields one ``suite_<table>`` check. It passes when every blocking expectation passes
and the rows rejected by quarantine expectations stay within the suite's maximum share. Those
rows are then moved out of the candidate.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from dagster_project.gate.candidate import count_rows, quote_identifier
from dagster_project.gate.checks import CheckOutcome
from dagster_project.gate.quarantine import move_to_quarantine
from dagster_project.gate.suites import MartSuite
from dagster_project.gate.validation import ExpectationOutcome, SuiteValidator

ROW_ID_COLUMN = "__gate_row_id"


def suite_check_name(table: str) -> str:
    return f"suite_{table}"


def audit_table(
    connection: duckdb.DuckDBPyConnection,
    validator: SuiteValidator,
    suite: MartSuite,
    zone_code: str,
    parameters: dict[str, object],
    run_id: str,
    now: datetime,
) -> tuple[CheckOutcome, list[ExpectationOutcome]]:
    """Validate one candidate table, quarantine its rejected rows if allowed, return the check."""
    table = suite.table
    frame = connection.execute(
        f"SELECT rowid AS {ROW_ID_COLUMN}, * FROM {quote_identifier(table)}"
    ).df()
    row_ids = frame.pop(ROW_ID_COLUMN)
    outcomes, _ = validator.validate(suite, frame, parameters)
    row_count = len(frame)

    blocking_failures = [o for o in outcomes if not o.success and o.on_failure == "block"]
    quarantine_failures = [o for o in outcomes if not o.success and o.on_failure == "quarantine"]
    failures_by_row_id: dict[int, list[str]] = {}
    unusable = []
    for outcome in quarantine_failures:
        if outcome.error or not outcome.unexpected_rows:
            # A table-level expectation (row count, column set) names no rows to move out.
            unusable.append(outcome)
            continue
        for position in outcome.unexpected_rows:
            failures_by_row_id.setdefault(int(row_ids.iloc[position]), []).append(outcome.name)
    blocking_failures += unusable
    share = len(failures_by_row_id) / row_count if row_count else 0.0
    within_share = share <= suite.max_quarantine_share
    passed = not blocking_failures and within_share

    quarantined = 0
    if passed:
        quarantined = move_to_quarantine(connection, table, failures_by_row_id, run_id, now)
    metadata = {
        "zone_code": zone_code,
        "table": table,
        "row_count": row_count,
        "rows_after_quarantine": count_rows(connection, table),
        "evaluated_expectations": len(outcomes),
        "successful_expectations": sum(o.success for o in outcomes),
        "failed_expectations": [o.name for o in blocking_failures],
        "quarantined_expectations": [o.name for o in quarantine_failures],
        "quarantined_rows": quarantined,
        "quarantine_share": round(share, 6),
        "max_quarantine_share": suite.max_quarantine_share,
        "failures": [o.as_metadata() for o in outcomes if not o.success],
    }
    if passed:
        description = f"{len(outcomes)} expectations passed on {row_count} rows"
        if quarantined:
            description += f"; {quarantined} rows quarantined"
    elif blocking_failures:
        description = "failed: " + ", ".join(o.name for o in blocking_failures)
    else:
        description = (
            f"{len(failures_by_row_id)} of {row_count} rows rejected ({share:.2%}), above the "
            f"maximum quarantine share {suite.max_quarantine_share:.2%}"
        )
    return CheckOutcome(suite_check_name(table), passed, description, metadata), outcomes


def missing_table_check(table: str, zone_code: str) -> CheckOutcome:
    """Return the failed check of a suite whose table is not in the warehouse's marts schema."""
    return CheckOutcome(
        suite_check_name(table),
        False,
        f"table marts.{table} is missing in the warehouse: run dbt or remove its suite",
        {"zone_code": zone_code, "table": table, "failed_expectations": ["table_exists"]},
    )
