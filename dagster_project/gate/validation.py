"""Validate candidate tables against their suites with Great Expectations over pandas.

DuckDB is read into pandas (nullable Int32/Int64, boolean and datetime dtypes) because Great
Expectations 1.24 over SQLAlchemy on DuckDB reports every expectation as failed: it reads the
results after the connection is closed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from dagster_project.gate.suites import MartSuite, expectation_columns, expectation_name

if TYPE_CHECKING:
    # Imported where validation starts (SuiteValidator), for the reason given in suites.py.
    import great_expectations as gx

# How far past "now" an event time or date may lie before it counts as a data error. Local
# dates in Indian/Reunion (UTC+4) are already tomorrow's date for four hours of every UTC day,
# and source clocks drift a little, so one day.
EVENT_TOLERANCE = timedelta(days=1)
# Planned and due dates lie in the future legitimately, but past this horizon they are typos
# (2099, 20261 ...).
PLANNING_HORIZON = timedelta(days=3 * 366)
# Rejected values kept per expectation for the report and the check metadata.
SAMPLE_SIZE = 5


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation on one table, reduced to what alerts and reports show."""

    name: str
    expectation_type: str
    success: bool
    on_failure: str
    element_count: int | None
    missing_count: int | None
    unexpected_count: int | None
    observed_value: str | None
    unexpected_sample: tuple[str, ...]
    error: str | None
    unexpected_rows: tuple[int, ...] = field(default=(), repr=False)

    def as_metadata(self) -> dict:
        return {
            "name": self.name,
            "type": self.expectation_type,
            "on_failure": self.on_failure,
            "element_count": self.element_count,
            "missing_count": self.missing_count,
            "unexpected_count": self.unexpected_count,
            "observed_value": self.observed_value,
            "unexpected_sample": list(self.unexpected_sample),
            "error": self.error,
        }


def suite_parameters(now: datetime) -> dict[str, object]:
    """Return the ``$PARAMETER`` values suites may use for bounds relative to the run time.

    ``max_event_at`` compares with UTC timestamps. ``max_event_date`` and ``max_planned_date``
    compare with dates, which DuckDB hands to pandas as naive datetimes.
    """
    now_utc = pd.Timestamp(now).tz_convert("UTC")
    today = now_utc.tz_localize(None).normalize()
    # The names are those of suites.SUITE_PARAMETERS, the only ones load_suite accepts.
    return {
        "max_event_at": now_utc + EVENT_TOLERANCE,
        "max_event_date": today + EVENT_TOLERANCE,
        "max_planned_date": today + PLANNING_HORIZON,
    }


class SuiteValidator:
    """An ephemeral Great Expectations context reused for every table of one audit."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        self._context = gx.get_context(mode="ephemeral")
        self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._batch_definition = (
            self._context.data_sources.add_pandas("candidate")
            .add_dataframe_asset("table")
            .add_batch_definition_whole_dataframe("whole_table")
        )

    def validate(
        self,
        suite: MartSuite,
        frame: pd.DataFrame,
        parameters: dict[str, object],
        expectations: gx.ExpectationSuite | None = None,
    ) -> tuple[list[ExpectationOutcome], object]:
        """Return one outcome per expectation and the raw GX validation result.

        ``expectations`` is a part of ``suite`` (its row or table part) to run instead of the
        whole suite. Rows are identified by their position in ``frame``, which must have a
        RangeIndex.
        """
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(
            suite.suite if expectations is None else expectations,
            result_format={"result_format": "COMPLETE"},
            expectation_parameters=parameters,
        )
        # GX groups expectations by the metrics they share, so results come back out of suite
        # order: name each one from its own configuration.
        outcomes = [_outcome(suite, item) for item in result.results]
        return outcomes, result


def _as_dict(config) -> dict:
    """Return a GX expectation configuration in the form of a suite file's expectation."""
    return {"type": config.type, "kwargs": config.kwargs, "meta": config.meta}


