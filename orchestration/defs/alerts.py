"""Alerting: three sensors start the alert job with the alerts to send - one on the asset checks (failed
or warned checks, stale or failing syncs, expiring credentials), one on marts.kpi_alerts, one on failed
runs. The check and KPI sensors send the complete set of conditions firing now in their scope, so the
alert job also resolves the conditions that cleared. Delivery (alerting/outbox.py) de-duplicates per
condition with a cool-down, escalates, retries channels that are down and keeps the history; the sensors'
cursors and run keys make a restarted daemon neither lose nor repeat a batch."""

import hashlib
import json

import dagster as dg
import duckdb
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from alerting.checks import ACTIVE_SCOPE as CHECK_SCOPE
from alerting.checks import CheckResult, check_alerts
from alerting.kpi_alerts import current_alerts
from alerting.outbox import Alert, Outbox
from orchestration.defs.jobs import kpi_health, kpi_ingest, kpi_transform
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
    monitored_jobs=[kpi_ingest, kpi_transform, kpi_health],
    request_job=alert_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A pipeline run that failed (crashed step, bad config) -> one alert. Runs failed by a "
    "failed check are left to check_alerts_sensor, which names the check and the store.",
)
def run_failure_alerts(context: dg.RunFailureSensorContext):
    run = context.dagster_run
    if failed_checks_in_run(context.instance, run.run_id):
        return dg.SkipReason(f"run {run.run_id} failed on a check; check_alerts_sensor reports it")
    message = step_errors(context.instance, run.run_id) or context.failure_event.message or "the run failed"
    alert = run_failure_alert(run, message)
    return dg.RunRequest(
        run_key=alert.alert_key,
        run_config=dg.RunConfig(ops={"deliver_alerts": {"config": {"alerts": [_item(alert)]}}}),
    )


COMPLETED = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}


def latest_completed_checks(instance: dg.DagsterInstance, check_keys) -> dict[str, object]:
    """The newest completed evaluation of each check (a check planned in a running run keeps its last
    result until it completes)."""
    latest = {}
    for check_key in sorted(check_keys, key=str):
        history = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=1, status=COMPLETED)
        if history:
            latest[check_key.to_user_string()] = history[0]
    return latest


def _plain(value: object) -> object:
    return json.loads(json.dumps(value, default=str))


def check_result(record) -> CheckResult:
    evaluation = record.event.dagster_event.event_specific_data
    return CheckResult(
        asset=record.key.asset_key.to_user_string(),
        check=record.key.name,
        severity="critical" if evaluation.severity == dg.AssetCheckSeverity.ERROR else "warning",
        description=evaluation.description or "",
        record_id=record.id,
        run_id=record.run_id,
        metadata={k: _plain(v.value) for k, v in (evaluation.metadata or {}).items()},
    )


def alert_request(alerts: list[Alert], scope: list[str], outbox: Outbox, cause: str) -> dg.RunRequest:
    """A run of alert_job for the complete set of `alerts` firing in `scope`. The run key covers the set
    and the outbox's length: an unchanged situation asks for no second run, while a retry after failed
    deliveries (the outbox grew) gets a new key."""
    marker = f"{cause}|{'|'.join(sorted(a.alert_key for a in alerts))}#{len(outbox.history())}"
    return dg.RunRequest(
        run_key=hashlib.sha256(marker.encode()).hexdigest()[:16],
        run_config=dg.RunConfig(
            ops={"deliver_alerts": {"config": {"alerts": [_item(a) for a in alerts], "active_scope": scope}}}
        ),
        tags={"alert/count": str(len(alerts)), "alert/scope": ",".join(scope)},
    )


@dg.sensor(
    job=alert_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Asset checks: when any check has a new result, the conditions failing now (failed or warned "
    "checks; stale, failing or gapped syncs and expiring credentials per store x source) go to alert_job, "
    "which sends the new ones once and resolves those that cleared. Also retries deliveries that failed.",
)
def check_alerts_sensor(context: dg.SensorEvaluationContext, kpi: KpiResource):
    seen: dict[str, int] = json.loads(context.cursor or "{}").get("checks", {})
    latest = latest_completed_checks(context.instance, context.repository_def.asset_graph.asset_check_keys)
    current = {name: record.id for name, record in latest.items()}
    outbox = kpi.outbox()
    pending = bool(outbox.undelivered())
    cursor = json.dumps({"checks": current})
    if current == seen and not pending:
        return dg.SensorResult(skip_reason="no new check results and nothing left to deliver", cursor=cursor)
    failing = [
        check_result(record) for record in latest.values() if record.status == AssetCheckExecutionRecordStatus.FAILED
    ]
    alerts = check_alerts(failing)
    return dg.SensorResult(run_requests=[alert_request(alerts, CHECK_SCOPE, outbox, "checks")], cursor=cursor)


@dg.sensor(
    job=alert_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="marts.kpi_alerts: after each new build, the KPI conditions holding on each subject's newest "
    "complete day go to alert_job, which sends the new ones once (to the routes and the owner) and resolves "
    "those that cleared.",
)
def kpi_alerts_sensor(context: dg.SensorEvaluationContext, kpi: KpiResource):
    seen = json.loads(context.cursor or "{}").get("kpi_alerts_storage_id")
    latest = context.instance.fetch_materializations(KPI_ALERTS_KEY, limit=1).records
    if not latest or latest[0].storage_id == seen:
        return dg.SkipReason("marts.kpi_alerts has not been rebuilt since the last batch")
    try:
        alerts = current_alerts(kpi.settings().warehouse_path)
    except duckdb.IOException as exc:  # a writer holds the warehouse: the cursor stays, a later tick reads it
        return dg.SkipReason(f"warehouse busy, KPI alerts deferred: {exc}")
    cursor = json.dumps({"kpi_alerts_storage_id": latest[0].storage_id})
    request = alert_request(alerts, ["kpi_rule"], kpi.outbox(), f"kpi:{latest[0].storage_id}")
    return dg.SensorResult(run_requests=[request], cursor=cursor)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.FAILURE,
    monitored_jobs=[kpi_ingest],
    request_job=kpi_health,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After an ingest run failed by a check (a sync failed; the marts are not rebuilt), rebuild "
    "marts.sync_health and run its checks, so the failed sync is reported with its class and advice.",
)
def health_after_failed_ingest(context: dg.RunStatusSensorContext):
    run = context.dagster_run
    if not failed_checks_in_run(context.instance, run.run_id):
        # a crashed step (a bad stores file) is run_failure_alerts' to report; health would crash the same way
        return dg.SkipReason(f"run {run.run_id} crashed before its checks; run_failure_alerts reports it")
    return dg.RunRequest(run_key=f"health-after:{run.run_id}")
