"""Freshness status of the dashboard banner, on a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster_project.zones import load_zones
from dashboard.publish_state import FRESH, LATE, STALE, freshness_status

ZONES = {zone.code: zone for zone in load_zones()}
# Thursday 3 December 2026, 10:00 in Paris (09:00 UTC): after the 09:00 mart deadline.
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_recent_publish_is_fresh():
    status, missed = freshness_status(ZONES["idf"], NOW - timedelta(minutes=30), NOW)
    assert status == FRESH
    assert missed is None


def test_publish_before_deadline_window_is_late():
    # The 09:00 deadline with a 1 h lower bound needs a publish at or after 07:00 UTC (08:00 Paris).
    published_at = datetime(2026, 12, 3, 6, 30, tzinfo=UTC)
    status, missed = freshness_status(ZONES["idf"], published_at, NOW)
    assert status == LATE
    assert missed == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def test_quiet_weekend_is_stale_not_late():
    # Sunday 6 December, 12:00 UTC: no deadline on a weekend, but three hours without a publish.
    sunday = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    status, missed = freshness_status(ZONES["idf"], sunday - timedelta(hours=3), sunday)
    assert status == STALE
    assert missed is None
