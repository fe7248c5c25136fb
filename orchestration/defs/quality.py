"""Data-quality checks backed by great-expectations suites from expectations/."""

import json
from dataclasses import asdict

import dagster as dg

from expectations.raw_shopify_orders import validate_batch
from orchestration.defs.ingestion import RAW_SHOPIFY_ORDERS
from orchestration.defs.resources import KpiResource


def latest_sync_ids(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> list[str]:
    event = instance.get_latest_materialization_event(asset_key)
    if event is None or event.asset_materialization is None:
        return []
    value = event.asset_materialization.metadata.get("sync_ids")
    return list(value.value) if value is not None else []


@dg.asset_check(
    asset=RAW_SHOPIFY_ORDERS,
    name="raw_orders_expectations",
    blocking=True,
    description=(
        "great-expectations suite raw_shopify_orders on the batch just synced: ids present and unique, "
        "known currency, 0 <= total_price <= 1M, no timestamps in the future, known financial status, "
        "at least one line. Blocking: the marts are not rebuilt from a batch that fails it."
    ),
)
def raw_orders_expectations(context: dg.AssetCheckExecutionContext, kpi: KpiResource) -> dg.AssetCheckResult:
    sync_ids = latest_sync_ids(context.instance, RAW_SHOPIFY_ORDERS)
    table = kpi.lake().read("shopify", "orders", sync_ids)
    result = validate_batch(table)
    return dg.AssetCheckResult(
        passed=result.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.summary(),
        metadata={
            "rows": result.rows,
            "expectations": result.evaluated,
            "failed_expectations": dg.MetadataValue.json(
                json.loads(json.dumps([asdict(f) for f in result.failed], default=str))
            ),
            "sync_ids": dg.MetadataValue.json(sync_ids),
        },
    )
