"""Alerting: a sensor turns failed checks and new KPI alert rows into runs of the alert job, which
records each alert in the outbox and posts it to the webhook, once."""

import hashlib
import json

import dagster as dg
import duckdb
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from alerting.kpi_alerts import actionable_alerts
from alerting.outbox import Alert
from orchestration.defs.jobs import kpi_ingest, kpi_transform
from orchestration.defs.resources import KpiResource

KPI_ALERTS_KEY = dg.AssetKey(["marts", "kpi_alerts"])

delivery_history_spec = dg.AssetSpec(
    key=["alerts", "delivery_history"],
    group_name="alerts",
    kinds={"json"},
    description="Every delivery attempt of every alert notification (KPI_ALERT_OUTBOX), appended by alert_job; "
    "read by marts.alert_history.",
)


class AlertItem(dg.Config):
    alert_key: str
    source: str
    severity: str
    title: str
    body: str
    subject: str = ""
    details_json: str = "{}"
    owner: str | None = None
    rule_id: str | None = None
    condition_key: str | None = None


class AlertBatch(dg.Config):
    alerts: list[AlertItem]
    # sources (`check`) or condition-key prefixes (`check:raw/shopify/*`) whose firing conditions are
    # all in `alerts`: an earlier alert in scope that is missing now gets a resolved message
    active_scope: list[str] = []


@dg.op(retry_policy=dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL))
def deliver_alerts(context: dg.OpExecutionContext, config: AlertBatch, kpi: KpiResource) -> dict:
    outbox = kpi.outbox()
    alerts = [
        Alert(
            a.alert_key,
            a.source,
            a.severity,
            a.title,
            a.body,
            a.subject,
            json.loads(a.details_json),
            owner=a.owner,
            rule_id=a.rule_id,
            condition_key=a.condition_key,
        )
        for a in config.alerts
    ]
    report = outbox.deliver(alerts, active_scope=config.active_scope)
    context.log.info(
        f"delivered {len(report.delivered)}, within cool-down {len(report.skipped)}, resolved "
        f"{len(report.resolved)}, unrouted {len(report.unrouted)}, failed {len(report.failed)} "
        f"(history {outbox.path})"
    )
    if report.failed:
        # failing the op makes Dagster retry it: only the channels that missed a message are tried again
        raise dg.Failure(f"{len(report.failed)} delivery(ies) failed: {report.failed}")
    return {"delivered": len(report.delivered), "skipped": len(report.skipped), "resolved": len(report.resolved)}


@dg.job(tags={"kind": "alert"}, description="Delivers a batch of alerts to the outbox and the webhook.")
def alert_job():
    deliver_alerts()


def check_alert(record) -> Alert:
    evaluation = record.event.dagster_event.event_specific_data if record.event else None
    severity = "critical"
    description = ""
    if evaluation is not None:
        severity = "critical" if evaluation.severity == dg.AssetCheckSeverity.ERROR else "warning"
        description = evaluation.description or ""
    key = record.key
    return Alert(
        alert_key=f"check:{key.asset_key.to_user_string()}:{key.name}:{record.id}",
        condition_key=f"check:{key.asset_key.to_user_string()}:{key.name}",
        rule_id=key.name,
        source="check",
        severity=severity,
        title=f"[{severity.upper()}] check {key.name} failed on {key.asset_key.to_user_string()}",
        body=description or f"Asset check {key.name} failed in run {record.run_id}.",
        subject=f"asset:{key.asset_key.to_user_string()}",
        details={"run_id": record.run_id, "partition": record.partition, "record_id": record.id},
    )


def run_failure_alert(run: dg.DagsterRun, message: str) -> Alert:
    return Alert(
        alert_key=f"run:{run.run_id}",
        source="run_failure",
        severity="critical",
        title=f"[CRITICAL] run of {run.job_name} failed",
        body=f"{message.strip()[:1500]} - see run {run.run_id} in the Dagster UI; re-running it is safe.",
        subject=f"job:{run.job_name}",
        details={"run_id": run.run_id, "job": run.job_name, "tags": dict(run.tags)},
    )