def unevaluated_outcomes(
    suite: MartSuite,
    expectations: gx.ExpectationSuite,
    columns: Iterable[str],
    element_count: int = 0,
) -> list[ExpectationOutcome]:
    """Return the outcomes of expectations that Great Expectations need not evaluate.

    Either they have no row to read, or DuckDB proved them on ``element_count`` rows.
    Each passes unless a column it reads is missing from ``columns``. Building the metric graph
    costs Great Expectations about 0.1 s per suite even on an empty frame, and an audit of
    changed rows often finds none in most tables.
    """
    present = set(columns)
    outcomes = []
    for expectation in expectations.expectations:
        config = expectation.configuration
        raw = _as_dict(config)
        name = expectation_name(raw)
        missing = sorted(set(expectation_columns(raw) or ()) - present)
        outcomes.append(
            ExpectationOutcome(
                name=name,
                expectation_type=config.type,
                success=not missing,
                on_failure=suite.on_failure(name),
                element_count=element_count,
                missing_count=0,
                unexpected_count=0,
                observed_value=None,
                unexpected_sample=(),
                error=f"column(s) not found: {', '.join(missing)}" if missing else None,
            )
        )
    return outcomes


def _total(values: Iterable[int | None]) -> int | None:
    present = [value for value in values if value is not None]
    return sum(present) if present else None


def merge_outcomes(parts: list[list[ExpectationOutcome]]) -> list[ExpectationOutcome]:
    """Combine the outcomes of one suite validated on several chunks of a table, chunk by chunk.

    Only for expectations that judge each row alone: counts add up, the expectation succeeds when
    it succeeds on every chunk, and ``unexpected_rows`` must already name rows, not positions.
    """
    merged = []
    for name in [outcome.name for outcome in parts[0]]:
        outcomes = [next(o for o in part if o.name == name) for part in parts]
        first = outcomes[0]
        sample = [value for outcome in outcomes for value in outcome.unexpected_sample]
        merged.append(
            ExpectationOutcome(
                name=name,
                expectation_type=first.expectation_type,
                success=all(outcome.success for outcome in outcomes),
                on_failure=first.on_failure,
                element_count=_total(outcome.element_count for outcome in outcomes),
                missing_count=_total(outcome.missing_count for outcome in outcomes),
                unexpected_count=_total(outcome.unexpected_count for outcome in outcomes),
                observed_value=next(
                    (o.observed_value for o in outcomes if o.observed_value is not None), None
                ),
                unexpected_sample=tuple(sample[:SAMPLE_SIZE]),
                error=next((outcome.error for outcome in outcomes if outcome.error), None),
                unexpected_rows=tuple(
                    row for outcome in outcomes for row in outcome.unexpected_rows
                ),
            )
        )
    return merged


def _error_message(exception_info: dict) -> str | None:
    """Return the first error message in a GX ``exception_info``, or None.

    GX 1.24 reports an expectation's own error at the top level, but a failed metric (a missing
    column, for instance) under one key per metric.
    """
    candidates = [exception_info, *exception_info.values()]
    for info in candidates:
        if isinstance(info, dict) and info.get("raised_exception"):
            return str(info.get("exception_message"))
    return None


def _outcome(suite: MartSuite, item) -> ExpectationOutcome:
    config = item.expectation_config
    name = expectation_name(_as_dict(config))
    details = item.result or {}
    error = _error_message(item.exception_info or {})
    observed = details.get("observed_value")
    sample = details.get("partial_unexpected_list") or []
    return ExpectationOutcome(
        name=name,
        expectation_type=config.type,
        success=bool(item.success),
        on_failure=suite.on_failure(name),
        element_count=details.get("element_count"),
        missing_count=details.get("missing_count"),
        unexpected_count=details.get("unexpected_count"),
        observed_value=None if observed is None else str(observed),
        unexpected_sample=tuple(str(value) for value in sample[:SAMPLE_SIZE]),
        error=error,
        unexpected_rows=tuple(int(row) for row in details.get("unexpected_index_list") or []),
    )
