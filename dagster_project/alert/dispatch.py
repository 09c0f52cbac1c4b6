"""Turn signals into delivered notices: record, compose, send through apprise, then mark sent."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import apprise

from dagster_project.alert.config import AlertConfig
from dagster_project.alert.incidents import IncidentStore, Notice
from dagster_project.alert.messages import compose
from dagster_project.alert.signals import Signal
from dagster_project.zones import Zone

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class AppriseSender:
    """Send one message to every receiver URL; succeed only when all of them accepted it.

    NOTE: with several receivers, one that is down makes the whole notice fail, and the retry
    sends it again to the receivers that had already accepted it.
    """

    def __init__(self, receivers: Sequence[str]):
        self.receivers = tuple(receivers)

    def describe(self) -> list[str]:
        """Return the receiver URLs with passwords and tokens masked, for logs."""
        notifier = apprise.Apprise()
        for url in self.receivers:
            notifier.add(url)
        return notifier.urls(privacy=True)

    def __call__(self, title: str, body: str) -> bool:
        if not self.receivers:
            logger.warning("no alert receiver configured; alert only logged: %s\n%s", title, body)
            return True
        notifier = apprise.Apprise()
        for index, url in enumerate(self.receivers):
            if not notifier.add(url):
                # The URL itself is not logged: it may carry a password.
                logger.error("alert receivers[%d] is not a valid apprise URL", index)
                return False
        return bool(notifier.notify(title=title, body=body))


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
        send: Callable[[str, str], bool],
        clock: Callable[[], datetime] = utc_now,
    ):
        self.store = store
        self.zones: Mapping[str, Zone] = {zone.code: zone for zone in zones}
        self.ui_base_url = ui_base_url
        self.send = send
        self.clock = clock

    @classmethod
    def from_config(
        cls, config: AlertConfig, zones: Iterable[Zone], clock: Callable[[], datetime] = utc_now
    ) -> AlertDispatcher:
        return cls(
            store=IncidentStore(config.state_path, config.reminder_interval),
            zones=zones,
            ui_base_url=config.dagster_ui_url,
            send=AppriseSender(config.receivers),
            clock=clock,
        )

    def handle(self, signals: Iterable[Signal]) -> DispatchReport:
        """Record each signal; deliver the notices due, marking each sent only on success."""
        report = DispatchReport()
        for signal in signals:
            notice = self.store.record(signal, self.clock())
            if notice is None:
                continue
            title, body = compose(notice, self.zones, self.ui_base_url)
            try:
                delivered = self.send(title, body)
            except Exception:
                logger.exception("alert delivery raised for %s %s", *signal.key)
                delivered = False
            if delivered:
                self.store.mark_delivered(notice, self.clock())
                report.delivered.append(notice)
                logger.info("sent %s for %s %s", notice.kind, *signal.key)
            else:
                self.store.release(notice)
                report.failed.append(notice)
                logger.error(
                    "delivery of %s for %s %s failed; retried on the next evaluation",
                    notice.kind,
                    *signal.key,
                )
        return report
