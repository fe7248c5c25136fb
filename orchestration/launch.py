"""Run the pipeline and the alert sensor from Python (the `kpi` CLI and the end-to-end tests).

Runs go to the Dagster instance in DAGSTER_HOME, so they stay visible in the Dagster UI afterwards.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import dagster as dg
import duckdb
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from alerting.outbox import Outbox
from ingestion.settings import PROJECT_ROOT, Settings

DAGSTER_YAML = """\
# Written by `kpi` when DAGSTER_HOME has no dagster.yaml.
concurrency:
  pools:
    default_limit: 1  # the 'warehouse' pool: one step writes the DuckDB file at a time
  runs:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: kind
        value: alert
        limit: 1
telemetry:
  enabled: false
"""

MARTS = ("dim_stores", "fct_orders", "fct_order_lines", "fct_refunds", "kpi_daily", "kpi_alerts", "kpi_scorecard")


def ensure_dagster_home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster"))).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


@cache
def load_defs() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs()


@dataclass
class PipelineOutcome:
    success: bool = True
    run_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    materialized: int = 0
    failed_job: str | None = None
    failed_runs: list[dg.ExecuteInProcessResult] = field(default_factory=list)

    def add(self, job_name: str, result: dg.ExecuteInProcessResult) -> None:
        self.run_ids.append(result.run_id)
        if not result.success:
            self.success, self.failed_job = False, job_name
            self.failed_runs.append(result)
        for evaluation in result.get_asset_check_evaluations():
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            (self.checks_passed if evaluation.passed else self.checks_failed).append(name)
        self.materialized += len({e.asset_key for e in result.get_asset_materialization_events()})


def run_pipeline(instance: dg.DagsterInstance, start: date, end: date, log_level: str = "WARNING") -> PipelineOutcome:
    """The ingest job over partitions start..end (inclusive, one single-run backfill), then, if it
    succeeded, the transform job: what the schedule and the transform_after_ingest sensor do."""
    defs = load_defs()
    began = time.monotonic()
    outcome = PipelineOutcome()
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    ingest = defs.resolve_job_def("kpi_ingest").execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags={ASSET_PARTITION_RANGE_START_TAG: start.isoformat(), ASSET_PARTITION_RANGE_END_TAG: end.isoformat()},
        run_config=run_config,
    )
    outcome.add("kpi_ingest", ingest)
    if ingest.success:
        transform = defs.resolve_job_def("kpi_transform").execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config=run_config,
            tags={"dagster/run_key": f"after:{ingest.run_id}"},
        )
        outcome.add("kpi_transform", transform)
    elif outcome.checks_failed:  # what health_after_failed_ingest does: report the failed syncs
        health = defs.resolve_job_def("kpi_health").execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config=run_config,
            tags={"dagster/run_key": f"health-after:{ingest.run_id}"},
        )
        outcome.add("kpi_health", health)
    outcome.seconds = time.monotonic() - began
    return outcome


@dataclass
class AlertOutcome:
    requested: int = 0
    runs: list[str] = field(default_factory=list)
    delivered: int = 0
    resolved: int = 0

    def execute(self, instance: dg.DagsterInstance, request: dg.RunRequest) -> None:
        """Run alert_job for a sensor's request, as the daemon would, and count what it delivered."""
        defs = load_defs()
        result = defs.resolve_job_def("alert_job").execute_in_process(
            instance=instance,
            run_config=request.run_config,
            tags={**request.tags, "dagster/run_key": request.run_key or ""},
            resources={"kpi": defs.resources["kpi"]},
            raise_on_error=False,
        )
        self.requested += 1
        self.runs.append(result.run_id)
        if result.success:
            report = result.output_for_node("deliver_alerts")
            self.delivered += report["delivered"]
            self.resolved += report["resolved"]


ALERT_SENSORS = ("check_alerts_sensor", "kpi_alerts_sensor")


