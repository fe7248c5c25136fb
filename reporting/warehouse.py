"""Read-only access to the marts, and the tables and columns each section of the report relies on."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

log = logging.getLogger("reporting")

SCHEMA = "marts"

# Columns the report reads from each contract table (any other column may come and go).
REQUIRED: dict[str, tuple[str, ...]] = {
    "kpi_scorecard": (
        "subject_id",
        "subject_type",
        "role",
        "period_type",
        "period_start",
        "kpi_name",
        "actual",
        "target",
        "attainment",
        "weight",
        "status",
    ),
    "kpi_scorecard_totals": (
        "subject_id",
        "subject_type",
        "role",
        "period_type",
        "period_start",
        "total_score",
        "rank_in_role",
    ),
    "kpi_definitions": ("kpi_name", "label"),
    "kpi_gmv_drivers": (
        "period_grain",
        "store_id",
        "platform",
        "period_start",
        "previous_period_start",
        "is_complete_comparison",
        "currency_code",
        "driver_basis",
        "gmv",
        "gmv_prev",
        "gmv_change",
        "gmv_change_pct",
        "traffic_effect",
        "conversion_effect",
        "orders_effect",
        "aov_effect",
    ),
    "kpi_weekly": ("store_id", "period_start", "gmv_reporting", "reporting_currency_code"),
    "kpi_monthly": ("store_id", "period_start", "gmv_reporting", "reporting_currency_code"),
    "kpi_gmv_contribution": ("period_grain", "store_id", "sku", "period_start", "gmv_change", "share_of_store_change"),
    "kpi_alerts": ("rule_id", "severity", "store_id", "kpi_date", "metric", "kpi_value", "threshold"),
    "alert_history": (
        "notification_id",
        "channel",
        "notification_kind",
        "notified_at",
        "condition_key",
        "alert_source",
        "rule_id",
        "severity",
        "owner",
        "title",
        "subject",
        "final_status",
    ),
    "sync_health": (
        "store_id",
        "source",
        "entity",
        "last_status",
        "last_error_class",
        "last_success_at",
        "hours_since_success",
        "tolerance_hours",
        "built_at",
        "days_until_credential_expiry",
        "freshness_level",
        "failures_level",
        "credential_level",
        "gap_level",
        "volume_level",
    ),
    "compliance_deadlines": (
        "obligation_id",
        "obligation_type",
        "country",
        "store_id",
        "due_date",
        "status",
        "days_until_due",
    ),
}

ALERT_OPTIONAL = ("owner", "subject_type", "subject_id", "comparison")


@dataclass(frozen=True)
class Unavailable:
    """Why a section (or part of one) cannot be shown: never a silent gap, never made-up rows."""

    table: str
    reason: str

    @property
    def message(self) -> str:
        return f"{SCHEMA}.{self.table}: {self.reason}"


class Warehouse:
    """The DuckDB warehouse opened read-only (a writer holding it raises duckdb.IOException)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no warehouse (run `make demo` or `kpi run` first)")
        self._con = duckdb.connect(str(self.path), read_only=True)
        found = self._con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = ?", [SCHEMA]
        ).fetchall()
        self._columns: dict[str, set[str]] = {}
        self._checked: dict[tuple[str, tuple[str, ...]], Unavailable | None] = {}
        for table, column in found:
            self._columns.setdefault(table, set()).add(column)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def columns(self, table: str) -> set[str]:
        return self._columns.get(table, set())

    def check(self, table: str, extra: tuple[str, ...] = ()) -> Unavailable | None:
        """None when the table is there with every column the report reads; else why not (logged once)."""
        if (table, extra) in self._checked:
            return self._checked[(table, extra)]
        problem = None
        if table not in self._columns:
            if table == "compliance_deadlines":
                problem = Unavailable(table, "not configured (the table is not built in this warehouse)")
            else:
                problem = Unavailable(table, "not built in this warehouse (run the transform that builds it)")
        else:
            missing = [c for c in (*REQUIRED[table], *extra) if c not in self._columns[table]]
            if missing:
                problem = Unavailable(
                    table, f"lacks column(s) {', '.join(missing)}: rebuild the marts with this version of the project"
                )
        if problem is not None:
            log.warning("review report: %s", problem.message)
        self._checked[(table, extra)] = problem
        return problem

    def pick(self, table: str, candidates: tuple[str, ...]) -> str | None:
        return next((c for c in candidates if c in self.columns(table)), None)

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = self._con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        # DECIMAL columns arrive as Decimal: floats are exact for the digits the report shows
        return [
            {n: float(v) if isinstance(v, Decimal) else v for n, v in zip(names, values, strict=True)}
            for values in cursor.fetchall()
        ]

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        row = self._con.execute(sql, params or []).fetchone()
        return row[0] if row else None


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
