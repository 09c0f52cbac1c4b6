"""Compose alert, reminder and resolution messages for operations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from textwrap import indent
from urllib.parse import quote

from dagster_project.alert.incidents import ALERT, REMINDER, RESOLUTION, Notice
from dagster_project.zones import Zone

TITLE_PREFIX = "[zone-marts]"
STATES = {ALERT: "FAILED", REMINDER: "STILL FAILING", RESOLUTION: "RESOLVED"}


def format_local(moment: datetime, zone: Zone | None) -> str:
    """Format ``moment`` in the zone's local time, or in UTC when no zone applies."""
    if zone is None:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    local = moment.astimezone(zone.tz)
    return local.strftime(f"%Y-%m-%d %H:%M %Z ({zone.time_zone})")


def link_for(notice: Notice, ui_base_url: str) -> str:
    """Return the Dagster UI page of the run behind the signal, else of the asset."""
    if notice.signal.run_id:
        return f"{ui_base_url}/runs/{quote(notice.signal.run_id)}"
    asset_path = notice.signal.asset.split("[", 1)[0]
    return f"{ui_base_url}/assets/{quote(asset_path)}"


def compose(notice: Notice, zones: Mapping[str, Zone], ui_base_url: str) -> tuple[str, str]:
    """Return (title, body) for ``notice``; times are in the zone's local time."""
    signal = notice.signal
    zone = zones.get(signal.zone) if signal.zone else None
    where = f"zone {zone.name} ({zone.code})" if zone else "all zones"
    since = signal.since or notice.opened_at
    title = f"{TITLE_PREFIX} {STATES[notice.kind]}: {signal.check} on {signal.asset}"
    if zone:
        title += f" ({zone.code})"
    lines = [
        f"{signal.check} on {signal.asset}, {where}: {signal.summary}.",
        f"Since: {format_local(since, zone)}",
    ]
    if notice.kind == RESOLUTION:
        lines.append(f"Now: {signal.observed}")
    else:
        lines.append(f"Observed: {signal.observed}")
        lines.append(f"Expected: {signal.expected}")
        lines.append(f"Occurrences: {notice.occurrences}")
    lines.append(f"Dagster: {link_for(notice, ui_base_url)}")
    return title, "\n".join(lines)


def compose_digest(
    notices: Sequence[Notice], zones: Mapping[str, Zone], ui_base_url: str
) -> tuple[str, str]:
    """Return (title, body) of one message carrying several notices, each as ``compose`` writes
    it, for evaluations that find many incidents at once (an outage makes every zone stale)."""
    counts = Counter(notice.kind for notice in notices)
    tally = ", ".join(f"{counts[kind]} {state}" for kind, state in STATES.items() if counts[kind])
    title = f"{TITLE_PREFIX} {len(notices)} incidents: {tally}"
    sections = [
        f"{len(notices)} notices were due in one evaluation, so they come in one message. Each "
        "incident still gets its own reminders and resolution."
    ]
    for notice in notices:
        item_title, item_body = compose(notice, zones, ui_base_url)
        sections.append(
            item_title.removeprefix(TITLE_PREFIX).strip() + "\n" + indent(item_body, "  ")
        )
    return title, "\n\n".join(sections)