def run_alert_sensors(
    instance: dg.DagsterInstance, cursors: dict[str, str | None] | None = None
) -> tuple[AlertOutcome, dict[str, str | None]]:
    """Evaluate the check and KPI alert sensors once each and execute the alert runs they request (what
    the daemon does, which also skips a run key it has seen). Returns the sensors' new cursors."""
    defs = load_defs()
    cursors = dict(cursors or {})
    outcome = AlertOutcome()
    for name in ALERT_SENSORS:
        context = dg.build_sensor_context(
            instance=instance,
            cursor=cursors.get(name),
            definitions=defs,
            resources={"kpi": defs.resources["kpi"]},
        )
        data = defs.resolve_sensor_def(name).evaluate_tick(context)
        for request in data.run_requests or []:
            outcome.execute(instance, request)
        cursors[name] = data.cursor if data.cursor is not None else cursors.get(name)
    return outcome, cursors


def run_failure_alerts(instance: dg.DagsterInstance, outcome: PipelineOutcome) -> AlertOutcome:
    """Evaluate the run-failure sensor for the failed runs of `outcome` and deliver what it requests."""
    defs = load_defs()
    sensor = defs.resolve_sensor_def("run_failure_alerts")
    result = AlertOutcome()
    for failed in outcome.failed_runs:
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alerts",
            dagster_instance=instance,
            dagster_run=failed.dagster_run,
            dagster_event=failed.get_run_failure_event(),
        ).for_run_failure()
        request = sensor(context)
        if isinstance(request, dg.RunRequest):
            result.execute(instance, request)
    return result


@dataclass
class ReportOutcome:
    job: str
    partition: str
    success: bool
    path: str | None = None
    missing_tables: int = 0


def run_reports(instance: dg.DagsterInstance, today: date) -> list[ReportOutcome]:
    """The weekly and monthly review of the periods that ended before `today` (what the schedules run)."""
    from reporting import Period

    defs = load_defs()
    outcomes = []
    for job, grain in (("kpi_weekly_review", "week"), ("kpi_monthly_review", "month")):
        partition = Period.last_complete(grain, today).start.isoformat()
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance, partition_key=partition, raise_on_error=False
        )
        outcome = ReportOutcome(job, partition, result.success)
        for event in result.get_asset_materialization_events():
            metadata = event.materialization.metadata
            outcome.path, outcome.missing_tables = metadata["path"].value, metadata["missing_tables"].value
        outcomes.append(outcome)
    return outcomes


def mart_row_counts(settings: Settings) -> dict[str, int]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return {m: con.execute(f"select count(*) from marts.{m}").fetchone()[0] for m in MARTS}


def summary_text(settings: Settings, outcome: PipelineOutcome, alerts: AlertOutcome) -> str:
    counts = mart_row_counts(settings)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        raised, current = con.execute(
            "select count(*), count(*) filter (where is_current) from marts.kpi_alerts"
        ).fetchone()
    history = Outbox(settings.outbox_path).history()
    state = "succeeded" if outcome.success else f"FAILED in {outcome.failed_job}"
    lines = [
        "",
        "KPI pipeline summary",
        "--------------------",
        f"runs {', '.join(outcome.run_ids)}: {state} in {outcome.seconds:.0f}s",
        "rows per mart:",
        *[f"  marts.{name:<16} {count:>9,}" for name, count in counts.items()],
        f"checks: {len(outcome.checks_passed)} passed, {len(outcome.checks_failed)} failed"
        + (f" ({', '.join(outcome.checks_failed)})" if outcome.checks_failed else ""),
        f"alerts: {raised} raised in marts.kpi_alerts ({current} holding now); "
        f"{alerts.delivered} delivered now, {len(history)} in the outbox ({settings.outbox_path})",
        f"warehouse: {settings.warehouse_path}",
        f"published: {settings.published_path} (read-only copy for BI tools, docs/SERVING.md)",
        f"raw lake:  {settings.lake_dir}",
        "",
        "next:",
        "  make dev                                   # Dagster UI on http://127.0.0.1:3000 (runs, checks, lineage)",
        '  .venv/bin/kpi sql "select * from marts.kpi_daily order by kpi_date desc limit 10"',
        f"  or any DuckDB client on {settings.published_path} (read-only; swapped in after each good run)",
    ]
    return "\n".join(lines)
