"""The report's sections, each read from the marts as they are: the report ranks, filters and lays out,
it never recomputes a KPI (those rules live in dbt)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from reporting.periods import Period
from reporting.warehouse import ALERT_OPTIONAL, Unavailable, Warehouse, as_date

# The headline shows the highest level of subject the scorecard has for the period.
SUBJECT_LEVELS = ("region", "agency", "team", "store", "person")
TREND_PERIODS = 12
HEADLINE_SUBJECTS = 6  # lines per trend chart; the table below the charts lists every subject
TOP_MOVERS = 8
TOP_SKUS = 3
DEADLINE_HORIZON_DAYS = 30
STATUS_ORDER = {"critical": 0, "warning": 1, "no_data": 2, "on_track": 3, "exempt": 4}
SEVERITY_ORDER = {"critical": 0, "warning": 1}
CONCERNS = ("freshness", "failures", "credential", "gap", "volume")


@dataclass
class Section:
    missing: list[Unavailable] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return not self.missing


def _labels(wh: Warehouse) -> dict[str, str]:
    if wh.check("kpi_definitions") is not None:
        return {}
    return {r["kpi_name"]: r["label"] for r in wh.rows("select kpi_name, label from marts.kpi_definitions")}


def headline(wh: Warehouse, period: Period) -> Section:
    problem = wh.check("kpi_scorecard")
    if problem:
        return Section([problem])
    levels = {
        r["subject_type"]
        for r in wh.rows(
            "select distinct subject_type from marts.kpi_scorecard where period_type = ? and period_start = ?",
            [period.grain, period.start],
        )
    }
    level = next((lv for lv in SUBJECT_LEVELS if lv in levels), None)
    if level is None:
        return Section(data={"level": None, "kpis": [], "rows": []})
    rows = wh.rows(
        """
        select subject_id, role, kpi_name, actual, target, attainment, weight, status
        from marts.kpi_scorecard
        where period_type = ? and period_start = ? and subject_type = ?
        order by subject_id, role, kpi_name
        """,
        [period.grain, period.start, level],
    )
    weights: dict[str, float] = defaultdict(float)
    for r in rows:
        weights[r["kpi_name"]] = max(weights[r["kpi_name"]], r["weight"] or 0.0)
    kpis = sorted(weights, key=lambda k: (-weights[k], k))
    subjects = sorted({r["subject_id"] for r in rows})
    charted = subjects[:HEADLINE_SUBJECTS]
    window = period.trailing(TREND_PERIODS)
    trend = wh.rows(
        """
        select subject_id, kpi_name, period_start, actual, target
        from marts.kpi_scorecard
        where period_type = ? and subject_type = ? and period_start between ? and ?
        order by subject_id, kpi_name, period_start, role
        """,
        [period.grain, level, window[0].start, period.start],
    )
    points: dict[tuple[str, str], dict[Any, dict[str, Any]]] = defaultdict(dict)
    for r in trend:
        points[(r["subject_id"], r["kpi_name"])].setdefault(as_date(r["period_start"]), r)
    labels = _labels(wh)
    charts = []
    for kpi in kpis:
        series = []
        for subject in charted:
            by_start = points.get((subject, kpi), {})
            series.append(
                {
                    "subject": subject,
                    "actual": [by_start.get(p.start, {}).get("actual") for p in window],
                    "target": [by_start.get(p.start, {}).get("target") for p in window],
                }
            )
        charts.append({"kpi": kpi, "label": labels.get(kpi, kpi), "series": series})
    return Section(
        data={
            "level": level,
            "kpis": kpis,
            "labels": labels,
            "subjects": subjects,
            "charted": charted,
            "window": [p.short_label for p in window],
            "rows": rows,
            "charts": charts,
        }
    )


def attainment(wh: Warehouse, period: Period) -> Section:
    section = Section()
    totals_problem = wh.check("kpi_scorecard_totals")
    scorecard_problem = wh.check("kpi_scorecard")
    section.missing = [p for p in (totals_problem, scorecard_problem) if p]
    if not totals_problem:
        totals = wh.rows(
            """
            select role, subject_type, subject_id, total_score, rank_in_role
            from marts.kpi_scorecard_totals
            where period_type = ? and period_start = ?
            order by role, rank_in_role nulls last, subject_id
            """,
            [period.grain, period.start],
        )
        by_role: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in totals:
            by_role[r["role"]].append(r)
        section.data["totals"] = dict(sorted(by_role.items()))
    if not scorecard_problem:
        cells = wh.rows(
            """
            select role, subject_type, subject_id, kpi_name, attainment, status
            from marts.kpi_scorecard
            where period_type = ? and period_start = ?
            order by role, subject_type, subject_id, kpi_name
            """,
            [period.grain, period.start],
        )
        matrix: dict[str, dict[str, Any]] = {}
        for c in cells:
            role = matrix.setdefault(c["role"], {"kpis": set(), "subjects": {}})
            role["kpis"].add(c["kpi_name"])
            role["subjects"].setdefault((c["subject_type"], c["subject_id"]), {})[c["kpi_name"]] = c
        for role in matrix.values():
            role["kpis"] = sorted(role["kpis"])
        section.data["matrix"] = dict(sorted(matrix.items()))
        section.data["labels"] = _labels(wh)
    return section


def movers(wh: Warehouse, period: Period) -> Section:
    period_table = f"kpi_{period.grain}ly"
    problems = [p for p in (wh.check("kpi_gmv_drivers"), wh.check(period_table)) if p]
    if problems:
        return Section(problems)
    rows = wh.rows(
        f"""
        select
            d.store_id, d.platform, d.driver_basis, d.currency_code, d.is_complete_comparison,
            d.gmv_prev, d.gmv, d.gmv_change, d.gmv_change_pct,
            d.traffic_effect, d.conversion_effect, d.orders_effect, d.aov_effect,
            cur.reporting_currency_code,
            cur.gmv_reporting - coalesce(prev.gmv_reporting, 0) as gmv_change_reporting
        from marts.kpi_gmv_drivers as d
        inner join marts.{period_table} as cur on cur.store_id = d.store_id and cur.period_start = d.period_start
        left join marts.{period_table} as prev
            on prev.store_id = d.store_id and prev.period_start = d.previous_period_start
        where d.period_grain = ? and d.period_start = ?
        order by abs(gmv_change_reporting) desc nulls last, d.store_id
        limit {TOP_MOVERS}
        """,
        [period.grain, period.start],
    )
    for r in rows:
        effects = [
            (name, r[column])
            for name, column in (
                ("traffic", "traffic_effect"),
                ("conversion", "conversion_effect"),
                ("orders", "orders_effect"),
                ("AOV", "aov_effect"),
            )
            if r[column] is not None
        ]
        r["effects"] = [*effects, ("GMV change", r["gmv_change"])]
        r["skus"] = []
    section = Section(data={"rows": rows})
    problem = wh.check("kpi_gmv_contribution")
    if problem:
        section.data["skus_missing"] = problem
    elif rows:
        skus = wh.rows(
            f"""
            select store_id, sku, gmv_change, share_of_store_change
            from marts.kpi_gmv_contribution
            where period_grain = ? and period_start = ? and store_id in ({", ".join("?" * len(rows))})
            qualify row_number() over (partition by store_id order by abs(gmv_change) desc, sku) <= {TOP_SKUS}
            order by store_id, abs(gmv_change) desc, sku
            """,
            [period.grain, period.start, *(r["store_id"] for r in rows)],
        )
        by_store = defaultdict(list)
        for s in skus:
            by_store[s["store_id"]].append(s)
        for r in rows:
            r["skus"] = by_store.get(r["store_id"], [])
    return section


def breaches(wh: Warehouse, period: Period) -> Section:
    section = Section()
    problem = wh.check("kpi_scorecard")
    if problem:
        section.missing.append(problem)
    else:
        rows = wh.rows(
            """
            select role, subject_type, subject_id, kpi_name, actual, target, attainment, status
            from marts.kpi_scorecard
            where period_type = ? and period_start = ? and status in ('critical', 'warning')
            """,
            [period.grain, period.start],
        )
        section.data["targets"] = sorted(
            rows, key=lambda r: (STATUS_ORDER[r["status"]], r["role"], r["subject_id"], r["kpi_name"])
        )
    problem = wh.check("kpi_alerts")
    if problem:
        section.missing.append(problem)
    else:
        optional = [c for c in ALERT_OPTIONAL if c in wh.columns("kpi_alerts")]
        extra = "".join(f", {c}" for c in optional)
        rows = wh.rows(
            f"""
            select rule_id, severity, store_id, kpi_date, metric, kpi_value as value, threshold{extra}
            from marts.kpi_alerts
            where kpi_date between ? and ?
            """,
            [period.start, period.end],
        )
        section.data["alerts"] = sorted(
            rows,
            key=lambda r: (SEVERITY_ORDER.get(r["severity"], 9), r["kpi_date"], r["store_id"], r["rule_id"]),
        )
    problem = wh.check("alert_history")
    if problem:
        section.missing.append(problem)
    else:
        # open at the end of the period: the condition's newest notification by then is not a resolution
        section.data["open"] = wh.rows(
            """
            with notifications as (
                select
                    notification_id,
                    any_value(condition_key) as condition_key,
                    any_value(notification_kind) as notification_kind,
                    min(notified_at) as notified_at,
                    any_value(alert_source) as alert_source,
                    any_value(rule_id) as rule_id,
                    any_value(severity) as severity,
                    any_value(owner) as owner,
                    any_value(title) as title,
                    any_value(subject) as subject,
                    string_agg(channel || ' ' || final_status, ', ' order by channel) as deliveries
                from marts.alert_history
                where notified_at < ?
                group by notification_id
            )
            select * from notifications
            qualify row_number() over (
                partition by condition_key order by notified_at desc, notification_id desc
            ) = 1 and notification_kind != 'resolved'
            order by case severity when 'critical' then 0 else 1 end, notified_at desc, condition_key
            """,
            [period.end + timedelta(days=1)],
        )
    return section


def freshness(wh: Warehouse) -> Section:
    problem = wh.check("sync_health")
    if problem:
        return Section([problem])
    rows = wh.rows(
        """
        select * from marts.sync_health
        order by store_id, source, entity
        """
    )
    counts = {concern: Counter(r[f"{concern}_level"] for r in rows) for concern in CONCERNS}
    problems = [r for r in rows if any(r[f"{c}_level"] != "ok" for c in CONCERNS)]
    for r in problems:
        r["issues"] = [f"{c} {r[f'{c}_level']}" for c in CONCERNS if r[f"{c}_level"] != "ok"]
    built = max((r["built_at"] for r in rows if r["built_at"] is not None), default=None)
    return Section(data={"rows": rows, "counts": counts, "problems": problems, "built_at": built})


def deadlines(wh: Warehouse, period: Period) -> Section:
    problem = wh.check("compliance_deadlines")
    if problem:
        return Section([problem])
    rows = wh.rows(
        f"""
        select obligation_id, obligation_type, country, store_id, due_date, status, days_until_due
        from marts.compliance_deadlines
        where days_until_due <= {DEADLINE_HORIZON_DAYS}
        order by due_date, obligation_id
        """
    )
    return Section(data={"rows": rows, "horizon": DEADLINE_HORIZON_DAYS})
