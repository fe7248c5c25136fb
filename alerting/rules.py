"""KPI alert rules: the user's file (`alert_rules.yaml`, or KPI_ALERT_RULES), validated against the KPI
catalog and landed in the lake for dbt, which evaluates them into marts.kpi_alerts.

A rule watches one metric of the KPI catalog at one level (store, SKU, platform or region), over the day
or a trailing window of N complete days (ratios from the window's sums), optionally against the
subject's own baseline (the B days before the window: a spike of 2.0 is twice the usual), with warning and
critical lines and minimum-volume guards (no ACoS alert on $3 of spend). Errors name file, line and field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ingestion.config import load_yaml_model
from ingestion.lake import RawLake, RawRecord, new_sync_id
from kpi_catalog.generate import Catalog, Kpi
from kpi_catalog.generate import load as load_catalog

LEVEL_GRAIN = {"store": "store", "sku": "sku", "platform": "rollup", "region": "rollup", "obligation": None}
SCOPE_DIMENSIONS = {"stores": "store", "platforms": "platform", "regions": "region", "skus": "sku", "owners": "owner"}
# Metrics from outside the catalog's daily marts, by the one level they exist at: a store's month-to-date
# GMV pacing attainment (marts.kpi_scorecard) and an open compliance deadline's days left.
EXTRA_METRICS: dict[str, str] = {"gmv_pacing": "store", "compliance_days_until_due": "obligation"}
MAX_WINDOW_DAYS = 90
RULE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class Guard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str
    min: float = Field(ge=0)


class Scope(BaseModel):
    """Filters: a subject is in scope when it matches every listed dimension (any of its values)."""

    model_config = ConfigDict(extra="forbid")

    stores: list[str] = []
    platforms: list[str] = []
    regions: list[str] = []
    skus: list[str] = []
    owners: list[str] = []  # the person or team owning the store or SKU on the day (alert owner)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    description: str = Field(min_length=1)
    metric: str
    level: Literal["store", "sku", "platform", "region", "obligation"] = "store"
    scope: Scope = Scope()
    window_days: int = Field(default=1, ge=1, le=MAX_WINDOW_DAYS)
    baseline_days: int | None = Field(default=None, ge=1, le=MAX_WINDOW_DAYS)
    comparison: Literal["above", "below"]
    warning: float
    critical: float | None = None
    guards: list[Guard] = []
    owner_role: str | None = None
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not RULE_ID.match(value):
            raise ValueError("a rule id is lower_snake_case (letters, digits, underscores)")
        return value

    @model_validator(mode="after")
    def _lines(self) -> Rule:
        if self.critical is not None:
            worse = self.critical >= self.warning if self.comparison == "above" else self.critical <= self.warning
            if not worse:
                side = "at or above" if self.comparison == "above" else "at or below"
                raise ValueError(
                    f"critical ({self.critical}) must be {side} warning ({self.warning}) for comparison "
                    f"`{self.comparison}`"
                )
        return self


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[Rule]

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"rule id `{rule.id}` is used twice")
            seen.add(rule.id)
        return rules


def _check_metric(rule: Rule, name: str, what: str, kpis: dict[str, Kpi], *, measure_only: bool) -> str | None:
    grain = LEVEL_GRAIN[rule.level]
    if name in EXTRA_METRICS:
        if measure_only or EXTRA_METRICS[name] != rule.level:
            return f"{what} `{name}` is only available as a rule metric at level {EXTRA_METRICS[name]}"
        return None
    if grain is None:
        return f"{what} `{name}`: level {rule.level} has only " + ", ".join(
            m for m, level in EXTRA_METRICS.items() if level == rule.level
        )
    kpi = kpis.get(name)
    if kpi is None:
        close = sorted(k for k in kpis if name in k or k in name)[:5]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return f"{what} `{name}` is not a KPI of dbt_project/kpi_catalog.yml{hint}"
    if grain not in kpi.grains:
        return f"{what} `{name}` has no {rule.level} grain (grains: {', '.join(kpi.grains)})"
    if measure_only and kpi.kind != "measure":
        return f"{what} `{name}` is a {kpi.kind}; a guard sums a measure over the window"
    return None


def check_against_catalog(rules: RulesFile, catalog: Catalog) -> list[tuple[tuple, str]]:
    """Problems the schema cannot see, as (field path, message): metrics that do not exist at the rule's
    level, windows over KPIs that cannot be summed (snapshots, percentiles)."""
    kpis = {k.name: k for k in catalog.kpis}
    problems: list[tuple[tuple, str]] = []
    for i, rule in enumerate(rules.rules):
        at = ("rules", i)
        problem = _check_metric(rule, rule.metric, "metric", kpis, measure_only=False)
        if problem:
            problems.append(((*at, "metric"), problem))
        else:
            kind = kpis[rule.metric].kind if rule.metric in kpis else "special"
            if kind not in ("measure", "ratio") and (rule.window_days > 1 or rule.baseline_days):
                field = "window_days" if rule.window_days > 1 else "baseline_days"
                problems.append(
                    (
                        (*at, field),
                        f"`{rule.metric}` is a {kind}: it is evaluated on the day only (no trailing "
                        "window or baseline)",
                    )
                )
        for j, guard in enumerate(rule.guards):
            problem = _check_metric(rule, guard.metric, "guard metric", kpis, measure_only=True)
            if problem:
                problems.append(((*at, "guards", j, "metric"), problem))
        if rule.level in ("platform", "region") and rule.scope.owners:
            problems.append(((*at, "scope", "owners"), "owners apply to store, SKU and obligation rules only"))
        if rule.level != "sku" and rule.scope.skus:
            problems.append(((*at, "scope", "skus"), "skus apply to level sku only"))
    return problems


def load_rules(path: Path | str, catalog: Catalog | None = None) -> RulesFile:
    catalog = catalog or load_catalog()
    return load_yaml_model(
        path,
        RulesFile,
        what="alert rules file",
        expected="a mapping with a `rules` list",
        checks=lambda rules: check_against_catalog(rules, catalog),
    )


def rule_records(rules: RulesFile, catalog: Catalog | None = None) -> list[RawRecord]:
    """The rules flattened for SQL: one `rule` record each, one `scope` record per filter value and one
    `guard` record per guard (dbt reads them without JSON arrays, on any warehouse)."""
    kpis = {k.name: k for k in (catalog or load_catalog()).kpis}
    # always one record, so that a file emptied of rules still replaces the previous load
    records = [
        RawRecord(record_id="_file", updated_at=None, payload={"record_type": "file", "rules": len(rules.rules)})
    ]
    for rule in rules.rules:
        owner_role = rule.owner_role or (kpis[rule.metric].owner_role if rule.metric in kpis else None)
        records.append(
            RawRecord(
                record_id=rule.id,
                updated_at=None,
                payload={
                    "record_type": "rule",
                    "rule_id": rule.id,
                    "description": rule.description,
                    "metric": rule.metric,
                    "level": rule.level,
                    "window_days": rule.window_days,
                    "baseline_days": rule.baseline_days,
                    "comparison": rule.comparison,
                    "warning": rule.warning,
                    "critical": rule.critical,
                    "owner_role": owner_role,
                    "enabled": rule.enabled,
                },
            )
        )
        for field_name, dimension in SCOPE_DIMENSIONS.items():
            for value in getattr(rule.scope, field_name):
                records.append(
                    RawRecord(
                        record_id=f"{rule.id}/scope/{dimension}/{value}",
                        updated_at=None,
                        payload={"record_type": "scope", "rule_id": rule.id, "dimension": dimension, "value": value},
                    )
                )
        for guard in rule.guards:
            records.append(
                RawRecord(
                    record_id=f"{rule.id}/guard/{guard.metric}",
                    updated_at=None,
                    payload={"record_type": "guard", "rule_id": rule.id, "metric": guard.metric, "min": guard.min},
                )
            )
    return records


def land_rules(rules: RulesFile, lake: RawLake) -> str:
    """Land the validated rules; staging reads only the newest load, so a rule deleted from the file
    stops being evaluated."""
    sync_id = new_sync_id()
    lake.write("config", "alert_rules", "_all", rule_records(rules), sync_id)
    return sync_id
