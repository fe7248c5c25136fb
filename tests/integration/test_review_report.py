"""The review report rendered from a fixture warehouse: exact figures, notes for missing tables, escaping,
determinism, and the page as headless Chromium draws it (not blank, charts present and coloured)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from reporting import Period, render_report
from tests.report_fixture import HOSTILE, build_warehouse

WEEK = Period("week", date(2026, 3, 9))
WIDTH = 1280


class Tables(HTMLParser):
    """Rows of every table with an id or data-role: (the row's attributes, the text of its cells)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[dict, list[str]]]] = {}
        self.stack: list[str | None] = []
        self.cells: list[tuple[str | None, list[str]]] = []
        self.notes: list[tuple[str | None, str]] = []
        self.note: list[str] | None = None
        self.note_table: str | None = None
        self.in_svg = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.in_svg += 1
        elif tag == "table":
            role = f":{a['data-role']}" if "data-role" in a else ""
            self.stack.append(a.get("id") or (f"{a['class']}{role}" if "class" in a else None))
        elif tag == "tr" and self.stack and self.stack[-1]:
            self.tables.setdefault(self.stack[-1], []).append((a, []))
        elif tag in ("td", "th") and self.stack:
            self.cells.append((self.stack[-1], []))
        elif tag == "p" and "missing" in (a.get("class") or ""):
            self.note, self.note_table = [], a.get("data-table")

    def handle_endtag(self, tag):
        if tag == "svg":
            self.in_svg -= 1
        elif tag == "table":
            self.stack.pop()
        elif tag in ("td", "th") and self.cells:
            table, text = self.cells.pop()
            if table:
                self.tables[table][-1][1].append(" ".join("".join(text).split()))
        elif tag == "p" and self.note is not None:
            self.notes.append((self.note_table, " ".join("".join(self.note).split())))
            self.note = None

    def handle_data(self, data):
        if self.in_svg:
            return
        if self.cells:
            self.cells[-1][1].append(data)
        if self.note is not None:
            self.note.append(data)


def parse(html: str) -> Tables:
    parser = Tables()
    parser.feed(html)
    return parser


def cells(parsed: Tables, table: str, **attrs: str) -> list[str]:
    (row,) = [cells for a, cells in parsed.tables[table] if all(a.get(f"data-{k}") == v for k, v in attrs.items())]
    return row


@pytest.fixture
def warehouse(tmp_path) -> Path:
    return build_warehouse(tmp_path / "warehouse" / "kpi.duckdb")


@pytest.fixture
def report(warehouse, tmp_path) -> Path:
    return render_report(warehouse, WEEK, tmp_path / "reports").path


def test_figures_are_the_fixture_values(report):
    html = report.read_text()
    t = parse(html)
    # headline: the highest level in the scorecard (regions), this week only
    assert [a["data-subject"] + "/" + a["data-kpi"] for a, _ in t.tables["headline-table"][1:]] == [
        "EU/gmv",
        "EU/ship_rate_48h",
        "NA/gmv",
        "NA/ship_rate_48h",
    ]
    assert cells(t, "headline-table", subject="NA", kpi="gmv") == [
        "NA", "manager", "GMV", "12,345.67", "10,000", "123.5%", "0.6000", "on_track",
    ]  # fmt: skip
    assert cells(t, "headline-table", subject="EU", kpi="gmv")[3:6] == ["8,000.25", "10,000", "80.0%"]
    assert cells(t, "headline-table", subject="NA", kpi="ship_rate_48h")[3:] == [
        "0.9125", "0.9500", "96.0%", "0.4000", "warning",
    ]  # fmt: skip
    # attainment: totals by rank within the role, and the per-KPI matrix
    assert [c for _, c in t.tables["totals:manager"][1:]] == [
        ["1", "NA", "region", "87.50"],
        ["2", "EU", "region", "62.25"],
    ]
    assert [c for _, c in t.tables["totals:operator"][1:]] == [
        ["1", "alice", "person", "91"], ["2", HOSTILE, "person", "20.50"],
    ]  # fmt: skip
    assert cells(t, "matrix:manager", subject="EU") == ["EU region", "80.0%", "102.1%"]
    # movers: ranked by the change in the reporting currency (400, -201, 50), drivers as the mart has them
    assert [a["data-store"] for a, _ in t.tables["movers-table"][1:]] == ["s-us", "s-jp", "s-de"]
    assert cells(t, "movers-table", store="s-jp")[1:7] == [
        "orders x aov", "330,000", "300,000", "-30,000", "-9.1%", "-201",
    ]  # fmt: skip
    effects = [c for a, c in t.tables["effects"] if a.get("data-effect")]
    assert effects[:4] == [["traffic", "+400"], ["conversion", "-480"], ["AOV", "+480"], ["GMV change", "+400"]]
    assert effects[4:7] == [["orders", "-33,000"], ["AOV", "+3,000"], ["GMV change", "-30,000"]]
    assert re.findall(r'<li data-sku="([^"]+)">([^<]+)</li>', html) == [
        ("SKU-A", "SKU-A: +300 (75.0% of the change)"),
        ("SKU-B", "SKU-B: +150 (37.5% of the change)"),
        ("SKU-C", "SKU-C: -50 (-12.5% of the change)"),
    ]
    # breaches: missed targets (critical first), alerts of days in the week, conditions open at its end
    assert [c[2:] for _, c in t.tables["target-breaches"][1:]] == [
        ["EU region", "gmv", "8,000.25", "10,000", "80.0%"],
        [f"{HOSTILE} person", "gmv", "1,000", "4,000", "25.0%"],
        ["NA region", "ship_rate_48h", "0.9125", "0.9500", "96.0%"],
    ]
    assert [c for _, c in t.tables["alerts-in-period"][1:]] == [
        ["critical", "2026-03-10", "s-us", "refund_rate_high", "refund_rate_by_value", "0.1250", "0.1000"],
        ["warning", "2026-03-15", "s-jp", "gmv_drop", "gmv_vs_trailing_28d", "0.5500", "0.6000"],
    ]
    assert [a["data-condition"] for a, _ in t.tables["open-alerts"][1:]] == ["kpi:refund_rate_high:s-us"]
    assert cells(t, "open-alerts", condition="kpi:refund_rate_high:s-us")[-1] == "email-ops failed, slack-ops delivered"
    # freshness: counts per concern and level, and the sources that are not ok
    assert cells(t, "freshness-counts", concern="freshness") == ["freshness", "2", "1", "0", "0"]
    assert cells(t, "freshness-counts", concern="credential") == ["credential", "2", "0", "0", "1"]
    assert [a["data-store"] for a, _ in t.tables["sync-problems"][1:]] == ["s-de", "s-jp"]
    assert cells(t, "sync-problems", store="s-jp")[3:8] == [
        "freshness warn, failures warn", "2026-03-15 00:00:00", "30", "24", "throttled",
    ]  # fmt: skip
    counts = dict(re.findall(r'<li data-count="(\w+)"><b>(\d+)</b>', html))
    assert counts == {
        "headline_kpis": "2",
        "scored_subjects": "4",
        "top_movers": "3",
        "target_breaches": "3",
        "alerts_in_period": "2",
        "open_alerts": "1",
        "sync_issues": "2",
        "upcoming_deadlines": "0",
    }


def test_text_is_escaped_and_nothing_is_fetched(report):
    html = report.read_text()
    assert "<script" not in html
    assert "o&#39;neil &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


def test_same_warehouse_and_period_give_the_same_bytes(warehouse, tmp_path):
    first = render_report(warehouse, WEEK, tmp_path / "a").path.read_bytes()
    second = render_report(warehouse, WEEK, tmp_path / "b").path.read_bytes()
    assert first == second


def test_missing_tables_are_named_and_empty_ones_say_none(tmp_path, caplog):
    empty_deadlines = {
        "compliance_deadlines": (
            "obligation_id varchar, obligation_type varchar, country varchar, store_id varchar, due_date date, "
            "status varchar, days_until_due integer",
            [],
        ),
    }
    path = build_warehouse(
        tmp_path / "kpi.duckdb", drop=("kpi_scorecard", "kpi_scorecard_totals", "kpi_gmv_contribution"),
        extra=empty_deadlines,
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="reporting"):
        result = render_report(path, WEEK, tmp_path / "reports")
    t = parse(result.path.read_text())
    notes = {table for table, _ in t.notes if table}
    assert notes == {"marts.kpi_scorecard", "marts.kpi_scorecard_totals", "marts.kpi_gmv_contribution"}
    assert ("marts.kpi_scorecard", "Not shown: marts.kpi_scorecard not built in this warehouse (run the transform "
            "that builds it).") in t.notes  # fmt: skip
    assert result.missing == [
        "marts.kpi_gmv_contribution: not built in this warehouse (run the transform that builds it)",
        "marts.kpi_scorecard: not built in this warehouse (run the transform that builds it)",
        "marts.kpi_scorecard_totals: not built in this warehouse (run the transform that builds it)",
    ]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "marts.kpi_scorecard:" in logged and "marts.kpi_scorecard_totals:" in logged
    assert result.counts["headline_kpis"] == 0 and result.counts["top_movers"] == 3
    assert "None due within 30 days." in result.path.read_text()
    assert "headline-table" not in t.tables and "target-breaches" not in t.tables


def test_missing_compliance_table_and_stale_columns(tmp_path):
    path = build_warehouse(tmp_path / "kpi.duckdb")
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute("alter table marts.sync_health drop column gap_level")
    result = render_report(path, WEEK, tmp_path / "reports")
    notes = dict(parse(result.path.read_text()).notes)
    assert notes["marts.compliance_deadlines"] == (
        "Not shown: marts.compliance_deadlines not configured (the table is not built in this warehouse)."
    )
    assert notes["marts.sync_health"].startswith("Not shown: marts.sync_health lacks column(s) gap_level:")


def chromium() -> str:
    binary = os.environ.get("KPI_CHROMIUM") or shutil.which("chromium")
    if not binary:
        pytest.fail("headless Chromium is missing: `make chromium` installs it (or set KPI_CHROMIUM)")
    return binary


def run_chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--force-device-scale-factor=1", "--no-first-run", "--disable-extensions", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip


# Measures the laid-out page for the test: where each chart is drawn and how tall the page is.
MEASURE = """<script>
document.querySelectorAll('svg.chart').forEach(function (svg) {
  var r = svg.getBoundingClientRect();
  svg.setAttribute('data-rect', [r.left, r.top + window.scrollY, r.width, r.height].map(Math.round).join(','));
});
document.body.setAttribute('data-height', document.documentElement.scrollHeight);
</script>"""


def test_chromium_draws_the_report_with_its_charts(report, tmp_path):
    measured = tmp_path / "measured.html"
    measured.write_text(report.read_text().replace("</body>", MEASURE + "</body>"))
    dom = run_chromium(f"--window-size={WIDTH},900", "--dump-dom", measured.as_uri()).stdout
    rects = [tuple(map(int, r.split(","))) for r in re.findall(r'<svg class="chart[^"]*"[^>]*data-rect="([^"]+)"', dom)]
    # 2 headline KPIs, 2 roles' total scores, the movers overview, 3 driver charts, the freshness bars
    assert len(rects) == 9
    assert dom.count("<polyline") >= 4 and dom.count("<rect") >= 20
    height = int(re.search(r'data-height="(\d+)"', dom).group(1))

    png = tmp_path / "report.png"
    run_chromium(f"--window-size={WIDTH},{height}", f"--screenshot={png}", report.as_uri())
    image = Image.open(png).convert("RGB")
    assert image.size == (WIDTH, height)
    pixels = list(image.getdata())
    non_white = sum(1 for p in pixels if min(p) < 245) / len(pixels)
    assert non_white > 0.05, f"the page is nearly blank ({non_white:.1%} non-white)"
    assert max(ImageStat.Stat(image).stddev) > 30

    def coloured(box) -> int:
        left, top, w, h = box
        region = image.crop((left, top, left + w, top + h))
        return sum(1 for r, g, b in region.getdata() if max(r, g, b) - min(r, g, b) > 50)

    for rect in rects:
        assert rect[2] > 100 and rect[3] > 30, rect
        assert coloured(rect) > 150, f"no chart drawn at {rect}"
    # the first headline chart holds both series' colours (blue EU, orange NA) where it was laid out
    first = image.crop((rects[0][0], rects[0][1], rects[0][0] + rects[0][2], rects[0][1] + rects[0][3]))
    colours = set(first.getdata())
    assert (0x1F, 0x77, 0xB4) in colours and (0xFF, 0x7F, 0x0E) in colours


def test_dagster_asset_writes_the_report_with_its_metadata(warehouse, tmp_path, monkeypatch):
    import dagster as dg

    from orchestration.defs.reports import weekly_review
    from orchestration.defs.resources import KpiResource

    monkeypatch.setenv("KPI_WAREHOUSE_PATH", str(warehouse))
    monkeypatch.setenv("KPI_REPORTS_DIR", str(tmp_path / "out"))
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [weekly_review], partition_key="2026-03-09", resources={"kpi": KpiResource()}, instance=instance
        )
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    path = tmp_path / "out" / "kpi-review-week-2026-03-09.html"
    assert path.exists()
    assert metadata["path"].value == str(path)
    assert metadata["url"].value == path.as_uri()
    assert metadata["period"].value == "week 2026-W11 (09 Mar - 15 Mar 2026)"
    assert {k: metadata[k].value for k in ("top_movers", "target_breaches", "open_alerts", "missing_tables")} == {
        "top_movers": 3,
        "target_breaches": 3,
        "open_alerts": 1,
        "missing_tables": 1,
    }
    assert "marts.compliance_deadlines: not configured" in metadata["summary"].value


