"""Incident state in a small SQLite file: what is open, what was announced, what repeated.

An incident is keyed by (asset, check). Its life: opened by the first failing signal, announced
once, reminded at most once per reminder interval, resolved once when a passing signal arrives.
A notice is recorded as sent only once every receiver accepted it, so a failed delivery is retried
on the next evaluation. Each receiver that accepted it is recorded too, and a retry goes only to
the others. While one evaluation delivers, a short claim keeps a concurrent one (two sensors, or
a retried tick) from sending the same notice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from dagster_project.alert.signals import Signal

# Longer than one delivery can take (apprise's connect timeout is 15 s), so a claim never
# expires while its holder is still sending.
CLAIM_DURATION = timedelta(seconds=120)

ALERT, REMINDER, RESOLUTION = "alert", "reminder", "resolution"

SCHEMA = """
create table if not exists incidents (
    incident_id integer primary key autoincrement,
    asset text not null,
    check_name text not null,
    zone text,
    opened_at text not null,
    last_seen_at text not null,
    since text,
    summary text not null,
    observed text not null,
    expected text not null,
    last_run_id text,
    announced_at text,
    last_notice_at text,
    claimed_until text,
    resolved_at text
);
create unique index if not exists one_open_incident_per_check
    on incidents (asset, check_name) where resolved_at is null;
