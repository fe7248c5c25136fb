"""Turn the current rows of marts.kpi_alerts into alerts to deliver."""

from __future__ import annotations

from pathlib import Path

import duckdb

from alerting.model import Alert

QUERY = """
select alert_id, condition_key, rule_id, metric, subject_type, subject_id, store_id, sku, platform, region,
       kpi_date, window_days, window_start, kpi_value, baseline_days, baseline_value, compared_value,
       threshold, comparison, severity, rule_description, owner_role, owner
from marts.kpi_alerts
where is_current
order by rule_id, subject_id
"""


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, int | float | str | bool) else str(value)


def alert_from_row(row: dict) -> Alert:
    word = "above" if row["comparison"] == "above" else "below"
    window = "the day" if row["window_days"] == 1 else f"{row['window_start']} .. {row['kpi_date']}"
    compared = f"{row['metric']} = {_fmt(row['kpi_value'])} over {window}"
    if row["baseline_days"]:
        compared += (
            f", {_fmt(row['compared_value'])}x its {row['baseline_days']}-day baseline {_fmt(row['baseline_value'])}"
        )
    owner = f" Owner: {row['owner']} ({row['owner_role']})." if row["owner"] else ""
    return Alert(
        alert_key=f"kpi:{row['alert_id']}",
        condition_key=row["condition_key"],
        source="kpi_rule",
        severity=row["severity"],
        title=f"[{row['severity'].upper()}] {row['rule_id']} on {row['subject_id']} ({row['kpi_date']})",
        body=(
            f"{row['rule_description']}: {compared}; {word} the {row['severity']} line {_fmt(row['threshold'])} "
            f"({row['subject_type']} {row['subject_id']}, local day {row['kpi_date']}).{owner}"
        ),
        subject=f"{row['subject_type']}:{row['subject_id']}",
        rule_id=row["rule_id"],
        owner=row["owner"],
        details={k: _plain(v) for k, v in row.items()},
    )


def current_alerts(warehouse_path: Path | str) -> list[Alert]:
    """Every KPI condition that holds on its subject's newest complete day: the complete set, so that
    delivery can resolve the conditions missing from it. Opens the warehouse read-only; raises
    duckdb.IOException when a writer holds it (the caller retries later)."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        cursor = con.execute(QUERY)
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
    return [alert_from_row(row) for row in rows]
