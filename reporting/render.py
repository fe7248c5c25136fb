"""Render the review report of one period into one self-contained HTML file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from reporting import charts, sections
from reporting.periods import Period
from reporting.warehouse import Warehouse

STATUS_COLORS = {
    "on_track": "#2e7d32",
    "warning": "#f9a825",
    "critical": "#c62828",
    "exempt": "#9e9e9e",
    "no_data": "#bdbdbd",
}


def num(value: float | int | None) -> str:
    """Numbers as the report shows them: integers with separators, else 2 decimals (4 below 1)."""
    if value is None:
        return "-"
    if float(value) == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4f}"


def signed(value: float | int | None) -> str:
    text = num(value)
    return f"+{text}" if value is not None and value > 0 else text


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reporting", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=num, signed=signed, pct=pct)
    env.globals.update(status_colors=STATUS_COLORS, level_colors=charts.LEVEL_COLORS, charts_palette=charts.PALETTE)
    return env


@dataclass
class ReportResult:
    path: Path
    period: Period
    counts: dict[str, int]
    missing: list[str] = field(default_factory=list)

    @property
    def summary_markdown(self) -> str:
        lines = [f"**KPI review, {self.period.label}**", "", "| section | rows |", "|---|---|"]
        lines += [f"| {name.replace('_', ' ')} | {count} |" for name, count in self.counts.items()]
        if self.missing:
            lines += ["", "Not shown (table missing or out of date):", *(f"- {m}" for m in self.missing)]
        return "\n".join(lines)


def _headline_charts(data: dict) -> list[Markup]:
    out = []
    for chart in data.get("charts", []):
        series = []
        for i, s in enumerate(chart["series"]):
            color = charts.PALETTE[i % len(charts.PALETTE)]
            series.append(charts.Series(f"{s['subject']} actual", s["actual"], color))
            series.append(charts.Series(f"{s['subject']} target", s["target"], color, dashed=True))
        out.append(charts.line_chart(f"{chart['label']}: actual and target", data["window"], series))
    return out


def build_context(wh: Warehouse, period: Period) -> tuple[dict, dict[str, int], list[str]]:
    headline = sections.headline(wh, period)
    attainment = sections.attainment(wh, period)
    movers = sections.movers(wh, period)
    breaches = sections.breaches(wh, period)
    freshness = sections.freshness(wh)
    deadlines = sections.deadlines(wh, period)

    headline.data["svgs"] = _headline_charts(headline.data)
    attainment.data["svgs"] = {
        role: charts.hbar_chart(f"Total score, {role}", [(r["subject_id"], r["total_score"]) for r in rows])
        for role, rows in attainment.data.get("totals", {}).items()
    }
    if movers.data.get("rows"):
        currency = movers.data["rows"][0]["reporting_currency_code"]
        movers.data["svg"] = charts.hbar_chart(
            f"GMV change ({currency})", [(r["store_id"], r["gmv_change_reporting"]) for r in movers.data["rows"]]
        )
        for r in movers.data["rows"]:
            r["svg"] = charts.driver_chart(f"GMV drivers of {r['store_id']} ({r['currency_code']})", r["effects"])
    if freshness.available:
        freshness.data["svg"] = charts.stacked_levels_chart(
            "Sync health by concern", [(c, dict(freshness.data["counts"][c])) for c in sections.CONCERNS]
        )

    counts = {
        "headline_kpis": len(headline.data.get("kpis", [])),
        "scored_subjects": sum(len(r["subjects"]) for r in attainment.data.get("matrix", {}).values()),
        "top_movers": len(movers.data.get("rows", [])),
        "target_breaches": len(breaches.data.get("targets", [])),
        "alerts_in_period": len(breaches.data.get("alerts", [])),
        "open_alerts": len(breaches.data.get("open", [])),
        "sync_issues": len(freshness.data.get("problems", [])),
        "upcoming_deadlines": len(deadlines.data.get("rows", [])),
    }
    parts = (headline, attainment, movers, breaches, freshness, deadlines)
    missing = sorted({m.message for s in parts for m in s.missing})
    if "skus_missing" in movers.data:
        missing = sorted({*missing, movers.data["skus_missing"].message})
    context = {
        "period": period,
        "headline": headline,
        "attainment": attainment,
        "movers": movers,
        "breaches": breaches,
        "freshness": freshness,
        "deadlines": deadlines,
        "counts": counts,
        "missing": missing,
        "concerns": sections.CONCERNS,
    }
    return context, counts, missing


def report_path(reports_dir: Path, period: Period) -> Path:
    return reports_dir / f"kpi-review-{period.slug}.html"


def render_html(wh: Warehouse, period: Period) -> tuple[str, dict[str, int], list[str]]:
    context, counts, missing = build_context(wh, period)
    html = _environment().get_template("report.html.j2").render(**context)
    return html, counts, missing


def render_report(warehouse_path: Path | str, period: Period, reports_dir: Path | str) -> ReportResult:
    """Read the warehouse (read-only), write the period's report, replacing an earlier one atomically."""
    with Warehouse(warehouse_path) as wh:
        html, counts, missing = render_html(wh, period)
    path = report_path(Path(reports_dir), period)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(html, encoding="utf-8")
    partial.replace(path)
    return ReportResult(path, period, counts, missing)
