"""Storm control end to end: real SMTP and web hook receivers, an injected clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alert_receivers import SmtpReceiver, WebhookReceiver

from dagster_project.alert.dispatch import AlertDispatcher, AppriseSender, DispatchReport
from dagster_project.alert.incidents import IncidentStore
from dagster_project.alert.run_signals import run_failure_signal, run_success_signals
from dagster_project.alert.signals import Signal
from dagster_project.zones import load_zones

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    receiver.controller.start()
    yield receiver
    receiver.controller.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


def make_dispatcher(tmp_path, receivers: list[str], clock: Clock) -> AlertDispatcher:
    return AlertDispatcher(
        store=IncidentStore(tmp_path / "state.sqlite", reminder_interval=timedelta(hours=4)),
        zones=load_zones(),
        ui_base_url="http://127.0.0.1:3000",
        sender=AppriseSender(receivers),
        clock=clock,
    )


def failed_attempt(root: str, attempt: int):
    run_id = root if attempt == 0 else f"{root}-retry{attempt}"
    tags = {} if attempt == 0 else {"dagster/root_run_id": root}
    return run_failure_signal("refresh", run_id, tags, ["DuckDBError: disk full"])


def fail_twice_with_receiver_up(
    dispatcher: AlertDispatcher,
    clock: Clock,
    receiver: WebhookReceiver,
    step: timedelta,
    first_run: int,
) -> DispatchReport:
    """Start ``receiver``, handle two failed runs ``step`` apart, return the first one's report."""
    receiver.start()
    try:
        clock.now += step
        report = dispatcher.handle([failed_attempt(f"run{first_run}", 0)])
        clock.now += step
        dispatcher.handle([failed_attempt(f"run{first_run + 1}", 0)])
    finally:
        receiver.stop()
    return report


def test_five_hour_incident_sends_three_messages(tmp_path, smtp, webhook):
    clock = Clock(START)
    dispatcher = make_dispatcher(tmp_path, [smtp.url, webhook.url], clock)
    for run in range(11):
        clock.now = START + timedelta(minutes=30 * run)
        for attempt in range(4):
            dispatcher.handle([failed_attempt(f"run{run}", attempt)])
    clock.now = START + timedelta(minutes=330)
    dispatcher.handle(run_success_signals("refresh", "run11", {}))
    dispatcher.handle(run_success_signals("refresh", "run12", {}))

    assert len(webhook.bodies) == 3
    assert "FAILED: run_failure on job/refresh" in webhook.titles[0]
    assert "STILL FAILING" in webhook.titles[1]
    assert "Occurrences: 9" in webhook.bodies[1]["message"]
    assert "RESOLVED" in webhook.titles[2]
    assert len(smtp.messages) == 3
    assert "http://127.0.0.1:3000/runs/run0" in smtp.messages[0]


def test_alert_body_names_error_and_run(tmp_path, webhook):
    dispatcher = make_dispatcher(tmp_path, [webhook.url], Clock(START))
    dispatcher.handle([failed_attempt("run7", 0)])
    body = webhook.bodies[0]["message"]
    assert "Observed: DuckDBError: disk full" in body
    assert "Since: 2026-03-02 08:00 UTC" in body
    assert "http://127.0.0.1:3000/runs/run7" in body


def test_failed_delivery_retried_until_received(tmp_path):
    receiver = WebhookReceiver()
    clock = Clock(START)
    dispatcher = make_dispatcher(tmp_path, [receiver.url], clock)

    first = dispatcher.handle([failed_attempt("run0", 0)])
    clock.now += timedelta(minutes=30)
    second = dispatcher.handle([failed_attempt("run1", 0)])
    assert len(first.failed) == 1
    assert len(second.failed) == 1
    assert dispatcher.store.open_incidents()[0]["announced_at"] is None

    third = fail_twice_with_receiver_up(dispatcher, clock, receiver, timedelta(minutes=30), 2)
    assert [notice.kind for notice in third.delivered] == ["alert"]
    assert len(receiver.bodies) == 1
    assert "Occurrences: 3" in receiver.bodies[0]["message"]
    assert dispatcher.store.open_incidents()[0]["announced_at"] is not None


