"""Signals from Dagster runs and asset check evaluations, without a Dagster instance."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dagster_project.alert.signals import Signal

PARTITION_TAG = "dagster/partition"
ROOT_RUN_TAG = "dagster/root_run_id"
RUN_FAILURE_CHECK = "run_failure"
MASS_DELETE_CHECK = "mass_delete_guard"
MASS_DELETE_ERROR = "MassDeleteRefused"
MAX_OBSERVED_CHARS = 500


def root_run_id(run_id: str, tags: Mapping[str, str]) -> str:
    """Return the id of the first run in a retry chain: retries of one run count once."""
    return tags.get(ROOT_RUN_TAG) or run_id


def run_asset(job_name: str, tags: Mapping[str, str]) -> str:
    """Name a job's runs as an alerting asset, one per partition: ``job/publish_zones/idf``.

    A run failure and the next success share this name, so one zone's success never resolves
    another zone's failure, and each zone's failure is an incident of its own.
    """
    partition = tags.get(PARTITION_TAG)
    return f"job/{job_name}/{partition}" if partition else f"job/{job_name}"


def shortened(text: str) -> str:
    """Cut ``text`` to MAX_OBSERVED_CHARS at a space, marking the cut with an ellipsis."""
    if len(text) <= MAX_OBSERVED_CHARS:
        return text
    return text[: MAX_OBSERVED_CHARS - 1].rsplit(" ", 1)[0] + "…"


def run_failure_signal(
    job_name: str,
    run_id: str,
    tags: Mapping[str, str],
    errors: Iterable[str],
    zone_codes: Iterable[str] = (),
) -> Signal:
    """Describe a failed run. A rejected mass delete gets its own check, so it is alerted apart."""
    listed = [error.strip() for error in errors if error and error.strip()]
    refused = any(MASS_DELETE_ERROR in error for error in listed)
    # The first error whole, its lines joined: a failed blocking check names the check on the
    # line after "1 blocking asset check failed with ERROR severity:".
    first_line = " ".join(listed[0].split()) if listed else "no error message recorded"
    return Signal(
        asset=run_asset(job_name, tags),
        check=MASS_DELETE_CHECK if refused else RUN_FAILURE_CHECK,
        failing=True,
        summary="deletes refused by the mass-delete guard" if refused else "run failed",
        zone=_zone_of(tags.get(PARTITION_TAG), zone_codes),
        observed=shortened(first_line),
        expected="a successful run",
        run_id=run_id,
        occurrence=root_run_id(run_id, tags),
    )


def run_success_signals(
    job_name: str, run_id: str, tags: Mapping[str, str], zone_codes: Iterable[str] = ()
) -> list[Signal]:
    """Return passing signals for every run-level check of ``job_name``."""
    return [
        Signal(
            asset=run_asset(job_name, tags),
            check=check,
            failing=False,
            summary="run succeeded",
            zone=_zone_of(tags.get(PARTITION_TAG), zone_codes),
            observed=f"run {run_id} succeeded",
            run_id=run_id,
            occurrence=root_run_id(run_id, tags),
        )
        for check in (RUN_FAILURE_CHECK, MASS_DELETE_CHECK)
    ]


def check_evaluation_signal(
    asset_path: Iterable[str],
    check_name: str,
    passed: bool,
    metadata: Mapping[str, object],
    run_id: str,
    tags: Mapping[str, str],
    partition: str | None = None,
    zone_codes: Iterable[str] = (),
) -> Signal:
    """Describe one asset check evaluation; the partition, when a zone code, names the zone."""
    asset = "/".join(asset_path)
    if partition:
        asset += f"[{partition}]"
    observed = ", ".join(f"{name}={value}" for name, value in sorted(metadata.items()))
    return Signal(
        asset=asset,
        check=check_name,
        failing=not passed,
        summary="check passed" if passed else "check failed",
        zone=_zone_of(partition, zone_codes),
        observed=shortened(observed) or "no metadata recorded",
        expected="check passes",
        run_id=run_id,
        occurrence=root_run_id(run_id, tags),
    )


def _zone_of(partition: str | None, zone_codes: Iterable[str]) -> str | None:
    return partition if partition in set(zone_codes) else None
