"""Compose alert, reminder and resolution messages for operations."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from dagster_project.alert.incidents import ALERT, REMINDER, RESOLUTION, Notice
from dagster_project.zones import Zone

TITLE_PREFIX = "[zone-marts]"


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
    if notice.kind == ALERT:
        state = "FAILED"
    elif notice.kind == REMINDER:
        state = "STILL FAILING"
    else:
        state = "RESOLVED"
    title = f"{TITLE_PREFIX} {state}: {signal.check} on {signal.asset}"
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