def step_errors(instance: dg.DagsterInstance, run_id: str) -> str:
    messages = []
    for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        data = event.dagster_event.event_specific_data
        error = getattr(data, "error", None)
        text = (error.message.strip() if error is not None else "") or event.message
        messages.append(f"{event.step_key}: {text}")
    return "; ".join(messages)


def failed_checks_in_run(instance: dg.DagsterInstance, run_id: str) -> bool:
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return any(not e.dagster_event.event_specific_data.passed for e in events)


def _item(alert: Alert) -> dict:
    return {
        "alert_key": alert.alert_key,
        "source": alert.source,
        "severity": alert.severity,
        "title": alert.title,
        "body": alert.body,
        "subject": alert.subject,
        "details_json": json.dumps(alert.details, default=str),
        "owner": alert.owner,
        "rule_id": alert.rule_id,
        "condition_key": alert.condition_key,
    }


@dg.run_failure_sensor(
    monitored_jobs=[kpi_ingest, kpi_transform],
    request_job=alert_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A pipeline run that failed (crashed step, bad config) -> one alert. Runs failed by a "
    "failed check are left to alerts_sensor, which names the check.",
)
def run_failure_alerts(context: dg.RunFailureSensorContext):
    run = context.dagster_run
    if failed_checks_in_run(context.instance, run.run_id):
        return dg.SkipReason(f"run {run.run_id} failed on a check; alerts_sensor reports it")
    message = step_errors(context.instance, run.run_id) or context.failure_event.message or "the run failed"
    alert = run_failure_alert(run, message)
    return dg.RunRequest(
        run_key=alert.alert_key,
        run_config=dg.RunConfig(ops={"deliver_alerts": {"config": {"alerts": [_item(alert)]}}}),
    )


@dg.sensor(
    job=alert_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Failed asset checks and new actionable rows of marts.kpi_alerts -> one alert_job run.",
)
def alerts_sensor(context: dg.SensorEvaluationContext, kpi: KpiResource):
    cursor = json.loads(context.cursor or "{}")
    seen_checks: dict[str, int] = cursor.get("checks", {})
    alerts: list[Alert] = []

    for check_key in sorted(context.repository_def.asset_graph.asset_check_keys, key=str):
        record = context.instance.get_latest_asset_check_evaluation_record(check_key)
        name = check_key.to_user_string()
        if record is None or seen_checks.get(name) == record.id:
            continue
        if record.status == AssetCheckExecutionRecordStatus.FAILED:
            alerts.append(check_alert(record))
        if record.status in (AssetCheckExecutionRecordStatus.FAILED, AssetCheckExecutionRecordStatus.SUCCEEDED):
            seen_checks[name] = record.id

    kpi_cursor = cursor.get("kpi_alerts_storage_id")
    latest = context.instance.fetch_materializations(KPI_ALERTS_KEY, limit=1).records
    if latest and latest[0].storage_id != kpi_cursor:
        try:
            alerts.extend(actionable_alerts(kpi.settings().warehouse_path))
            kpi_cursor = latest[0].storage_id
        except duckdb.IOException as exc:  # a writer holds the warehouse: read it on a later tick
            context.log.info(f"warehouse busy, kpi alerts deferred: {exc}")

    # deliveries that failed after the alert job's retries (a channel down for long) are offered again
    outbox = kpi.outbox()
    pending = {a.alert_key for a in alerts}
    alerts.extend(a for a in outbox.undelivered() if a.alert_key not in pending)

    new_cursor = json.dumps({"checks": seen_checks, "kpi_alerts_storage_id": kpi_cursor})
    if not alerts:
        return dg.SensorResult(skip_reason="no new failed checks or KPI alerts", cursor=new_cursor)
    keys = sorted(a.alert_key for a in alerts)
    # the outbox grows with every delivery attempt, so a retry of failed keys gets a new run key,
    # while a tick that sees nothing new since the last request gets the same key (no second run)
    marker = f"{'|'.join(keys)}#{len(outbox.history())}"
    run_key = hashlib.sha256(marker.encode()).hexdigest()[:16]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key,
                run_config=dg.RunConfig(ops={"deliver_alerts": {"config": {"alerts": [_item(a) for a in alerts]}}}),
                tags={"alert/count": str(len(alerts))},
            )
        ],
        cursor=new_cursor,
    )
