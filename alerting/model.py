"""What is delivered: an alert (a condition that fires) and a notification (one message about it)."""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("warning", "critical")
# firing: the condition starts; reminder: still firing after the cool-down; escalation: warning became
# critical; resolved: the condition cleared
KINDS = ("firing", "reminder", "escalation", "resolved")


@dataclass(frozen=True)
class Alert:
    alert_key: str  # identity of this alert row (e.g. one check evaluation, one kpi_alerts row)
    source: str  # kpi_rule | check | sync_health | run_failure | ...
    severity: str  # warning | critical
    title: str
    body: str
    subject: str = ""
    details: dict = field(default_factory=dict)
    owner: str | None = None  # person or team the condition is assigned to; routed to their channels
    rule_id: str | None = None  # the KPI rule or check that fired
    # the condition, independent of severity: de-duplication, escalation and resolution follow it
    condition_key: str | None = None

    @property
    def condition(self) -> str:
        return self.condition_key or self.alert_key

    @property
    def severity_rank(self) -> int:
        return severity_rank(self.severity)


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


@dataclass(frozen=True)
class Notification:
    """One message about a condition, sent to one or more channels under one id (the receivers'
    idempotency key: a retry of the same notification carries the same id)."""

    notification_id: str
    kind: str
    alert: Alert
    notified_at: str  # ISO 8601 UTC, when the notification was decided

    @property
    def headline(self) -> str:
        prefix = {"resolved": "[RESOLVED] ", "escalation": "[ESCALATED] ", "reminder": "[STILL FIRING] "}
        return prefix.get(self.kind, "") + self.alert.title

    @property
    def text(self) -> str:
        if self.kind == "resolved":
            return f"Cleared: {self.alert.title}. The condition no longer holds."
        lines = [self.alert.body]
        if self.alert.owner:
            lines.append(f"Owner: {self.alert.owner}")
        return "\n".join(lines)
