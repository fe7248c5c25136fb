"""Alert delivery with an append-only history: de-duplication, cool-down, escalation, resolution,
per-channel status and retries.

The history is a JSON-lines file, one row per delivery attempt of a notification to a channel, appended
under a lock (one deliverer at a time: the daemon's alert runs, a CLI run). Everything the deliverer
knows (what was sent, when, to whom, what failed) is read back from it, so a new process, a restarted
sensor or a re-run of the alert job repeats nothing. Rules (docs/DECISIONS.md #40):

- An alert belongs to a condition (`Alert.condition`). A condition without an open episode gets a
  `firing` notification; while open, the same condition is not sent again within the cool-down, except
  an `escalation` as soon as its severity rises above any sent in the episode; after the cool-down a
  still-firing condition gets a `reminder` (unless reminders are off), and so on every cool-down.
- `deliver(alerts, active_scope=[...])` says that `alerts` are all the conditions firing now in that
  scope: an open condition in scope that is absent gets one `resolved` notification, sent to the
  channels that received the episode's messages; the episode is then closed.
- Each notification is tried on each channel `attempts` times with doubling backoff; a channel that
  fails every attempt is `deferred` for the rest of the run (it does not hold up the others). A
  notification that some channel did not get is offered again by every later `deliver` until that
  channel gets it or a newer notification of the same condition supersedes it; a channel that got it
  never gets it again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerting.channels import Channel, DeliveryError
from alerting.model import Alert, Notification, severity_rank
from alerting.routing import RoutingFile, default_routing

log = logging.getLogger(__name__)

ALERT_FIELDS = (
    "alert_key",
    "source",
    "severity",
    "title",
    "body",
    "subject",
    "details",
    "owner",
    "rule_id",
    "condition_key",
)
NO_CHANNEL = "-"


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)  # alert keys delivered to every routed channel
    skipped: list[str] = field(default_factory=list)  # alert keys not sent: the condition was sent within the cool-down
    failed: list[str] = field(default_factory=list)  # "<alert key> -> <channel>" still undelivered after this run
    resolved: list[str] = field(default_factory=list)  # condition keys that got a resolved notification
    unrouted: list[str] = field(default_factory=list)  # alert keys no route or owner sends anywhere


@dataclass
class _Episode:
    """The open (or last) run of notifications about one condition, from history."""

    notifications: list[Notification] = field(default_factory=list)
    channels: dict[str, list[str]] = field(default_factory=dict)  # notification id -> channels it went to
    delivered: dict[str, set[str]] = field(default_factory=dict)  # notification id -> channels that got it
    attempts: dict[tuple[str, str], int] = field(default_factory=dict)  # (notification id, channel) -> tries

    @property
    def last(self) -> Notification:
        return self.notifications[-1]

    @property
    def is_open(self) -> bool:
        return bool(self.notifications) and self.last.kind != "resolved"

    @property
    def max_rank(self) -> int:
        return max(severity_rank(n.alert.severity) for n in self.notifications if n.kind != "resolved")

    def delivered_channels(self) -> list[str]:
        got = (c for n in self.notifications for c in sorted(self.delivered.get(n.notification_id, ())))
        return list(dict.fromkeys(got))


def _alert_from(row: dict) -> Alert:
    return Alert(**{k: row.get(k) for k in ALERT_FIELDS})


def _notification_id(condition: str, kind: str, notified_at: str) -> str:
    return hashlib.sha256(f"{condition}|{kind}|{notified_at}".encode()).hexdigest()[:20]


def in_scope(scope: Iterable[str], source: str, condition: str) -> bool:
    """A scope entry is a source (`check`) or a condition-key prefix ending in `*` (`check:raw/shopify/*`)."""
    return any(s == source or (s.endswith("*") and condition.startswith(s[:-1])) for s in scope)


class Outbox:
    def __init__(self, path: Path | str, routing: RoutingFile | None = None, env: Mapping[str, str] | None = None):
        self.path = Path(path)
        self.routing = routing or default_routing(env or {})
        self.channels: dict[str, Channel] = self.routing.build_channels(env or {})
        # the clock of the delivery under way (a test may move it), advanced by the time spent sending
        self._now, self._started = datetime.now(UTC), time.monotonic()

    # -- the history file ------------------------------------------------------------------------

    def _append(self, row: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            fh.flush()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One deliverer at a time, from reading the history to recording the new attempts, so no
        notification is posted twice."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def history(self) -> list[dict]:
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def _episodes(self) -> dict[str, _Episode]:
        episodes: dict[str, _Episode] = {}
        seen: set[str] = set()
        for row in self.history():
            condition, nid = row["condition_key"], row["notification_id"]
            episode = episodes.setdefault(condition, _Episode())
            if nid not in seen:
                seen.add(nid)
                if row["kind"] == "firing":  # a new episode starts
                    episode = episodes[condition] = _Episode()
                episode.notifications.append(Notification(nid, row["kind"], _alert_from(row), row["notified_at"]))
            channels = episode.channels.setdefault(nid, [])
            if row["channel"] != NO_CHANNEL and row["channel"] not in channels:
                channels.append(row["channel"])
            if row["status"] == "delivered":
                episode.delivered.setdefault(nid, set()).add(row["channel"])
            if row["status"] in ("delivered", "failed"):
                key = (nid, row["channel"])
                episode.attempts[key] = episode.attempts.get(key, 0) + 1
        return episodes

    def _pending(self, episodes: dict[str, _Episode]) -> list[tuple[Notification, list[str]]]:
        """The latest notification of each condition, with the channels that have not got it yet."""
        out = []
        for episode in episodes.values():
            if not episode.notifications:
                continue
            last = episode.last
            got = episode.delivered.get(last.notification_id, set())
            missing = [c for c in episode.channels.get(last.notification_id, []) if c not in got and c in self.channels]
            if missing:
                out.append((last, missing))
        return out

    def undelivered(self) -> list[Alert]:
        """Alerts whose latest notification some channel has not received yet: offered again."""
        return [n.alert for n, _ in self._pending(self._episodes())]

    # -- delivery --------------------------------------------------------------------------------

    def deliver(
        self,
        alerts: Iterable[Alert],
        *,
        active_scope: Iterable[str] | None = None,
        now: datetime | None = None,
        sleep=time.sleep,
    ) -> DeliveryReport:
        """Send what is due for `alerts` (the conditions firing now), retry what earlier runs could not
        deliver, and, for conditions in `active_scope` that no longer fire, send one resolved message."""
        now = now or datetime.now(UTC)
        with self._exclusive():
            return self._deliver(list(alerts), list(active_scope or []), now, sleep)

    def _deliver(self, alerts: list[Alert], scope: list[str], now: datetime, sleep) -> DeliveryReport:
        settings = self.routing.delivery
        report = DeliveryReport()
        episodes = self._episodes()
        stamp = now.isoformat()
        self._now, self._started = now, time.monotonic()
        batch: list[tuple[Notification, list[str]]] = []
        superseded: set[str] = set()

        strongest: dict[str, Alert] = {}
        for alert in alerts:  # one alert per condition, the most severe
            current = strongest.get(alert.condition)
            if current is None or alert.severity_rank > current.severity_rank:
                strongest[alert.condition] = alert

        for condition, alert in strongest.items():
            episode = episodes.get(condition)
            kind = self._due(episode, alert, now)
            if kind is None:
                report.skipped.append(alert.alert_key)
                continue
            if episode is not None:
                superseded.add(condition)
            notification = Notification(_notification_id(condition, kind, stamp), kind, alert, stamp)
            channels = [c for c in self.routing.channel_names(alert) if c in self.channels]
            if not channels:
                report.unrouted.append(alert.alert_key)
                log.warning("alert %s matches no route and no owner: recorded, sent nowhere", alert.alert_key)
            batch.append((notification, channels))

        if scope:
            for condition, episode in episodes.items():
                last = episode.last if episode.notifications else None
                if not episode.is_open or condition in strongest or not in_scope(scope, last.alert.source, condition):
                    continue
                superseded.add(condition)
                batch.append(
                    (
                        Notification(_notification_id(condition, "resolved", stamp), "resolved", last.alert, stamp),
                        [c for c in episode.delivered_channels() if c in self.channels],
                    )
                )
                report.resolved.append(condition)

        retries = [(n, cs) for n, cs in self._pending(episodes) if n.alert.condition not in superseded]
        down: set[str] = set()
        for notification, channels in [*retries, *batch]:
            episode = episodes.get(notification.alert.condition, _Episode())
            if not channels:
                status = "unrouted" if notification.kind != "resolved" else "skipped"
                error = None if status == "unrouted" else "no channel received this condition's messages"
                self._record(notification, None, status, 0, None, None, error)
                continue
            all_ok = True
            for name in channels:
                done = episode.attempts.get((notification.notification_id, name), 0)
                ok = self._send(notification, self.channels[name], done, name in down, settings, sleep)
                if not ok:
                    all_ok = False
                    down.add(name)
                    report.failed.append(f"{notification.alert.alert_key} -> {name}")
            if all_ok and notification.kind != "resolved":
                report.delivered.append(notification.alert.alert_key)
        return report

    def _due(self, episode: _Episode | None, alert: Alert, now: datetime) -> str | None:
        if episode is None or not episode.is_open:
            return "firing"
        if alert.severity_rank > episode.max_rank:
            return "escalation"
        last_sent = datetime.fromisoformat(episode.last.notified_at)
        if self.routing.delivery.reminders and now - last_sent >= timedelta(hours=self.routing.delivery.cooldown_hours):
            return "reminder"
        return None

    def _send(self, notification: Notification, channel: Channel, done: int, down: bool, settings, sleep) -> bool:
        """Up to `attempts` tries with doubling backoff, each recorded; False if none got through."""
        if down:  # failed every attempt earlier in this run: do not hold up the other channels
            self._record(notification, channel, "deferred", done, None, "channel_down", "failed earlier in this run")
            return False
        for attempt in range(1, settings.attempts + 1):
            try:
                status = channel.send(notification, settings.timeout_seconds)
            except DeliveryError as exc:
                tries = done + attempt
                self._record(notification, channel, "failed", tries, exc.http_status, exc.error_class, exc.detail)
                log.warning("alert %s to %s failed: %s", notification.alert.alert_key, channel.name, exc.error_class)
                if not exc.retryable:
                    return False
                if attempt < settings.attempts:
                    sleep(settings.backoff_seconds * 2 ** (attempt - 1))
                continue
            self._record(notification, channel, "delivered", done + attempt, status, None, None)
            return True
        return False

    def _record(
        self,
        notification: Notification,
        channel: Channel | None,
        status: str,
        attempt: int,
        http_status: int | None,
        error_class: str | None,
        error: str | None,
    ) -> None:
        alert = notification.alert
        self._append(
            {
                "notification_id": notification.notification_id,
                "kind": notification.kind,
                "notified_at": notification.notified_at,
                **{k: getattr(alert, k) for k in ALERT_FIELDS},
                "condition_key": alert.condition,
                "channel": channel.name if channel else NO_CHANNEL,
                "channel_type": channel.type if channel else None,
                "status": status,
                "attempt": attempt,
                "http_status": http_status,
                "error_class": error_class,
                "error": error,
                "attempted_at": (self._now + timedelta(seconds=time.monotonic() - self._started)).isoformat(),
            }
        )


__all__ = ["Alert", "DeliveryReport", "Outbox", "in_scope"]
