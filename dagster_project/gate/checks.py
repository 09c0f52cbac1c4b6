"""The volume and reconciliation checks, and the outcome type every gate check returns.

Metadata keys are stable: alerting and the Dagster UI read them by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import duckdb

from dagster_project.gate.candidate import MART_SCHEMA
from dagster_project.gate.warehouses import MissingSourceError, Warehouse

VOLUME_CHECK = "volume"
RECONCILIATION_CHECK = "reconciliation"

# A mart table keeps history, so between two publishes it shrinks only by rows deleted in the
# Base Opération, which the extraction caps at 10 % of a source table per run
# (max_delete_share in extract/base_operation.yml). Losing more than 30 % of a zone's table
# therefore means rows were lost on the way (a join that stopped matching, a zone mapping
# change), not deleted at the source.
DEFAULT_MAX_DROP_SHARE = 0.30
# A table that lost this many rows or fewer never blocks, so a 5-row table losing 2 does not.
DEFAULT_MIN_DROPPED_ROWS = 10
# net_amount is rounded to the cent per line on both sides, so the totals match exactly when
# no line is lost or duplicated. One cent absorbs a rounding-mode difference on one line.
DEFAULT_RECONCILIATION_TOLERANCE = Decimal("0.01")

ORDER_LINES_TABLE = "fct_order_lines"
ORDER_LINES_AMOUNT = "net_amount"


@dataclass(frozen=True)
class CheckOutcome:
    """One gate check for one zone: its verdict and the observed values behind it."""

    name: str
    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)


def check_volume(
    zone_code: str,
    row_counts: dict[str, int],
    previous_row_counts: dict[str, int] | None,
    previous_run_id: str | None,
    max_drop_share: float = DEFAULT_MAX_DROP_SHARE,
    min_dropped_rows: int = DEFAULT_MIN_DROPPED_ROWS,
) -> CheckOutcome:
    """Fail when a table lost more than ``max_drop_share`` of its rows since the last publish."""
    metadata = {
        "zone_code": zone_code,
        "row_counts": row_counts,
        "previous_row_counts": previous_row_counts or {},
        "previous_run_id": previous_run_id,
        "max_drop_share": max_drop_share,
        "min_dropped_rows": min_dropped_rows,
    }
    if not previous_row_counts:
        metadata["dropped_tables"] = {}
        return CheckOutcome(
            VOLUME_CHECK, True, "first publish of the zone: nothing to compare", metadata
        )
    dropped = {}
    for table, previous in previous_row_counts.items():
        current = row_counts.get(table, 0)
        lost = previous - current
        if lost > min_dropped_rows and lost / previous > max_drop_share:
            dropped[table] = round(lost / previous, 4)
    metadata["dropped_tables"] = dropped
    if dropped:
        listing = ", ".join(
            f"{table} {previous_row_counts[table]} -> {row_counts.get(table, 0)} rows"
            for table in dropped
        )
        description = f"row count dropped by more than {max_drop_share:.0%}: {listing}"
    else:
        description = f"no table lost more than {max_drop_share:.0%} of its rows"
    return CheckOutcome(VOLUME_CHECK, not dropped, description, metadata)


def check_reconciliation(
    candidate: duckdb.DuckDBPyConnection,
    zone_code: str,
    candidate_tables: list[str],
    warehouse: Warehouse,
    tolerance: Decimal = DEFAULT_RECONCILIATION_TOLERANCE,
) -> CheckOutcome:
    """Compare the candidate's order-line total with the zone's total in the raw tables.

    Run it before quarantine moves rows out, so it checks the transformation alone.
    """
    metadata: dict = {"zone_code": zone_code, "tolerance": str(tolerance)}
    try:
        source_total = warehouse.order_line_total(candidate, zone_code)
    except MissingSourceError as error:
        return CheckOutcome(RECONCILIATION_CHECK, False, str(error), metadata)
    if ORDER_LINES_TABLE not in candidate_tables:
        description = f"mart table {MART_SCHEMA}.{ORDER_LINES_TABLE} missing in the warehouse"
        return CheckOutcome(RECONCILIATION_CHECK, False, description, metadata)
    candidate_total = Decimal(
        str(
            candidate.execute(
                f"select coalesce(sum({ORDER_LINES_AMOUNT}), 0) from {ORDER_LINES_TABLE}"
            ).fetchall()[0][0]
        )
    )
    difference = candidate_total - source_total
    metadata.update(
        candidate_total=format(candidate_total, "f"),
        source_total=format(source_total, "f"),
        difference=format(difference, "f"),
    )
    passed = abs(difference) <= tolerance
    description = (
        f"{ORDER_LINES_TABLE}.{ORDER_LINES_AMOUNT} total {candidate_total} "
        f"{'matches' if passed else 'differs from'} the raw source total {source_total} "
        f"(difference {difference}, tolerance {tolerance})"
    )
    return CheckOutcome(RECONCILIATION_CHECK, passed, description, metadata)
