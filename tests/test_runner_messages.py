"""The one-line failure message the command line prints for a failed run."""

from __future__ import annotations

import dagster as dg
import duckdb

from dagster_project.extract.loader import LoadError
from dagster_project.runner import failure_message
from dagster_project.settings import SettingsError


def failed_run(error: Exception) -> dg.ExecuteInProcessResult:
    @dg.op(name="extract_orders")
    def failing_op():
        raise error

    @dg.job(name="refresh")
    def job():
        failing_op()

    with dg.instance_for_test() as instance:
        return job.execute_in_process(instance=instance, raise_on_error=False)


def test_message_names_own_error_not_its_cause():
    try:
        try:
            raise duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block")
        except duckdb.OutOfMemoryException as cause:
            raise LoadError("table 'orders': raise ZONE_MARTS_EXTRACT_MEMORY_LIMIT") from cause
    except LoadError as error:
        result = failed_run(error)
    message = failure_message(result)
    assert message == (
        "step extract_orders: LoadError: table 'orders': raise ZONE_MARTS_EXTRACT_MEMORY_LIMIT"
    )


def test_message_keeps_class_name_once():
    message = failure_message(failed_run(SettingsError("VARIABLE='lots' is invalid")))
    assert message == "step extract_orders: SettingsError: VARIABLE='lots' is invalid"


def test_message_falls_back_to_innermost_cause():
    message = failure_message(failed_run(ValueError("bad value")))
    assert message == "step extract_orders: ValueError: bad value"
