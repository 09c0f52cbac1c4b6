"""Load the Great Expectations suites kept as JSON files in expectations/, one per mart table.

A suite file is the JSON form of ``gx.ExpectationSuite``. The gate reads these ``meta`` keys:

- on an expectation, ``"on_failure": "quarantine"`` moves the rows it rejects to the zone's
  quarantine table instead of blocking the publish (row-level expectations only). The default,
  ``"block"``, blocks the zone. ``"name"`` overrides the derived expectation name.
- on the suite, ``"max_quarantine_share"`` caps the share of a table's rows that may be
  quarantined before the zone is blocked anyway.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Great Expectations takes seconds to import, so only the functions that build suites import
    # it, and loading the definitions (each run launch, the webserver, the CLI) does not.
    import great_expectations as gx

ON_FAILURE_VALUES = ("block", "quarantine")

# Quarantine is meant for a few rows mistyped in the Base Opération. Above 1 % of a table the
# cause is more likely systematic (a broken join, a shifted column), and publishing the remaining
# 99 % would hide it, so the zone is held.
DEFAULT_MAX_QUARANTINE_SHARE = 0.01


# Expectations that judge each row by its own values, so the gate may run them on only the rows
# that changed since the last publish. Any other expectation (uniqueness, a row count, a
# ``mostly`` share) runs on the whole table.
ROW_EXPECTATION_TYPES = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_equal",
    }
)
COLUMN_KWARGS = ("column", "column_A", "column_B")
# Whole-table expectations that DuckDB can prove: a column, or a list of columns, with as many
# distinct non-NULL values as the table has rows passes them, unless a row_condition applies.
UNIQUENESS_TYPES = frozenset(
    {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
)


# Names a suite may give as {"$PARAMETER": name}; validation.suite_parameters sets their values.
SUITE_PARAMETERS = ("max_event_at", "max_event_date", "max_planned_date")


def parameter_names(value: object) -> list[object]:
    """Return every ``$PARAMETER`` name found in an expectation's kwargs, at any depth."""
    if isinstance(value, dict):
        if "$PARAMETER" in value:
            return [value["$PARAMETER"]]
        return [name for item in value.values() for name in parameter_names(item)]
    if isinstance(value, list):
        return [name for item in value for name in parameter_names(item)]
    return []


class SuiteError(ValueError):
    """Error raised for an invalid suite file. It names the file and the expectation at fault."""


@dataclass(frozen=True)
class MartSuite:
    """One table's suite with the gate's reading of its meta keys."""

    table: str
    path: Path
    suite: gx.ExpectationSuite
    names: tuple[str, ...]
    quarantined_names: frozenset[str]
    max_quarantine_share: float
    row_suite: gx.ExpectationSuite
    """The row expectations, which may run on changed rows only, chunk by chunk."""
    table_suite: gx.ExpectationSuite | None
    """The other expectations, which run on the whole table."""
    table_columns: tuple[str, ...] | None
    """The columns ``table_suite`` reads, or None when it may read any column."""
    unique_keys: tuple[tuple[str, ...], ...] | None
    """The column lists of ``table_suite`` if it has only uniqueness expectations, else None."""
    fingerprint: str
    """SHA-256 of the suite file: a changed suite audits every row again."""

    def on_failure(self, name: str) -> str:
        """Return what a failure of expectation ``name`` does: "quarantine" or "block"."""
        return "quarantine" if name in self.quarantined_names else "block"


def is_row_expectation(expectation: dict) -> bool:
    kwargs = expectation.get("kwargs") or {}
    return expectation["type"] in ROW_EXPECTATION_TYPES and kwargs.get("mostly", 1) == 1


def expectation_columns(expectation: dict) -> list[str] | None:
    """Return the columns an expectation reads, or None when its kwargs name none."""
    kwargs = expectation.get("kwargs") or {}
    columns = [str(kwargs[key]) for key in COLUMN_KWARGS if kwargs.get(key)]
    columns += [str(column) for column in kwargs.get("column_list") or []]
    return columns or None


def _part_suite(document: dict, part: str, expectations: list[dict]) -> gx.ExpectationSuite:
    import great_expectations as gx

    fields = {key: value for key, value in document.items() if key not in ("id", "expectations")}
    return gx.ExpectationSuite(
        **{**fields, "name": f"{document.get('name', 'suite')}.{part}"},
        expectations=expectations,
    )


def expectation_name(expectation: dict) -> str:
    """Return ``meta.name`` or ``<type>:<columns>``, stable across runs for alerts and logs."""
    meta = expectation.get("meta") or {}
    if meta.get("name"):
        return str(meta["name"])
    kwargs = expectation.get("kwargs") or {}
    columns = [
        str(kwargs[key]) for key in ("column", "column_A", "column_B") if kwargs.get(key)
    ] + [str(column) for column in kwargs.get("column_list") or []]
    return f"{expectation['type']}:{','.join(columns)}" if columns else expectation["type"]


