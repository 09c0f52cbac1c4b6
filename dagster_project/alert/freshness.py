"""Freshness evaluation against zone deadlines, with an injected clock.

Two signals are kept apart:

- heartbeat: did our pipeline extract and publish within ``heartbeat_max_interval``? It uses the
  pipeline's own materialization times and fails at any hour, because a run that did not happen
  is an incident even on a Sunday night.
- data freshness: has the source produced new data? It uses the source's own last cursor value
  (the extraction watermark) and the publish time of the zone's mart, and fails only once a
  deadline has passed on a due day (a business day unless the rule says every day).

All arithmetic is done on aware UTC datetimes; local time only decides where deadlines fall, so
the host's TZ setting changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import holidays

from dagster_project.alert.messages import format_local
from dagster_project.alert.signals import Signal
from dagster_project.zones import DeadlineRule, Zone

# Far enough back to cover the longest run of non-working days (Christmas week plus a weekend),
# short enough to keep one evaluation cheap.
MAX_LOOKBACK_DAYS = 31

HEARTBEAT_CHECK = "heartbeat"
DATA_FRESHNESS_CHECK = "data_freshness"
MART_FRESHNESS_CHECK = "mart_freshness"


@lru_cache(maxsize=64)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return frozenset(calendar.keys())


def is_business_day(zone: Zone, day: date) -> bool:
    """Return whether ``day`` is a working day of the zone and not one of its public holidays."""
    if day.isoweekday() not in zone.working_days:
        return False
    return day not in _public_holidays(zone.holiday_country, zone.holiday_subdivision, day.year)


def deadline_on(zone: Zone, day: date, rule: DeadlineRule) -> datetime:
    """Return the UTC instant of ``rule.deadline`` on local ``day`` in the zone's time zone.

    zoneinfo applies the offset in force on that date, so 09:00 in Paris is 08:00 UTC in
    winter and 07:00 UTC in summer.
    """
    local = datetime.combine(day, rule.deadline, tzinfo=zone.tz)
    return local.astimezone(UTC)


def passed_deadlines(zone: Zone, rule: DeadlineRule, now: datetime) -> Iterator[datetime]:
    """Yield the due deadlines at or before ``now``, latest first, for up to 31 days back."""
    today = now.astimezone(zone.tz).date()
    for offset in range(MAX_LOOKBACK_DAYS + 1):
        day = today - timedelta(days=offset)
        if not rule.every_day and not is_business_day(zone, day):
            continue
        deadline = deadline_on(zone, day, rule)
        if deadline <= now:
            yield deadline


def first_missed_deadline(
    zone: Zone, rule: DeadlineRule, observed_at: datetime | None, now: datetime
) -> datetime | None:
    """Return the earliest passed deadline that ``observed_at`` does not meet, or None if met.

    A deadline D is met when ``observed_at >= D - rule.lower_bound``. Deadlines are checked
    latest first: once one is met, every earlier one is met too.
    """
    missed = None
    for deadline in passed_deadlines(zone, rule, now):
        if observed_at is not None and observed_at >= deadline - rule.lower_bound:
            break
        missed = deadline
    return missed


def evaluate_deadline(
    zone: Zone,
    rule: DeadlineRule,
    observed_at: datetime | None,
    now: datetime,
    *,
    asset: str,
    check: str,
    what: str,
) -> Signal:
    """Evaluate one deadline rule; ``what`` names the observed time in the message."""
    missed = first_missed_deadline(zone, rule, observed_at, now)
    # With nothing ever observed, the first missed deadline is only the end of the lookback.
    since = missed if observed_at is not None else None
    local_deadline = rule.deadline.strftime("%H:%M")
    expected = f"{what} at or after {local_deadline} - {_format_delta(rule.lower_bound)} local"
    observed = format_local(observed_at, zone) if observed_at else "none recorded"
    return Signal(
        asset=asset,
        check=check,
        failing=missed is not None,
        summary=f"no new {what} by the {local_deadline} deadline" if missed else "on time",
        zone=zone.code,
        since=since,
        observed=f"{what} {observed}",
        expected=expected,
        occurrence=missed.isoformat() if missed else None,
    )


def evaluate_heartbeat(
    last_success: datetime | None,
    max_interval: timedelta,
    now: datetime,
    *,
    asset: str,
    zone: Zone | None = None,
) -> Signal:
    """Evaluate the pipeline heartbeat: fails at any hour when the last success is too old."""
    interval = _format_delta(max_interval)
    if last_success is None:
        failing, since, observed = True, None, "no successful run recorded"
    else:
        since = last_success + max_interval
        failing = now > since
        observed = f"last success {format_local(last_success, zone)}"
    return Signal(
        asset=asset,
        check=HEARTBEAT_CHECK,
        failing=failing,
        summary=f"no successful run for more than {interval}" if failing else "running",
        zone=zone.code if zone else None,
        since=since if failing else None,
        observed=observed,
        expected=f"a successful run at least every {interval}",
        # One occurrence per missed interval, so a reminder counts the intervals missed.
        occurrence=str(int((now - last_success) / max_interval)) if last_success else "never",
    )


def evaluate_zone_freshness(
    zone: Zone,
    now: datetime,
    *,
    source_watermarks: Mapping[str, datetime | None],
    last_publish: datetime | None,
) -> list[Signal]:
    """Evaluate the zone's mart deadline and each declared source-table deadline."""
    signals = []
    if zone.freshness.mart is not None:
        signals.append(
            evaluate_deadline(
                zone,
                zone.freshness.mart,
                last_publish,
                now,
                asset=f"zone_mart[{zone.code}]",
                check=MART_FRESHNESS_CHECK,
                what="publish",
            )
        )
    for table, rule in zone.freshness.sources:
        signals.append(
            evaluate_deadline(
                zone,
                rule,
                source_watermarks.get(table),
                now,
                asset=f"base_operation/{table}",
                # NOTE: the watermark is per table, not per zone, so a table counts as fresh
                # for every zone as soon as any zone's rows move.
                check=f"{DATA_FRESHNESS_CHECK}[{zone.code}]",
                what="source data",
            )
        )
    return signals


def _format_delta(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"
