"""Alert delivery with an append-only outbox: every alert is recorded, then delivered once.

The outbox is a JSON-lines file; an alert key that was delivered before is never sent again, so a
sensor restart or a re-run of the alert job cannot notify anyone twice.
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests


@dataclass(frozen=True)
class Alert:
    alert_key: str  # stable identity: the same condition always has the same key
    source: str  # kpi_rule | check
    severity: str  # warning | critical
    title: str
    body: str
    subject: str = ""
    details: dict = field(default_factory=dict)


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class Outbox:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def _append(self, rows: Iterable[dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One deliverer at a time (the daemon's alert runs, a CLI run), from reading what was
        delivered to recording the new deliveries, so no alert is posted twice."""
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

    def delivered_keys(self) -> set[str]:
        return {row["alert_key"] for row in self.history() if row["status"] == "delivered"}

    def undelivered(self) -> list[Alert]:
        """Alerts whose latest delivery attempt failed: to be offered again."""
        latest: dict[str, dict] = {}
        for row in self.history():
            latest[row["alert_key"]] = row
        fields = ("alert_key", "source", "severity", "title", "body", "subject", "details")
        return [Alert(**{k: row[k] for k in fields}) for row in latest.values() if row["status"] == "failed"]

    def deliver(
        self,
        alerts: Iterable[Alert],
        webhook_url: str | None = None,
        *,
        attempts: int = 3,
        timeout: float = 10.0,
        backoff: float = 1.0,
    ) -> DeliveryReport:
        """Record each new alert; post it to the webhook when one is configured.

        Without a webhook the outbox itself is the channel: the alert is delivered when recorded.
        A webhook that keeps failing leaves the alert `failed`, so the next run tries it again.
        """
        with self._exclusive():
            return self._deliver(list(alerts), webhook_url, attempts, timeout, backoff)

    def _deliver(
        self, alerts: list[Alert], webhook_url: str | None, attempts: int, timeout: float, backoff: float
    ) -> DeliveryReport:
        report = DeliveryReport()
        done = self.delivered_keys()
        for alert in alerts:
            if alert.alert_key in done:
                report.skipped.append(alert.alert_key)
                continue
            row = {
                **asdict(alert),
                "channel": "webhook" if webhook_url else "outbox",
                "recorded_at": datetime.now(UTC).isoformat(),
            }
            status, error = "delivered", None
            if webhook_url:
                status, error = _post(webhook_url, alert, attempts, timeout, backoff)
            self._append([{**row, "status": status, "error": error}])
            if status == "delivered":
                report.delivered.append(alert.alert_key)
                done.add(alert.alert_key)
            else:
                report.failed.append(alert.alert_key)
        return report


def _post(url: str, alert: Alert, attempts: int, timeout: float, backoff: float) -> tuple[str, str | None]:
    error = None
    for attempt in range(1, attempts + 1):
        try:
            response = requests.post(
                url, json={"alert": asdict(alert)}, timeout=timeout, headers={"Idempotency-Key": alert.alert_key}
            )
            if response.status_code < 300:
                return "delivered", None
            error = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            error = type(exc).__name__  # not the message: it can carry the hook's secret URL
        if attempt < attempts:
            time.sleep(backoff * attempt)
    return "failed", error