def load_suite(path: Path) -> MartSuite:
    """Read one suite file, raising SuiteError if an expectation is dropped or ambiguous."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SuiteError(f"{path}: invalid JSON ({error})") from error
    if not isinstance(document, dict):
        raise SuiteError(f"{path}: expected a JSON object with 'name' and 'expectations'")
    raw_expectations = document.get("expectations") or []
    if not isinstance(raw_expectations, list):
        raise SuiteError(f"{path}: 'expectations' must be a list of expectations")
    if not raw_expectations:
        raise SuiteError(
            f"{path}: no expectations, so the table would be published unaudited; add at "
            "least one expectation"
        )
    for position, expectation in enumerate(raw_expectations):
        if not isinstance(expectation, dict) or "type" not in expectation:
            raise SuiteError(f"{path}: expectation #{position + 1} has no 'type'")
        if not isinstance(expectation["type"], str):
            raise SuiteError(
                f"{path}: expectation #{position + 1} has type {expectation['type']!r}; a type "
                "is the name of a Great Expectations expectation"
            )
        unknown = sorted(set(parameter_names(expectation.get("kwargs"))) - set(SUITE_PARAMETERS))
        if unknown:
            raise SuiteError(
                f"{path}: expectation #{position + 1} ({expectation['type']}) uses unknown "
                f"$PARAMETER {', '.join(map(repr, unknown))}; known: {', '.join(SUITE_PARAMETERS)}"
            )
    import great_expectations as gx

    # GX logs and drops an expectation whose type or arguments are invalid instead of raising,
    # so a typo would silently remove a check: compare the counts.
    gx_logger = logging.getLogger("great_expectations.core.expectation_suite")
    previous_level = gx_logger.level
    gx_logger.setLevel(logging.CRITICAL)
    try:
        suite = gx.ExpectationSuite(**document)
    except (TypeError, ValueError) as error:
        # pydantic's ValidationError, raised for invalid kwargs, is a ValueError.
        raise SuiteError(f"{path}: invalid suite ({error})") from error
    finally:
        gx_logger.setLevel(previous_level)
    if len(suite.expectations) != len(raw_expectations):
        loaded = {expectation.expectation_type for expectation in suite.expectations}
        dropped = [e["type"] for e in raw_expectations if e["type"] not in loaded]
        raise SuiteError(
            f"{path}: {len(raw_expectations)} expectations declared but "
            f"{len(suite.expectations)} loaded. Check the type and kwargs of: "
            f"{', '.join(dropped) or 'an expectation with invalid kwargs'}"
        )
    names = tuple(expectation_name(expectation) for expectation in raw_expectations)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SuiteError(
            f"{path}: expectation name(s) used twice: {', '.join(duplicates)}. "
            "Set a distinct meta.name on each."
        )
    quarantined = set()
    for name, expectation in zip(names, raw_expectations, strict=True):
        on_failure = (expectation.get("meta") or {}).get("on_failure", "block")
        if on_failure not in ON_FAILURE_VALUES:
            raise SuiteError(
                f"{path}: expectation {name}: meta.on_failure={on_failure!r} is invalid. "
                f"Use one of {', '.join(ON_FAILURE_VALUES)}."
            )
        if on_failure == "quarantine":
            quarantined.add(name)
    row_expectations = [e for e in raw_expectations if is_row_expectation(e)]
    table_expectations = [e for e in raw_expectations if not is_row_expectation(e)]
    for name, expectation in zip(names, raw_expectations, strict=True):
        if name in quarantined and not is_row_expectation(expectation):
            raise SuiteError(
                f"{path}: expectation {name}: meta.on_failure='quarantine' needs a row "
                f"expectation ({', '.join(sorted(ROW_EXPECTATION_TYPES))}) without 'mostly'"
            )
    table_columns: set[str] | None = set()
    for expectation in table_expectations:
        columns = expectation_columns(expectation)
        table_columns = (
            None if columns is None or table_columns is None else table_columns | set(columns)
        )
    unique_keys = tuple(tuple(expectation_columns(e) or ()) for e in table_expectations)
    provable = all(unique_keys) and all(
        e["type"] in UNIQUENESS_TYPES and not (e.get("kwargs") or {}).get("row_condition")
        for e in table_expectations
    )
    share = (document.get("meta") or {}).get("max_quarantine_share", DEFAULT_MAX_QUARANTINE_SHARE)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise SuiteError(f"{path}: meta.max_quarantine_share={share!r} must be between 0 and 1")
    return MartSuite(
        table=path.stem,
        path=path,
        suite=suite,
        names=names,
        quarantined_names=frozenset(quarantined),
        max_quarantine_share=float(share),
        row_suite=_part_suite(document, "rows", row_expectations),
        table_suite=_part_suite(document, "table", table_expectations)
        if table_expectations
        else None,
        table_columns=None if table_columns is None else tuple(sorted(table_columns)),
        unique_keys=unique_keys if provable else None,
        fingerprint=hashlib.sha256(path.read_bytes()).hexdigest(),
    )


def load_suites(directory: Path) -> dict[str, MartSuite]:
    """Load every ``<table>.json`` in ``directory``, keyed by mart table name."""
    suites = {path.stem: load_suite(path) for path in sorted(directory.glob("*.json"))}
    if not suites:
        raise SuiteError(f"{directory}: no suite file (<mart table>.json) found")
    return suites


def suite_tables(directory: Path) -> list[str]:
    """Return the mart tables that have a suite file, without loading Great Expectations."""
    return sorted(path.stem for path in directory.glob("*.json"))
