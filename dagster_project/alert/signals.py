"""Signals: one evaluation of one (asset, check), passing or failing, from any source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Signal:
    """The outcome of one check on one asset, as the alerting sees it.

    ``occurrence`` identifies what repeated: the root run id for run-based checks (so retries of
    a run count once), or the missed deadline for freshness checks.
    """

    asset: str
    check: str
    failing: bool
    summary: str = ""
    zone: str | None = None
    since: datetime | None = None
    observed: str = ""
    expected: str = ""
    run_id: str | None = None
    occurrence: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.asset, self.check)


def to_utc(value: object) -> datetime | None:
    """Convert a timestamp (aware or naive datetime, epoch seconds, ISO text) to aware UTC.

    Naive values are read as UTC, because every timestamp in the warehouse is UTC; the host's
    time zone is never consulted.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), tz=UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as error:
            raise ValueError(f"invalid timestamp {value!r}: expected ISO 8601") from error
    else:
        raise ValueError(f"invalid timestamp {value!r} of type {type(value).__name__}")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
