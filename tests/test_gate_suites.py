"""The suite files: they load whole, match the dbt mart columns, and treat NULL as missing."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from dagster_project.gate.suites import SUITE_PARAMETERS, SuiteError, load_suite, load_suites
from dagster_project.gate.validation import SuiteValidator, suite_parameters
from dagster_project.settings import DBT_PROJECT_DIR, EXPECTATIONS_DIR

MARTS_MODELS_DIR = DBT_PROJECT_DIR / "models" / "marts"


def mart_model_columns() -> dict[str, set[str]]:
    models = {}
    for path in sorted(MARTS_MODELS_DIR.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for model in document.get("models", []):
            models[model["name"]] = {column["name"] for column in model.get("columns", [])}
    return models


def referenced_columns(expectation: dict) -> set[str]:
    kwargs = expectation["kwargs"]
    columns = {kwargs[key] for key in ("column", "column_A", "column_B") if key in kwargs}
    return columns | set(kwargs.get("column_list", []))


def write_suite(directory: Path, table: str, expectations: list[dict], meta=None) -> Path:
    path = directory / f"{table}.json"
    document = {"name": table, "meta": meta or {}, "expectations": expectations}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_every_mart_model_has_a_suite():
    assert set(mart_model_columns()) == set(load_suites(EXPECTATIONS_DIR))


def test_suites_name_existing_columns():
    models = mart_model_columns()
    for path in sorted(EXPECTATIONS_DIR.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        for expectation in document["expectations"]:
            unknown = referenced_columns(expectation) - models[path.stem]
            assert not unknown, f"{path.name}: {expectation['type']} names unknown {unknown}"


def test_misspelled_type_is_rejected(tmp_path):
    path = write_suite(
        tmp_path,
        "t",
        [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}},
            {"type": "expect_colum_values_to_be_unique", "kwargs": {"column": "a"}},
        ],
    )
    with pytest.raises(SuiteError, match="2 expectations declared but 1 loaded"):
        load_suite(path)


def test_invalid_on_failure_is_rejected(tmp_path):
    expectation = {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {"column": "a"},
        "meta": {"on_failure": "ignore"},
    }
    with pytest.raises(SuiteError, match="on_failure='ignore' is invalid"):
        load_suite(write_suite(tmp_path, "t", [expectation]))


def test_nullable_columns_count_missing(tmp_path):
    """NULL in nullable integer, boolean and decimal columns is missing, not unexpected."""
    between = "expect_column_values_to_be_between"
    path = write_suite(
        tmp_path,
        "t",
        [
            {"type": between, "kwargs": {"column": "quantity", "min_value": 0}},
            {"type": between, "kwargs": {"column": "big_quantity", "min_value": 0}},
            {"type": between, "kwargs": {"column": "amount", "min_value": 0}},
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "is_late", "value_set": [True, False]},
            },
            {
                "type": between,
                "kwargs": {"column": "shipped_at", "max_value": {"$PARAMETER": "max_event_at"}},
            },
        ],
    )
    frame = duckdb.sql(
        """
        select * from (values
            (1, 10::BIGINT, 2.50::DECIMAL(12, 2), true, TIMESTAMPTZ '2026-01-01 00:00+00'),
            (NULL, NULL, NULL, NULL, NULL),
            (3, 30::BIGINT, 0.00::DECIMAL(12, 2), false, TIMESTAMPTZ '2026-02-01 00:00+00')
        ) as t (quantity, big_quantity, amount, is_late, shipped_at)
        """
    ).df()
    assert str(frame["quantity"].dtype) == "Int32"
    assert str(frame["big_quantity"].dtype) == "Int64"
    assert str(frame["is_late"].dtype) == "boolean"

    outcomes, _ = SuiteValidator().validate(
        load_suite(path), frame, suite_parameters(datetime(2026, 12, 4, tzinfo=UTC))
    )

    for outcome in outcomes:
        assert outcome.success, outcome
        assert outcome.missing_count == 1, outcome
        assert outcome.unexpected_count == 0, outcome


def test_nullable_column_reports_unexpected_value(tmp_path):
    path = write_suite(
        tmp_path,
        "t",
        [{"type": "expect_column_values_to_be_between", "kwargs": {"column": "q", "min_value": 0}}],
    )
    frame = duckdb.sql("select * from (values (1), (NULL), (-4)) as t (q)").df()
    outcomes, _ = SuiteValidator().validate(load_suite(path), frame, {})
    assert not outcomes[0].success
    assert outcomes[0].unexpected_count == 1
    assert outcomes[0].unexpected_rows == (2,)
    assert outcomes[0].unexpected_sample == ("-4",)


def test_missing_column_fails_with_error(tmp_path):
    path = write_suite(
        tmp_path,
        "t",
        [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "absent"}}],
    )
    frame = duckdb.sql("select 1 as present").df()
    outcomes, _ = SuiteValidator().validate(load_suite(path), frame, {})
    assert not outcomes[0].success
    assert "absent" in outcomes[0].error


@pytest.mark.parametrize(
    ("expectations", "meta", "message"),
    [
        (
            [
                {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": "a", "min_valu": 0},
                }
            ],
            None,
            "invalid suite",
        ),
        ({"type": "expect_column_values_to_not_be_null"}, None, "must be a list"),
        (
            [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}}],
            {"max_quarantine_share": True},
            "max_quarantine_share=True",
        ),
        (
            [
                {
                    "type": "expect_column_values_to_be_unique",
                    "kwargs": {"column": "a"},
                    "meta": {"on_failure": "quarantine"},
                }
            ],
            None,
            "needs a row expectation",
        ),
        ([], None, "no expectations, so the table would be published unaudited"),
        ([{"type": 7, "kwargs": {"column": "a"}}], None, "expectation #1 has type 7"),
        (
            [
                {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": "a", "max_value": {"$PARAMETER": "max_event_day"}},
                }
            ],
            None,
            "uses unknown \\$PARAMETER 'max_event_day'",
        ),
    ],
)
def test_invalid_suite_names_its_file(tmp_path, expectations, meta, message):
    path = write_suite(tmp_path, "t", expectations, meta)
    with pytest.raises(SuiteError, match=message) as raised:
        load_suite(path)
    assert str(path) in str(raised.value)


def test_suite_parameters_are_the_accepted_names():
    assert tuple(suite_parameters(datetime.now(UTC))) == SUITE_PARAMETERS


def test_definitions_load_without_great_expectations():
    # Every run launch loads the definitions, and Great Expectations takes seconds to import.
    script = (
        "import sys, dagster_project.definitions; sys.exit('great_expectations' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
