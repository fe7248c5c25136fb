"""Jobs, the daily schedule, and the hand-off from ingestion to transformation.

Ingestion is partitioned by day; the dbt models are not (they rebuild from every version in the
lake). A transform run starts only after an ingest run succeeded, and an ingest run fails when a
blocking check fails (a store's sync or the great-expectations suite on the batch), so the marts
are never rebuilt from data that failed those checks.
"""

from datetime import datetime, timedelta

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from orchestration.defs.ingestion import RAW_CONFIG_ALERT_RULES, RAW_CONFIG_STORES, RAW_ECB_RATES, RAW_SOURCE_KEYS
from orchestration.defs.transform import SYNC_HEALTH
from orchestration.partitions import daily_partitions

kpi_ingest = dg.define_asset_job(
    "kpi_ingest",
    selection=dg.AssetSelection.assets(*RAW_SOURCE_KEYS, RAW_ECB_RATES),
    partitions_def=daily_partitions,
    description="Sync every source for the partition window (plus its look-back) into the raw lake, with checks.",
)

kpi_transform = dg.define_asset_job(
    "kpi_transform",
    selection=dg.AssetSelection.assets(RAW_CONFIG_STORES, RAW_CONFIG_ALERT_RULES)
    | dg.AssetSelection.groups("config", "staging", "intermediate", "marts", "serving"),
    description=(
        "Land the stores and alert rules files, then dbt build: staging, intermediate, marts and their tests; "
        "then publish the marts for BI tools if every step and blocking check passed."
    ),
)


kpi_health = dg.define_asset_job(
    "kpi_health",
    selection=dg.AssetSelection.assets(SYNC_HEALTH).upstream()
    - dg.AssetSelection.assets(*RAW_SOURCE_KEYS, RAW_ECB_RATES),
    description="Rebuild marts.sync_health from the sync log and run its checks, without the marts: after an "
    "ingest run failed, so that what failed is reported.",
)


def daily_range(scheduled: datetime) -> tuple[str, str]:
    """Yesterday (now complete) and today (filling) as one range; look-backs re-read late changes."""
    today = scheduled.date()
    return (today - timedelta(days=1)).isoformat(), today.isoformat()


@dg.schedule(
    job=kpi_ingest,
    cron_schedule="15 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def kpi_ingest_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    start, end = daily_range(context.scheduled_execution_time)
    return dg.RunRequest(
        run_key=f"daily:{end}",
        tags={ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end},
    )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[kpi_ingest],
    request_job=kpi_transform,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rebuild the marts after every successful ingest run (never after a failed one).",
)
def transform_after_ingest(context: dg.RunStatusSensorContext):
    return dg.RunRequest(run_key=f"after:{context.dagster_run.run_id}")
