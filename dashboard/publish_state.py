"""What the banner says: when the mart was last validated, and whether that is fresh enough."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from dagster_project.alert.freshness import first_missed_deadline
from dagster_project.publish.log import PUBLISH_LOG_TABLE
from dagster_project.zones import Zone
from dashboard.mart_access import MartSession, MartUnreadableError

FRESH = "fresh"
LATE = "late"
STALE = "stale"


@dataclass(frozen=True)
class PublishState:
    """The latest validated publish of the zone's mart and its freshness at ``now``.

    ``status`` is FRESH, LATE (a publish deadline of the zone was missed) or STALE (no publish
    for longer than the zone's heartbeat interval); None when nothing was published.
    """

    published_at: datetime | None
    run_id: str | None
    checks_passed: int | None
    status: str | None
    missed_deadline: datetime | None = None


def _as_utc(value: object) -> datetime:
    moment = pd.Timestamp(value).to_pydatetime()
    if moment.tzinfo is None:
        # The publish log stores UTC; a naive value is UTC without its offset.
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def freshness_status(
    zone: Zone, published_at: datetime, now: datetime
) -> tuple[str, datetime | None]:
    """Return the status of a publish at ``now`` and the first zone deadline it misses."""
    rule = zone.freshness.mart
    missed = first_missed_deadline(zone, rule, published_at, now) if rule else None
    if missed is not None:
        return LATE, missed
    if now - published_at > zone.freshness.heartbeat_max_interval:
        return STALE, None
    return FRESH, None


def read_publish_state(session: MartSession, zone: Zone, now: datetime) -> PublishState:
    """Read the latest row of the mart's publish log; an empty or missing log gives no status."""
    if PUBLISH_LOG_TABLE not in session.tables():
        return PublishState(None, None, None, None)
    latest = session.query(
        f"select run_id, published_at, checks_passed, zone_code from {PUBLISH_LOG_TABLE} "
        "order by published_at desc limit 1"
    )
    if latest.empty or pd.isna(latest.loc[0, "published_at"]):
        return PublishState(None, None, None, None)
    row = latest.loc[0]
    if row["zone_code"] != zone.code:
        # A file copied or restored under the wrong name: its rows are another zone's.
        raise MartUnreadableError(
            f"the mart was published for zone {row['zone_code']}, not for zone {zone.code}"
        )
    published_at = _as_utc(row["published_at"])
    status, missed = freshness_status(zone, published_at, now)
    # checks_passed lists the names of the checks the publish passed.
    checks = row.get("checks_passed")
    return PublishState(
        published_at=published_at,
        run_id=str(row["run_id"]),
        checks_passed=None if checks is None else len(checks),
        status=status,
        missed_deadline=missed,
    )
