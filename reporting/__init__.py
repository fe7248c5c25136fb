"""Dagster-free review reports: one self-contained HTML file per week or month, read from the marts."""

from reporting.periods import Period
from reporting.render import ReportResult, render_report

__all__ = ["Period", "ReportResult", "render_report"]
