"""Turn signals into delivered notices: record, compose, send through apprise, then mark sent."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import apprise

from dagster_project.alert.config import DEFAULT_GROUP_ABOVE, AlertConfig
from dagster_project.alert.incidents import IncidentStore, Notice
from dagster_project.alert.messages import compose, compose_digest
from dagster_project.alert.signals import Signal
from dagster_project.zones import Zone

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def receiver_key(url: str) -> str:
    """Name a receiver in the incident state without storing its URL, which may hold a password.

    A trailing slash does not make another receiver, so one written twice gets one message.
    """
    return hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]


class AppriseSender:
    """Send a message to each receiver URL on its own and report which receivers accepted it."""

    def __init__(self, receivers: Sequence[str]):
        self.receivers = tuple(receivers)
        self.keys = frozenset(receiver_key(url) for url in self.receivers)

    def describe(self) -> list[str]:
        """Return the receiver URLs with passwords and tokens masked, for logs."""
        notifier = apprise.Apprise()
        for url in self.receivers:
            notifier.add(url)
        return notifier.urls(privacy=True)

    def __call__(self, title: str, body: str, skip: Collection[str] = frozenset()) -> set[str]:
        """Send to every receiver whose key is not in ``skip``; return the keys that accepted."""
        if not self.receivers:
            logger.warning("no alert receiver configured; alert only logged: %s\n%s", title, body)
            return set()
        accepted = set()
        for index, url in enumerate(self.receivers):
            key = receiver_key(url)
            if key in skip or key in accepted:
                continue
            notifier = apprise.Apprise()
            if not notifier.add(url):
                # The URL itself is not logged: it may carry a password.
                logger.error("alert receivers[%d] is not a valid apprise URL", index)
            elif notifier.notify(title=title, body=body):
                accepted.add(key)
            else:
                logger.error("alert receivers[%d] failed to accept the notice: %s", index, title)
        return accepted


@dataclass
class DispatchReport:
    """Notices sent and notices failed in one evaluation, for sensor logs and tests."""

    delivered: list[Notice] = field(default_factory=list)
    failed: list[Notice] = field(default_factory=list)


class AlertDispatcher:
    """Apply storm control to signals and deliver the resulting notices."""

    def __init__(
        self,
        store: IncidentStore,
        zones: Iterable[Zone],
        ui_base_url: str,
        sender: AppriseSender,
        clock: Callable[[], datetime] = utc_now,
        group_above: int = DEFAULT_GROUP_ABOVE,
    ):
        self.store = store
        self.zones: Mapping[str, Zone] = {zone.code: zone for zone in zones}
        self.ui_base_url = ui_base_url
        self.sender = sender
        self.clock = clock
        self.group_above = group_above

    @classmethod
    def from_config(
        cls, config: AlertConfig, zones: Iterable[Zone], clock: Callable[[], datetime] = utc_now
    ) -> AlertDispatcher:
        return cls(
            store=IncidentStore(config.state_path, config.reminder_interval),
            zones=zones,
            ui_base_url=config.dagster_ui_url,
            sender=AppriseSender(config.receivers),
            clock=clock,
            group_above=config.group_above,
        )

    def handle(self, signals: Iterable[Signal]) -> DispatchReport:
        """Record each signal and deliver the notices due. A notice counts as sent once every
        receiver accepted it. Until then, each retry goes only to the receivers still missing it.

        When more than ``group_above`` notices are due, they go out as one message per set of
        receivers still missing them, so an outage that fails every zone sends one message.
        """
        report = DispatchReport()
        due = []
        for signal in signals:
            notice = self.store.record(signal, self.clock())
            if notice is not None:
                due.append(notice)
        if len(due) <= self.group_above:
            for notice in due:
                title, body = compose(notice, self.zones, self.ui_base_url)
                self._deliver([notice], title, body, report)
            return report
        groups: dict[frozenset[str], list[Notice]] = {}
        for notice in due:
            groups.setdefault(notice.delivered_to, []).append(notice)
        for notices in groups.values():
            if len(notices) == 1:
                title, body = compose(notices[0], self.zones, self.ui_base_url)
            else:
                title, body = compose_digest(notices, self.zones, self.ui_base_url)
            self._deliver(notices, title, body, report)
        return report

    def _deliver(
        self, notices: list[Notice], title: str, body: str, report: DispatchReport
    ) -> None:
        """Send one message carrying ``notices``, which share the receivers that have them."""
        delivered_to = notices[0].delivered_to
        try:
            accepted = self.sender(title, body, skip=delivered_to)
        except Exception:
            logger.exception("alert delivery failed with an exception: %s", title)
            accepted = set()
        missing = self.sender.keys - delivered_to - accepted
        for notice in notices:
            if not missing:
                self.store.mark_delivered(notice, self.clock())
                report.delivered.append(notice)
                logger.info("sent %s for %s %s", notice.kind, *notice.signal.key)
            else:
                self.store.release(notice, self.clock(), accepted)
                report.failed.append(notice)
                logger.error(
                    "delivery of %s for %s %s failed for %d of %d receivers; retried to those "
                    "on the next evaluation",
                    notice.kind,
                    *notice.signal.key,
                    len(missing),
                    len(self.sender.keys),
                )
