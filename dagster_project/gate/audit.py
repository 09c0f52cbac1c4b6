"""Audit a candidate: one Great Expectations suite per table, then quarantine rejected rows.

Each table yields one ``suite_<table>`` check. It passes when every blocking expectation passes
and the rows rejected by quarantine expectations stay within the suite's maximum share. Those
rows are then moved out of the candidate.

Row expectations read the table in chunks, so memory stays flat in the table size. When the
candidate starts from the zone's published mart, they read only the rows its update inserted,
because unchanged rows passed the same suite when they were published. The other expectations
(uniqueness) cover the whole table: DuckDB proves distinct keys in one scan, and Great
Expectations reads the columns only when it cannot.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

import duckdb
import pandas as pd

from dagster_project.gate.candidate import count_rows, quote_identifier, table_columns
from dagster_project.gate.checks import CheckOutcome
from dagster_project.gate.quarantine import move_to_quarantine
from dagster_project.gate.row_delta import changed_rows_condition
from dagster_project.gate.suites import MartSuite
from dagster_project.gate.validation import (
    SAMPLE_SIZE,
    ExpectationOutcome,
    SuiteValidator,
    merge_outcomes,
    unevaluated_outcomes,
)

ROW_ID_COLUMN = "__gate_row_id"
# DuckDB hands results over in vectors of 2,048 rows: 100 vectors are about 200,000 rows, or
# some 100 MB of pandas frame for the widest mart table.
CHUNK_VECTORS = 100


def suite_check_name(table: str) -> str:
    return f"suite_{table}"


def rows_to_audit(
    connection: duckdb.DuckDBPyConnection, table: str, changed_rows_only: bool = False
) -> str:
    """Return the query of the rows the row expectations must read, with their rowid.

    Every row, or with ``changed_rows_only`` the rows that the candidate's update from the
    published mart inserted (see row_delta.py).
    """
    quoted = quote_identifier(table)
    query = f"SELECT c.rowid AS {ROW_ID_COLUMN}, c.* FROM {quoted} AS c"
    if changed_rows_only:
        names = [name for name, _ in table_columns(connection, table)]
        query += f" WHERE {changed_rows_condition(table, names, 'c')}"
    return query


def _with_row_ids(
    outcomes: list[ExpectationOutcome], row_ids: pd.Series
) -> list[ExpectationOutcome]:
    """Replace the positions in each outcome's ``unexpected_rows`` by the rows' rowids."""
    return [
        dataclasses.replace(
            outcome, unexpected_rows=tuple(int(row_ids.iloc[p]) for p in outcome.unexpected_rows)
        )
        for outcome in outcomes
    ]


def validate_rows(
    connection: duckdb.DuckDBPyConnection,
    validator: SuiteValidator,
    suite: MartSuite,
    query: str,
    parameters: dict[str, object],
) -> tuple[list[ExpectationOutcome], int]:
    """Run the row expectations on ``query`` chunk by chunk, and return outcomes and rows read."""
    if not suite.row_suite.expectations:
        return [], 0
    connection.execute(query)
    parts: list[list[ExpectationOutcome]] = []
    rows = 0
    columns = [column for column, *_ in connection.description if column != ROW_ID_COLUMN]
    while True:
        # GX reports unexpected rows by index label: number each chunk from 0.
        frame = connection.fetch_df_chunk(CHUNK_VECTORS).reset_index(drop=True)
        if frame.empty:
            break
        row_ids = frame.pop(ROW_ID_COLUMN)
        outcomes, _ = validator.validate(suite, frame, parameters, suite.row_suite)
        parts.append(_with_row_ids(outcomes, row_ids))
        rows += len(frame)
    if not parts:
        return unevaluated_outcomes(suite, suite.row_suite, columns), 0
    return merge_outcomes(parts), rows


def keys_unique(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    keys: tuple[tuple[str, ...], ...] | None,
    present: list[str],
) -> bool:
    """Return whether every column list in ``keys`` has as many distinct values as ``table`` rows.

    Such a table passes Great Expectations' uniqueness expectations on those columns, at the
    cost of one DuckDB scan instead of a pandas frame per column. False when ``keys`` is None, a
    column is missing, or a key has a NULL or a duplicate: Great Expectations then evaluates the
    suite and names the rows at fault.
    """
    if keys is None or not set(present) >= {column for key in keys for column in key}:
        return False
    distinct = [
        "count(DISTINCT (" + ", ".join(quote_identifier(column) for column in key) + "))"
        for key in keys
    ]
    query = f"SELECT count(*), {', '.join(distinct)} FROM {quote_identifier(table)}"
    total, *counts = connection.execute(query).fetchall()[0]
    return all(count == total for count in counts)


def validate_table(
    connection: duckdb.DuckDBPyConnection,
    validator: SuiteValidator,
    suite: MartSuite,
    parameters: dict[str, object],
) -> list[ExpectationOutcome]:
    """Run the whole-table expectations on the columns they read.

    A column missing from the table is left out of the frame, so the expectations that read it
    fail with Great Expectations' own error instead of the query failing.
    """
    if suite.table_suite is None:
        return []
    present = [name for name, _ in table_columns(connection, suite.table)]
    if keys_unique(connection, suite.table, suite.unique_keys, present):
        rows = count_rows(connection, suite.table)
        return unevaluated_outcomes(suite, suite.table_suite, present, element_count=rows)
    needed = present if suite.table_columns is None else suite.table_columns
    columns = ", ".join(
        [f"rowid AS {ROW_ID_COLUMN}"] + [quote_identifier(c) for c in needed if c in present]
    )
    frame = connection.execute(f"SELECT {columns} FROM {quote_identifier(suite.table)}").df()
    row_ids = frame.pop(ROW_ID_COLUMN)
    outcomes, _ = validator.validate(suite, frame, parameters, suite.table_suite)
    return _with_row_ids(outcomes, row_ids)


def audit_table(
    connection: duckdb.DuckDBPyConnection,
    validator: SuiteValidator,
    suite: MartSuite,
    zone_code: str,
    parameters: dict[str, object],
    run_id: str,
    now: datetime,
    changed_rows_only: bool = False,
) -> tuple[CheckOutcome, list[ExpectationOutcome]]:
    """Validate one candidate table, quarantine its rejected rows if allowed, return the check.

    With ``changed_rows_only``, the row expectations read only the rows changed since the
    published mart (see ``rows_to_audit``).
    """
    table = suite.table
    try:
        row_outcomes, audited_rows = validate_rows(
            connection,
            validator,
            suite,
            rows_to_audit(connection, table, changed_rows_only),
            parameters,
        )
        outcomes = row_outcomes + validate_table(connection, validator, suite, parameters)
    except duckdb.ConversionException as error:
        return unreadable_table_check(table, zone_code, error), []
    row_count = count_rows(connection, table)

    blocking_failures = [o for o in outcomes if not o.success and o.on_failure == "block"]
    quarantine_failures = [o for o in outcomes if not o.success and o.on_failure == "quarantine"]
    failures_by_row_id: dict[int, list[str]] = {}
    unusable = []
    for outcome in quarantine_failures:
        if outcome.error or not outcome.unexpected_rows:
            # A table-level expectation (row count, column set) names no rows to move out.
            unusable.append(outcome)
            continue
        for row_id in outcome.unexpected_rows:
            failures_by_row_id.setdefault(row_id, []).append(outcome.name)
    blocking_failures += unusable
    share = len(failures_by_row_id) / row_count if row_count else 0.0
    within_share = share <= suite.max_quarantine_share
    passed = not blocking_failures and within_share

    # Read before the quarantine moves the rejected rows out of the table.
    failures = [
        {**o.as_metadata(), "sample_row_keys": sample_row_keys(connection, suite, o)}
        for o in outcomes
        if not o.success
    ]
    quarantined = 0
    if passed:
        quarantined = move_to_quarantine(connection, table, failures_by_row_id, run_id, now)
    metadata = {
        "zone_code": zone_code,
        "table": table,
        "row_count": row_count,
        "audit_scope": "changed rows" if changed_rows_only else "all rows",
        "audited_rows": audited_rows,
        "rows_after_quarantine": count_rows(connection, table),
        "evaluated_expectations": len(outcomes),
        "successful_expectations": sum(o.success for o in outcomes),
        "failed_expectations": [o.name for o in blocking_failures],
        "quarantined_expectations": [o.name for o in quarantine_failures],
        "quarantined_rows": quarantined,
        "quarantine_share": round(share, 6),
        "max_quarantine_share": suite.max_quarantine_share,
        "failures": failures,
    }
    if passed:
        description = f"{len(outcomes)} expectations passed on {row_count} rows"
        if changed_rows_only:
            description += f" (row expectations on the {audited_rows} changed rows)"
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


def sample_row_keys(
    connection: duckdb.DuckDBPyConnection, suite: MartSuite, outcome: ExpectationOutcome
) -> list[dict]:
    """Return the key columns of a few rows an expectation rejected, to find them in the source.

    The key is the first column list the suite declares unique; without one, nothing.
    """
    if not outcome.unexpected_rows or not suite.unique_keys:
        return []
    key = suite.unique_keys[0]
    present = {name for name, _ in table_columns(connection, suite.table)}
    if not set(key) <= present:
        return []
    row_ids = list(outcome.unexpected_rows[:SAMPLE_SIZE])
    columns = ", ".join(quote_identifier(column) for column in key)
    rows = connection.execute(
        f"SELECT {columns} FROM {quote_identifier(suite.table)} "
        f"WHERE rowid IN ({', '.join('?' for _ in row_ids)}) ORDER BY rowid",
        row_ids,
    ).fetchall()
    return [{column: str(value) for column, value in zip(key, row, strict=True)} for row in rows]


def unreadable_table_check(table: str, zone_code: str, error: Exception) -> CheckOutcome:
    """Return the failed check of a table with a value pandas cannot hold, such as infinity."""
    message = str(error).splitlines()[0]
    return CheckOutcome(
        suite_check_name(table),
        False,
        f"table {table} holds a value that cannot be read for validation ({message}). An "
        "infinite date or timestamp is the usual cause: correct it in the Base Opération or "
        "in the model",
        {"zone_code": zone_code, "table": table, "failed_expectations": ["values_readable"]},
    )


def missing_table_check(table: str, zone_code: str) -> CheckOutcome:
    """Return the failed check of a suite whose table is not in the warehouse's marts schema."""
    return CheckOutcome(
        suite_check_name(table),
        False,
        f"table marts.{table} is missing in the warehouse: run dbt or remove its suite",
        {"zone_code": zone_code, "table": table, "failed_expectations": ["table_exists"]},
    )