def test_schedules_ask_for_the_period_that_just_ended():
    from datetime import datetime

    import dagster as dg

    from orchestration.launch import load_defs

    defs = load_defs()
    for name, when, partition in (
        ("kpi_weekly_review_schedule", datetime(2026, 3, 16, 6, 0), "2026-03-09"),
        ("kpi_monthly_review_schedule", datetime(2026, 4, 1, 6, 0), "2026-03-01"),
    ):
        schedule = defs.resolve_schedule_def(name)
        context = dg.build_schedule_context(scheduled_execution_time=when, repository_def=defs.get_repository_def())
        (request,) = schedule.evaluate_tick(context).run_requests
        assert request.partition_key == partition, name


def test_report_reads_only_documented_columns_of_the_models_it_depends_on(dbt_manifest):
    """A column the report reads that a mart no longer documents (renamed, dropped) fails here, not at 06:00."""
    import json

    from reporting.warehouse import REQUIRED

    nodes = json.loads(dbt_manifest.read_text())["nodes"].values()
    documented = {
        n["name"]: set(n["columns"]) for n in nodes if n["resource_type"] == "model" and n["schema"] == "marts"
    }
    checked = {t for t in REQUIRED if t in documented}
    assert {"kpi_gmv_drivers", "kpi_weekly", "kpi_alerts", "sync_health", "alert_history"} <= checked
    gaps = {t: sorted(set(REQUIRED[t]) - documented[t]) for t in checked if set(REQUIRED[t]) - documented[t]}
    assert gaps == {}


def test_cli_writes_a_report_and_names_a_missing_warehouse(warehouse, tmp_path, monkeypatch, capsys):
    from orchestration.cli import main

    monkeypatch.setenv("KPI_WAREHOUSE_PATH", str(warehouse))
    monkeypatch.setenv("KPI_REPORTS_DIR", str(tmp_path / "out"))
    assert main(["report", "--period", "week", "--start", "2026-03-12"]) == 0
    out, err = capsys.readouterr()
    path = tmp_path / "out" / "kpi-review-week-2026-03-09.html"
    assert out == f"week 2026-W11 (09 Mar - 15 Mar 2026): {path}\nopen it in a browser: {path.as_uri()}\n"
    assert "not shown: marts.compliance_deadlines: not configured" in err
    monkeypatch.setenv("KPI_WAREHOUSE_PATH", str(tmp_path / "none" / "kpi.duckdb"))
    assert main(["report", "--period", "month"]) == 2
    assert "none/kpi.duckdb: no warehouse" in capsys.readouterr().err