create table if not exists occurrences (
    incident_id integer not null references incidents (incident_id),
    occurrence text not null,
    seen_at text not null,
    primary key (incident_id, occurrence)
);
create table if not exists receiver_deliveries (
    incident_id integer not null references incidents (incident_id),
    notice text not null,
    receiver text not null,
    delivered_at text not null,
    primary key (incident_id, notice, receiver)
);
"""


@dataclass(frozen=True)
class Notice:
    """A message to deliver about one incident; ``kind`` is alert, reminder or resolution.

    ``key`` identifies this notice among the incident's notices: its kind and the date of the
    notice before it. ``delivered_to`` contains the receivers that already accepted it.
    """

    kind: str
    incident_id: int
    signal: Signal
    opened_at: datetime
    occurrences: int
    key: str = ""
    delivered_to: frozenset[str] = frozenset()


class IncidentStore:
    """Transactional incident state; every method runs in its own IMMEDIATE transaction."""

    def __init__(self, path: Path, reminder_interval: timedelta):
        self.path = Path(path)
        self.reminder_interval = reminder_interval
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._transaction() as connection:
            # executescript() would commit on its own, so statements run one by one.
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.row_factory = sqlite3.Row
        try:
            connection.execute("begin immediate")
            try:
                yield connection
            except BaseException:
                connection.execute("rollback")
                raise
            connection.execute("commit")
        finally:
            connection.close()

    def record(self, signal: Signal, now: datetime) -> Notice | None:
        """Record ``signal`` and return the notice it calls for, claimed for delivery, if any."""
        with self._transaction() as connection:
            incident = connection.execute(
                "select * from incidents where asset = ? and check_name = ? "
                "and resolved_at is null",
                signal.key,
            ).fetchone()
            if (
                signal.failing
                and incident is not None
                and _resolution_partly_sent(connection, incident["incident_id"])
            ):
                # Some receivers got the incident's resolution. Close it, so that the failure
                # opens a new incident whose alert reaches them all.
                self._resolve(connection, incident["incident_id"], now)
                incident = None
            if signal.failing:
                incident = self._record_failure(connection, incident, signal, now)
                kind = self._failure_notice_kind(incident, now)
            elif incident is None:
                return None
            elif incident["announced_at"] is None and not _delivered_to_any(
                connection, incident["incident_id"]
            ):
                # Cleared before any receiver accepted the alert, so no receiver gets a
                # resolution either.
                self._resolve(connection, incident["incident_id"], now)
                return None
            else:
                kind = RESOLUTION
            if kind is None or _claimed(incident, now):
                return None
            connection.execute(
                "update incidents set claimed_until = ? where incident_id = ?",
                ((now + CLAIM_DURATION).isoformat(), incident["incident_id"]),
            )
            key = f"{kind} after {incident['last_notice_at'] or 'none'}"
            return Notice(
                kind=kind,
                incident_id=incident["incident_id"],
                signal=signal,
                opened_at=datetime.fromisoformat(incident["opened_at"]),
                occurrences=_count_occurrences(connection, incident["incident_id"]),
                key=key,
                delivered_to=_receivers_of(connection, incident["incident_id"], key),
            )

    def _record_failure(self, connection, incident, signal: Signal, now: datetime):
        if incident is None:
            cursor = connection.execute(
                "insert into incidents (asset, check_name, zone, opened_at, last_seen_at, since, "
                "summary, observed, expected, last_run_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    signal.asset,
                    signal.check,
                    signal.zone,
                    now.isoformat(),
                    now.isoformat(),
                    (signal.since or now).isoformat(),
                    signal.summary,
                    signal.observed,
                    signal.expected,
                    signal.run_id,
                ),
            )
            incident_id = cursor.lastrowid
        else:
            incident_id = incident["incident_id"]
            connection.execute(
                "update incidents set last_seen_at = ?, summary = ?, observed = ?, expected = ?, "
                "last_run_id = coalesce(?, last_run_id) where incident_id = ?",
                (
                    now.isoformat(),
                    signal.summary,
                    signal.observed,
                    signal.expected,
                    signal.run_id,
                    incident_id,
                ),
            )
        connection.execute(
            "insert or ignore into occurrences (incident_id, occurrence, seen_at) values (?, ?, ?)",
            (incident_id, signal.occurrence or now.isoformat(), now.isoformat()),
        )
        return connection.execute(
            "select * from incidents where incident_id = ?", (incident_id,)
        ).fetchone()

    def _failure_notice_kind(self, incident, now: datetime) -> str | None:
        if incident["announced_at"] is None:
            return ALERT
        last_notice = datetime.fromisoformat(incident["last_notice_at"])
        # A notice dated in the future (a clock that was fast, then set back) would otherwise
        # hold every reminder until the clock caught up, possibly for years.
        if last_notice > now or now - last_notice >= self.reminder_interval:
            return REMINDER
        return None

    def mark_delivered(self, notice: Notice, now: datetime) -> None:
        """Record that ``notice`` reached all its receivers and release the claim."""
        with self._transaction() as connection:
            connection.execute(
                "delete from receiver_deliveries where incident_id = ? and notice = ?",
                (notice.incident_id, notice.key),
            )
            if notice.kind == RESOLUTION:
                self._resolve(connection, notice.incident_id, now)
                return
            connection.execute(
                "update incidents set announced_at = coalesce(announced_at, ?), "
                "last_notice_at = ?, claimed_until = null where incident_id = ?",
                (now.isoformat(), now.isoformat(), notice.incident_id),
            )

    def release(self, notice: Notice, now: datetime, accepted_by: Iterable[str] = ()) -> None:
        """Drop the claim after a failed delivery, so the next evaluation tries again, and record
        the receivers that accepted ``notice`` this time, so that they do not receive it again."""
        with self._transaction() as connection:
            connection.executemany(
                "insert or ignore into receiver_deliveries "
                "(incident_id, notice, receiver, delivered_at) values (?, ?, ?, ?)",
                [
                    (notice.incident_id, notice.key, receiver, now.isoformat())
                    for receiver in accepted_by
                ],
            )
            connection.execute(
                "update incidents set claimed_until = null where incident_id = ?",
                (notice.incident_id,),
            )

    def open_incidents(self) -> list[sqlite3.Row]:
        with self._transaction() as connection:
            return connection.execute(
                "select * from incidents where resolved_at is null order by opened_at"
            ).fetchall()

    @staticmethod
    def _resolve(connection: sqlite3.Connection, incident_id: int, now: datetime) -> None:
        connection.execute(
            "update incidents set resolved_at = ?, claimed_until = null where incident_id = ?",
            (now.isoformat(), incident_id),
        )
        connection.execute("delete from receiver_deliveries where incident_id = ?", (incident_id,))


def _claimed(incident, now: datetime) -> bool:
    """Return whether a delivery has claimed the incident. A claim ending past now plus its
    length is stale, since a clock set back left it there."""
    claimed_until = incident["claimed_until"]
    if claimed_until is None:
        return False
    end = datetime.fromisoformat(claimed_until)
    return now < end <= now + CLAIM_DURATION


def _receivers_of(connection: sqlite3.Connection, incident_id: int, notice: str) -> frozenset[str]:
    rows = connection.execute(
        "select receiver from receiver_deliveries where incident_id = ? and notice = ?",
        (incident_id, notice),
    ).fetchall()
    return frozenset(row[0] for row in rows)


def _resolution_partly_sent(connection: sqlite3.Connection, incident_id: int) -> bool:
    row = connection.execute(
        "select 1 from receiver_deliveries where incident_id = ? and notice like ? limit 1",
        (incident_id, f"{RESOLUTION} %"),
    ).fetchone()
    return row is not None


def _delivered_to_any(connection: sqlite3.Connection, incident_id: int) -> bool:
    row = connection.execute(
        "select 1 from receiver_deliveries where incident_id = ? limit 1", (incident_id,)
    ).fetchone()
    return row is not None


def _count_occurrences(connection: sqlite3.Connection, incident_id: int) -> int:
    row = connection.execute(
        "select count(*) from occurrences where incident_id = ?", (incident_id,)
    ).fetchone()
    return int(row[0])
