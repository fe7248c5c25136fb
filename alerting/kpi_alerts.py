"""Turn rows of marts.kpi_alerts into alerts to deliver."""

from __future__ import annotations

from pathlib import Path

import duckdb

from alerting.outbox import Alert

QUERY = """
select alert_id, rule_id, kpi, subject_type, subject_id, store_id, platform, kpi_date, kpi_value,
       threshold, comparison, severity, rule_description
from marts.kpi_alerts
where is_actionable
order by kpi_date, store_id, rule_id
"""


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def actionable_alerts(warehouse_path: Path | str) -> list[Alert]:
    """Alerts on recent complete days. Opens the warehouse read-only; raises duckdb.IOException when a
    writer holds it (the caller retries later)."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        rows = con.execute(QUERY).fetchall()
        columns = [d[0] for d in con.description]
    alerts = []
    for values in rows:
        row = dict(zip(columns, values, strict=True))
        word = "above" if row["comparison"] == "above" else "below"
        alerts.append(
            Alert(
                alert_key=f"kpi:{row['alert_id']}",
                source="kpi_rule",
                severity=row["severity"],
                title=f"[{row['severity'].upper()}] {row['rule_id']} on {row['store_id']} for {row['kpi_date']}",
                body=(
                    f"{row['rule_description']}: {row['kpi']} = {_fmt(row['kpi_value'])}, {word} the "
                    f"{row['severity']} line {_fmt(row['threshold'])} ({row['platform']} store {row['store_id']}, "
                    f"local day {row['kpi_date']})."
                ),
                subject=f"{row['subject_type']}:{row['subject_id']}",
                rule_id=row["rule_id"],
                details={k: (str(v) if k == "kpi_date" else v) for k, v in row.items()},
            )
        )
    return alerts
