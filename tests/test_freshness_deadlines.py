"""Freshness deadlines in zone local time: weekends, holidays, DST, host time zone."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alert_receivers import WebhookReceiver

from dagster_project.alert.dispatch import AlertDispatcher, AppriseSender
from dagster_project.alert.freshness import (
    deadline_on,
    evaluate_deadline,
    evaluate_heartbeat,
    evaluate_zone_freshness,
)
from dagster_project.alert.incidents import IncidentStore
from dagster_project.alert.signals import to_utc
from dagster_project.zones import DeadlineRule, load_zones

PARIS = ZoneInfo("Europe/Paris")
NINE = DeadlineRule(
    deadline=datetime.strptime("09:00", "%H:%M").time(), lower_bound=timedelta(hours=1)
)


@pytest.fixture
def idf():
    return next(zone for zone in load_zones() if zone.code == "idf")


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


def mart_signal(zone, published_at, now):
    return evaluate_deadline(
        zone, NINE, published_at, now, asset="zone_mart[idf]", check="mart", what="publish"
    )


def test_weekend_quiet_until_monday_deadline(tmp_path, idf):
    receiver = WebhookReceiver()
    receiver.start()
    now = paris(2026, 3, 6, 18, 0)
    dispatcher = AlertDispatcher(
        IncidentStore(tmp_path / "state.sqlite", timedelta(hours=4)),
        [idf],
        "http://127.0.0.1:3000",
        AppriseSender([receiver.url]),
        clock=lambda: now,
    )
    last_change = paris(2026, 3, 6, 17, 30)
    alerts_before_monday_deadline = None
    try:
        while now <= paris(2026, 3, 9, 10, 30):
            if now == paris(2026, 3, 9, 10, 0):
                alerts_before_monday_deadline = len(receiver.bodies)
            signals = evaluate_zone_freshness(
                idf,
                now,
                source_watermarks={"sales_orders": last_change},
                last_publish=now - timedelta(minutes=10),
            )
            heartbeat = evaluate_heartbeat(
                now - timedelta(minutes=10), timedelta(hours=2), now, asset="base_operation"
            )
            sales = [s for s in signals if s.asset == "base_operation/sales_orders"]
            dispatcher.handle(sales + [heartbeat])
            now += timedelta(minutes=30)
    finally:
        receiver.stop()
    assert alerts_before_monday_deadline == 0
    assert len(receiver.bodies) == 1
    assert "data_freshness[idf] on base_operation/sales_orders" in receiver.titles[0]
    assert "Since: 2026-03-09 10:00 CET (Europe/Paris)" in receiver.bodies[0]["message"]


def test_missed_run_alerts_on_sunday_night(tmp_path, idf):
    receiver = WebhookReceiver()
    receiver.start()
    now = paris(2026, 3, 8, 3, 0)
    dispatcher = AlertDispatcher(
        IncidentStore(tmp_path / "state.sqlite", timedelta(hours=4)),
        [idf],
        "http://127.0.0.1:3000",
        AppriseSender([receiver.url]),
        clock=lambda: now,
    )
    signal = evaluate_heartbeat(
        paris(2026, 3, 7, 23, 0), timedelta(hours=2), now, asset="zone_mart[idf]", zone=idf
    )
    try:
        dispatcher.handle([signal])
    finally:
        receiver.stop()
    assert signal.failing
    assert len(receiver.bodies) == 1
    assert "heartbeat on zone_mart[idf]" in receiver.titles[0]
    assert "Since: 2026-03-08 01:00 CET" in receiver.bodies[0]["message"]


def test_never_run_heartbeat_fails(idf):
    signal = evaluate_heartbeat(None, timedelta(hours=2), paris(2026, 3, 8, 3), asset="x")
    assert signal.failing
    assert signal.observed == "no successful run recorded"


def test_public_holiday_has_no_deadline(idf):
    # 11 November 2026 (Armistice) is a Wednesday and a public holiday in France.
    tuesday_publish = paris(2026, 11, 10, 8, 30)
    assert not mart_signal(idf, tuesday_publish, paris(2026, 11, 11, 15, 0)).failing
    assert mart_signal(idf, tuesday_publish, paris(2026, 11, 12, 9, 0)).failing


def test_reunion_holiday_uses_subdivision(idf):
    reunion = next(zone for zone in load_zones() if zone.code == "reunion")
    # 20 December (abolition of slavery) is a public holiday in La Réunion only; 2027 is a Monday.
    reunion_signal = evaluate_deadline(
        reunion,
        NINE,
        datetime(2027, 12, 17, 8, 30, tzinfo=reunion.tz),
        datetime(2027, 12, 20, 15, 0, tzinfo=reunion.tz),
        asset="m",
        check="c",
        what="publish",
    )
    mainland_signal = mart_signal(idf, paris(2027, 12, 17, 8, 30), paris(2027, 12, 20, 15, 0))
    assert not reunion_signal.failing
    assert mainland_signal.failing


def test_nine_o_clock_holds_across_march_dst(idf):
    # Summer time starts on Sunday 29 March 2026: 09:00 is 08:00 UTC before, 07:00 UTC after.
    assert deadline_on(idf, datetime(2026, 3, 27).date(), NINE) == datetime(
        2026, 3, 27, 8, 0, tzinfo=UTC
    )
    assert deadline_on(idf, datetime(2026, 3, 30).date(), NINE) == datetime(
        2026, 3, 30, 7, 0, tzinfo=UTC
    )
    friday_publish = paris(2026, 3, 27, 8, 30)
    assert not mart_signal(idf, friday_publish, datetime(2026, 3, 30, 6, 59, tzinfo=UTC)).failing
    assert mart_signal(idf, friday_publish, datetime(2026, 3, 30, 7, 0, tzinfo=UTC)).failing


def test_nine_o_clock_holds_across_november(idf):
    # Summer time ended on 25 October 2026, so 09:00 in November is 08:00 UTC.
    friday_publish = paris(2026, 10, 30, 8, 30)
    before = mart_signal(idf, friday_publish, datetime(2026, 11, 2, 7, 59, tzinfo=UTC))
    after = mart_signal(idf, friday_publish, datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    assert not before.failing
    assert after.failing
    assert after.since == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def test_publish_before_lower_bound_is_late(idf):
    too_early = paris(2026, 11, 2, 7, 59)
    on_time = paris(2026, 11, 2, 8, 0)
    now = paris(2026, 11, 2, 9, 30)
    assert mart_signal(idf, too_early, now).failing
    assert not mart_signal(idf, on_time, now).failing


@pytest.mark.parametrize("host_tz", ["UTC", "America/New_York", "Asia/Tokyo", "Indian/Reunion"])
def test_same_age_whatever_host_tz(monkeypatch, idf, host_tz):
    monkeypatch.setenv("TZ", host_tz)
    time.tzset()
    try:
        # A naive watermark, as a warehouse TIMESTAMP column returns it, is read as UTC.
        last = to_utc("2026-03-07T22:00:00")
        now = datetime(2026, 3, 8, 2, 0, tzinfo=UTC)
        heartbeat = evaluate_heartbeat(last, timedelta(hours=5), now, asset="x")
        mart = mart_signal(idf, last, paris(2026, 3, 9, 9, 0))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert last == datetime(2026, 3, 7, 22, 0, tzinfo=UTC)
    assert not heartbeat.failing
    assert heartbeat.observed == "last success 2026-03-07 22:00 UTC"
    assert mart.since == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
