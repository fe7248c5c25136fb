"""Turn the latest results of the asset checks into the conditions to alert on (Dagster-free: the sensor
hands in plain results).

Sync problems are keyed by their cause, not by the check that saw them: a store whose authorization
expired fails `all_stores_synced` on every raw asset of its source and `sync_not_failing` on every entity
of marts.sync_health, yet it is one condition (`sync:<store>:<source>:sync_not_failing`), one alert
listing the entities, and one resolved message when the store syncs again. Every other failed check is
one condition per asset x check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alerting.model import Alert, severity_rank

# marts.sync_health's checks (expectations/sync_health.py CONCERNS) and what each condition is called
SYNC_CONCERNS = {
    "sync_fresh": "sync is stale",
    "sync_not_failing": "sync keeps failing",
    "credentials_not_expiring": "credentials expire",
    "sync_windows_without_gaps": "gaps in the synced windows",
    "sync_volume_normal": "synced volume dropped",
}
STORE_SYNC_CHECK = "all_stores_synced"  # on every raw asset: the stores whose sync failed in the run
SYNC_HEALTH_ASSET = "marts/sync_health"


@dataclass(frozen=True)
class CheckResult:
    """The latest completed evaluation of one asset check that failed."""

    asset: str  # user string of the asset key: raw/shopify/orders, marts/sync_health
    check: str
    severity: str  # warning (a WARN check) | critical (an ERROR check)
    description: str
    record_id: int
    run_id: str
    metadata: dict = field(default_factory=dict)  # plain values


@dataclass
class _Condition:
    key: str
    source: str
    rule_id: str
    title: str
    subject: str
    severity: str = "warning"
    lines: list[str] = field(default_factory=list)
    records: set[int] = field(default_factory=set)
    runs: set[str] = field(default_factory=set)
    entities: set[str] = field(default_factory=set)

    def add(self, severity: str, line: str, result: CheckResult, entity: str | None = None) -> None:
        if severity_rank(severity) > severity_rank(self.severity):
            self.severity = severity
        if line not in self.lines:
            self.lines.append(line)
        self.records.add(result.record_id)
        self.runs.add(result.run_id)
        if entity:
            self.entities.add(entity)

    def alert(self) -> Alert:
        newest = max(self.records)
        entities = sorted(self.entities)
        return Alert(
            alert_key=f"{self.key}@{newest}",
            condition_key=self.key,
            source=self.source,
            rule_id=self.rule_id,
            severity=self.severity,
            title=f"[{self.severity.upper()}] {self.title}" + (f" ({', '.join(entities)})" if entities else ""),
            body="\n".join(self.lines),
            subject=self.subject,
            details={"check_records": sorted(self.records), "runs": sorted(self.runs), "entities": entities},
        )


def _sync_condition(conditions: dict, store: str, source: str, concern: str) -> _Condition:
    key = f"sync:{store}:{source}:{concern}"
    if key not in conditions:
        conditions[key] = _Condition(
            key=key,
            source="sync_health",
            rule_id=concern,
            title=f"{store} {source}: {SYNC_CONCERNS[concern]}",
            subject=f"store:{store}",
        )
    return conditions[key]


def check_alerts(results: list[CheckResult]) -> list[Alert]:
    """One alert per condition failing now, from the latest completed result of every check that failed."""
    conditions: dict[str, _Condition] = {}
    for result in sorted(results, key=lambda r: (r.asset, r.check)):
        if result.asset == SYNC_HEALTH_ASSET and result.check in SYNC_CONCERNS:
            for entry in result.metadata.get("offending") or []:
                severity = "critical" if entry.get("level") == "error" else "warning"
                condition = _sync_condition(conditions, entry["store_id"], entry["source"], result.check)
                condition.add(severity, entry["message"], result, entry.get("entity"))
            if result.metadata.get("offending"):
                continue
        if result.check == STORE_SYNC_CHECK and result.asset.startswith("raw/"):
            _, source, entity = [*result.asset.split("/"), "", ""][:3]
            for store in result.metadata.get("failed_stores") or []:
                condition = _sync_condition(conditions, store, source, "sync_not_failing")
                line = next(
                    (part for part in result.description.split("; ") if part.startswith(f"{store}:")),
                    f"{store}: the sync of {source}/{entity} failed",
                )
                condition.add(
                    "critical", f"{store} {source}/{entity} failed in run {result.run_id}: {line}", result, entity
                )
            if result.metadata.get("failed_stores"):
                continue
        key = f"check:{result.asset}:{result.check}"
        condition = conditions.setdefault(
            key,
            _Condition(
                key=key,
                source="check",
                rule_id=result.check,
                title=f"check {result.check} failed on {result.asset}",
                subject=f"asset:{result.asset}",
            ),
        )
        condition.add(result.severity, result.description or f"{result.check} failed in run {result.run_id}", result)
    _fold_staleness_into_failures(conditions)
    return [c.alert() for c in conditions.values()]


def _fold_staleness_into_failures(conditions: dict[str, _Condition]) -> None:
    """A source that keeps failing is also stale: one cause, one alert (the failing one, which escalates
    when the staleness turns critical)."""
    for key in [k for k in conditions if k.startswith("sync:") and k.endswith(":sync_fresh")]:
        failing = conditions.get(key.removesuffix(":sync_fresh") + ":sync_not_failing")
        if failing is None:
            continue
        stale = conditions.pop(key)
        failing.severity = max(failing.severity, stale.severity, key=severity_rank)
        failing.lines.extend(line for line in stale.lines if line not in failing.lines)
        failing.records |= stale.records
        failing.runs |= stale.runs
        failing.entities |= stale.entities


ACTIVE_SCOPE = ["check", "sync_health"]  # the sources whose complete set check_alerts returns
