"""The review report's periods, number formats and SVG charts."""

from datetime import date

import pytest

from reporting import charts
from reporting.periods import Period
from reporting.render import num, pct, signed


def test_periods_follow_the_marts_iso_weeks_and_calendar_months():
    assert Period.last_complete("week", date(2026, 11, 22)) == Period("week", date(2026, 11, 9))  # a Sunday
    assert Period.last_complete("week", date(2026, 11, 23)) == Period("week", date(2026, 11, 16))  # a Monday
    assert Period.last_complete("month", date(2026, 3, 1)) == Period("month", date(2026, 2, 1))
    assert Period.last_complete("month", date(2026, 1, 31)) == Period("month", date(2025, 12, 1))
    assert Period("month", date(2028, 2, 1)).end == date(2028, 2, 29)
    assert Period("week", date(2026, 12, 28)).label == "week 2026-W53 (28 Dec - 03 Jan 2027)"
    assert [p.start for p in Period("month", date(2026, 2, 1)).trailing(3)] == [
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
    assert Period("month", date(2026, 3, 1)).slug == "month-2026-03"
    with pytest.raises(ValueError, match="a week starts on a Monday; 2026-03-10 is a Tuesday"):
        Period("week", date(2026, 3, 10))
    with pytest.raises(ValueError, match="a month starts on its first day"):
        Period("month", date(2026, 3, 2))
    with pytest.raises(ValueError, match="period grain 'quarter'"):
        Period("quarter", date(2026, 1, 1))  # type: ignore[arg-type]


def test_numbers_are_shown_as_they_are_stored():
    assert [num(v) for v in (1234.5, 1000.0, 12, 0.95, 0.0425, -30000, -44.456, None)] == [
        "1,234.50",
        "1,000",
        "12",
        "0.9500",
        "0.0425",
        "-30,000",
        "-44.46",
        "-",
    ]
    assert [signed(v) for v in (400, -480.0, 0, None)] == ["+400", "-480", "0", "-"]
    assert [pct(v) for v in (1.234567, 0.800025, -0.090909, None)] == ["123.5%", "80.0%", "-9.1%", "-"]


def test_axis_ticks_are_round_and_cover_the_values():
    assert charts.nice_ticks(0, 12345.67) == [0, 5000, 10000, 15000]
    assert charts.nice_ticks(0, 0.97) == [0, 0.25, 0.5, 0.75, 1.0]
    assert charts.nice_ticks(-480, 480) == [-500, -250, 0, 250, 500]
    assert [charts.compact(v) for v in (1_500_000, 25_000, 1_200, 15, 0.25)] == ["1.5M", "25k", "1.2k", "15", "0.25"]


def test_charts_are_plain_escaped_svg():
    line = charts.line_chart("GMV <all>", ["a", "b", "c", "d"], [charts.Series("x", [1.0, None, 2.0, 3.0], "#1f77b4")])
    assert line.startswith('<svg class="chart"') and "<title>GMV &lt;all&gt;</title>" in line
    assert line.count("<polyline") == 1  # the gap splits the line; a lone point is only a dot
    assert line.count("<circle") == 3
    bars = charts.hbar_chart("t", [("<b>store</b>", 5.0), ("neg", -5.0)])
    assert "&lt;b&gt;store&lt;/b&gt;" in bars and "<b>" not in bars
    assert f'fill="{charts.NEGATIVE}"' in bars
    assert "script" not in bars and "http" not in bars.replace("http://www.w3.org/2000/svg", "")


def test_reporting_does_not_import_dagster():
    import subprocess
    import sys

    code = "import sys, reporting, reporting.render; assert not [m for m in sys.modules if m.startswith('dagster')]"
    subprocess.run([sys.executable, "-c", code], check=True)
