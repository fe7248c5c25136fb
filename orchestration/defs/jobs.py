"""Jobs, the daily schedule, and the hand-off from ingestion to transformation.

Ingestion is partitioned by day; the dbt models are not (they rebuild from every version in the
lake). A transform run starts only after an ingest run succeeded, and an ingest run fails when a
blocking check fails (a store's sync or the great-expectations suite on the batch), so the marts
are never rebuilt from data that failed those checks.
"""

import dagster as dg

from orchestration.defs.ingestion import RAW_CONFIG_STORES, RAW_ECB_RATES, RAW_SHOPIFY_ORDERS
from orchestration.partitions import daily_partitions

kpi_ingest = dg.define_asset_job(
    "kpi_ingest",
    selection=dg.AssetSelection.assets(RAW_SHOPIFY_ORDERS, RAW_ECB_RATES),
    partitions_def=daily_partitions,
    description="Sync every source for the partition window (plus its look-back) into the raw lake, with checks.",
)

kpi_transform = dg.define_asset_job(
    "kpi_transform",
    selection=dg.AssetSelection.assets(RAW_CONFIG_STORES) | dg.AssetSelection.groups(
        "config", "staging", "intermediate", "marts"
    ),
    description="Land the stores file, then dbt build: staging, intermediate, marts and their tests.",
)

# 02:15 UTC: yesterday's partition, with each source's look-back re-reading late changes.
kpi_ingest_schedule = dg.build_schedule_from_partitioned_job(
    kpi_ingest, hour_of_day=2, minute_of_hour=15, default_status=dg.DefaultScheduleStatus.RUNNING
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