def test_failed_resolution_retried(tmp_path, webhook):
    clock = Clock(START)
    dispatcher = make_dispatcher(tmp_path, [webhook.url], clock)
    dispatcher.handle([failed_attempt("run0", 0)])
    webhook.stop()
    down = dispatcher.handle(run_success_signals("refresh", "run1", {}))
    webhook.start()
    up = dispatcher.handle(run_success_signals("refresh", "run2", {}))
    assert [notice.kind for notice in down.failed] == ["resolution"]
    assert [notice.kind for notice in up.delivered] == ["resolution"]
    assert dispatcher.store.open_incidents() == []
    assert len(webhook.bodies) == 2


def test_unannounced_incident_closes_silently(tmp_path):
    receiver = WebhookReceiver()
    dispatcher = make_dispatcher(tmp_path, [receiver.url], Clock(START))
    dispatcher.handle([failed_attempt("run0", 0)])
    receiver.start()
    try:
        report = dispatcher.handle(run_success_signals("refresh", "run1", {}))
    finally:
        receiver.stop()
    assert report.delivered == []
    assert receiver.bodies == []
    assert dispatcher.store.open_incidents() == []


def test_mass_delete_refusal_has_own_check(tmp_path, webhook):
    dispatcher = make_dispatcher(tmp_path, [webhook.url], Clock(START))
    error = "MassDeleteRefused: sales_orders: 400 of 1000 rows (40 %) > max_delete_share 0.10"
    dispatcher.handle([run_failure_signal("reconcile", "run0", {}, [error])])
    assert "mass_delete_guard on job/reconcile" in webhook.titles[0]
    assert "max_delete_share" in webhook.bodies[0]["message"]


def test_each_zone_publish_failure_is_its_own_incident(tmp_path, webhook):
    # Run failures were keyed by job alone: a second zone's failure sent nothing, and a third
    # zone's success announced every zone resolved.
    clock = Clock(START)
    dispatcher = make_dispatcher(tmp_path, [webhook.url], clock)
    zones = [zone.code for zone in load_zones()]

    def publish(zone: str) -> dict[str, str]:
        return {"dagster/partition": zone}

    error = ["CandidateError: locked"]
    dispatcher.handle([run_failure_signal("publish_zones", "r1", publish("reunion"), error, zones)])
    dispatcher.handle([run_failure_signal("publish_zones", "r2", publish("idf"), error, zones)])
    dispatcher.handle(run_success_signals("publish_zones", "r3", publish("paca")))
    assert len(webhook.titles) == 2
    assert "job/publish_zones/reunion" in webhook.titles[0]
    assert "job/publish_zones/idf" in webhook.titles[1]
    dispatcher.handle(run_success_signals("publish_zones", "r4", publish("idf"), zones))
    assert len(webhook.titles) == 3
    assert "RESOLVED" in webhook.titles[2]
    assert "job/publish_zones/idf" in webhook.titles[2]
    # The resolution named every zone while the alert named one.
    assert "(idf)" in webhook.bodies[2]["message"]
    assert "all zones" not in webhook.bodies[2]["message"]


def test_clock_set_back_does_not_hold_reminders(tmp_path, webhook):
    # An alert sent while the clock read 2030 held every reminder until the clock caught up.
    clock = Clock(datetime(2030, 1, 1, tzinfo=UTC))
    dispatcher = make_dispatcher(tmp_path, [webhook.url], clock)
    dispatcher.handle([failed_attempt("run0", 0)])
    clock.now = START
    dispatcher.handle([failed_attempt("run1", 0)])
    assert len(webhook.titles) == 2
    assert "STILL FAILING" in webhook.titles[1]


def test_retry_skips_receivers_that_accepted(tmp_path, smtp):
    # A notice counted as sent only when every receiver accepted it, so while the web hook was
    # down the e-mail receiver got the same alert again at every evaluation.
    hook = WebhookReceiver()
    clock = Clock(START)
    dispatcher = make_dispatcher(tmp_path, [smtp.url, hook.url], clock)
    for run in range(3):
        clock.now = START + timedelta(minutes=10 * run)
        report = dispatcher.handle([failed_attempt(f"run{run}", 0)])
        assert [notice.kind for notice in report.failed] == ["alert"]
    assert len(smtp.messages) == 1
    assert dispatcher.store.open_incidents()[0]["announced_at"] is None

    report = fail_twice_with_receiver_up(dispatcher, clock, hook, timedelta(minutes=10), 3)
    assert [notice.kind for notice in report.delivered] == ["alert"]
    assert len(smtp.messages) == 1
    assert len(hook.bodies) == 1
    assert "Occurrences: 4" in hook.bodies[0]["message"]
    assert dispatcher.store.open_incidents()[0]["announced_at"] is not None


def test_partly_delivered_alert_gets_resolution(tmp_path, smtp):
    # The incident clears while the web hook is still down. The e-mail receiver got the alert,
    # so it gets the resolution too, unlike an incident that no receiver got.
    hook = WebhookReceiver()
    dispatcher = make_dispatcher(tmp_path, [smtp.url, hook.url], Clock(START))
    dispatcher.handle([failed_attempt("run0", 0)])
    hook.start()
    try:
        report = dispatcher.handle(run_success_signals("refresh", "run1", {}))
    finally:
        hook.stop()
    assert [notice.kind for notice in report.delivered] == ["resolution"]
    assert len(smtp.messages) == 2
    assert "RESOLVED" in smtp.messages[1]
    assert len(hook.bodies) == 1
    assert dispatcher.store.open_incidents() == []


def stale_signals(failing: bool) -> list[Signal]:
    """One data freshness signal per zone, as an outage of the source makes them all fail."""
    return [
        Signal(
            asset="base_operation/sales_orders",
            check=f"data_freshness[{zone.code}]",
            failing=failing,
            summary="no source change since the deadline" if failing else "fresh",
            zone=zone.code,
            observed="last change 6 h ago" if failing else "last change 1 min ago",
            expected="a change before 10:00",
        )
        for zone in load_zones()
    ]


def test_outage_sends_one_grouped_message(tmp_path, webhook):
    clock = Clock(START)
    dispatcher = make_dispatcher(tmp_path, [webhook.url], clock)
    failed = dispatcher.handle(stale_signals(failing=True))
    zones = load_zones()
    assert len(failed.delivered) == len(zones)
    assert len(webhook.titles) == 1
    assert webhook.titles[0] == f"[zone-marts] {len(zones)} incidents: {len(zones)} FAILED"
    for zone in zones:
        assert f"FAILED: data_freshness[{zone.code}]" in webhook.bodies[0]["message"]
    assert all(row["announced_at"] for row in dispatcher.store.open_incidents())

    clock.now += timedelta(hours=1)
    resolved = dispatcher.handle(stale_signals(failing=False))
    assert len(resolved.delivered) == len(zones)
    assert len(webhook.titles) == 2
    assert webhook.titles[1] == f"[zone-marts] {len(zones)} incidents: {len(zones)} RESOLVED"
    assert dispatcher.store.open_incidents() == []


def test_few_notices_sent_one_by_one(tmp_path, webhook):
    dispatcher = make_dispatcher(tmp_path, [webhook.url], Clock(START))
    dispatcher.handle(stale_signals(failing=True)[:3])
    assert len(webhook.titles) == 3
    assert all(title.startswith("[zone-marts] FAILED: ") for title in webhook.titles)


def test_failure_after_partial_resolution_alerts_all(tmp_path, smtp):
    # The e-mail receiver got the resolution while the web hook was down. When the check failed
    # again, no receiver got an alert, so e-mail readers believed the incident was over.
    hook = WebhookReceiver()
    hook.start()
    clock = Clock(START)
    dispatcher = make_dispatcher(tmp_path, [smtp.url, hook.url], clock)
    try:
        dispatcher.handle([failed_attempt("run0", 0)])
        hook.stop()
        clock.now += timedelta(minutes=10)
        dispatcher.handle(run_success_signals("refresh", "run1", {}))
        hook.start()
        clock.now += timedelta(minutes=30)
        report = dispatcher.handle([failed_attempt("run2", 0)])
    finally:
        hook.stop()
    assert [notice.kind for notice in report.delivered] == ["alert"]
    assert len(smtp.messages) == 3
    assert "RESOLVED" in smtp.messages[1]
    assert "FAILED" in smtp.messages[2]
    assert len(hook.bodies) == 2


def test_receiver_written_twice_gets_one_message(tmp_path, webhook):
    dispatcher = make_dispatcher(tmp_path, [webhook.url, webhook.url + "/"], Clock(START))
    dispatcher.handle([failed_attempt("run0", 0)])
    assert len(webhook.bodies) == 1


def test_long_error_is_cut_at_a_word():
    # The observed text was cut mid-word at 500 characters: "nothing of this step was wr".
    signal = run_failure_signal("refresh", "run1", {}, ["word " * 200])
    assert signal.observed.endswith("word…")
    assert len(signal.observed) <= 500
