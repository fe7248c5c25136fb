"""Raw-lake assets: each syncs its source for the partition range (plus look-back) into Parquet."""

import dagster as dg

from alerting.rules import land_rules
from ingestion.clients.base import EntitySpec
from ingestion.runner import land_store_config, sync_fx, sync_stores
from ingestion.sources import SOURCES, Source
from orchestration.defs.resources import KpiResource
from orchestration.partitions import daily_partitions

RAW_SHOPIFY_ORDERS = dg.AssetKey(["raw", "shopify", "orders"])
RAW_ECB_RATES = dg.AssetKey(["raw", "ecb", "rates"])
RAW_CONFIG_STORES = dg.AssetKey(["raw", "config", "stores"])
RAW_CONFIG_ALERT_RULES = dg.AssetKey(["raw", "config", "alert_rules"])
SYNC_RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


class SyncConfig(dg.Config):
    stores: list[str] = []  # sync only these store ids; empty = every store of the platform


def _sync_metadata(results) -> dict:
    return {
        "dagster/row_count": sum(r.attempt.rows for r in results),
        "sync_ids": dg.MetadataValue.json([r.attempt.sync_id for r in results]),
        "stores": dg.MetadataValue.md(
            "| store | status | rows | pages | requests | throttled | window |\n|---|---|---|---|---|---|---|\n"
            + "\n".join(
                f"| {r.attempt.store_id} | {r.attempt.status} {r.attempt.error_class or ''} | {r.attempt.rows} | "
                f"{r.attempt.pages} | {r.attempt.requests} | {r.attempt.throttled} | "
                f"{r.attempt.window_start:%Y-%m-%d %H:%M} .. {r.attempt.window_end:%Y-%m-%d %H:%M} |"
                for r in results
            )
        ),
    }


def _sync_check(asset_key: dg.AssetKey, results) -> dg.AssetCheckResult:
    failed = [r.attempt for r in results if not r.ok]
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name="all_stores_synced",
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            "every store synced its window"
            if not failed
            else "; ".join(f"{a.store_id}: {a.error_class} ({a.error_message})" for a in failed)
            + " - fix the cause (see the sync log) and re-run the same partitions; re-syncing is safe"
        ),
        metadata={"failed_stores": dg.MetadataValue.json([a.store_id for a in failed])},
    )


def raw_sync_asset(key: dg.AssetKey, description: str, check_description: str):
    """A raw-lake asset: daily partitions synced as single-run backfills, retried, with the blocking
    in-asset check that every store's attempt succeeded."""
    return dg.asset(
        key=key,
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="raw",
        kinds={"python", "parquet"},
        retry_policy=SYNC_RETRY,
        check_specs=[dg.AssetCheckSpec("all_stores_synced", asset=key, blocking=True, description=check_description)],
        description=description,
    )


def _report(context: dg.AssetExecutionContext, asset_key: dg.AssetKey, results):
    for r in results:
        a = r.attempt
        context.log.info(
            f"{a.store_id}: {a.status} rows={a.rows} pages={a.pages} throttled={a.throttled} {a.error_message or ''}"
        )
    yield dg.MaterializeResult(metadata=_sync_metadata(results))
    yield _sync_check(asset_key, results)


def source_sync_asset(src: Source, entity: str, spec: EntitySpec):
    """The raw asset of one source entity: every store of the platform, synced in parallel."""
    key = dg.AssetKey(["raw", src.name, entity])
    lookback = f"look-back {spec.lookback.days} d" if not spec.snapshot else "a snapshot of the current state"
    limits = f"; at most {spec.max_window.days} d per request" if spec.max_window else ""

    @raw_sync_asset(
        key,
        f"{src.label}: {spec.description} Window: the partition range plus {lookback}{limits}.",
        f"Every {src.platform} store's {entity} sync attempt for the window succeeded (see the sync log).",
    )
    def _sync(context: dg.AssetExecutionContext, kpi: KpiResource, config: SyncConfig):
        window = context.partition_time_window
        stores = src.stores(kpi.stores(src.platform, config.stores))
        context.log.info(f"syncing {entity} of {len(stores)} {src.name} store(s) for {window.start} .. {window.end}")
        results = sync_stores(
            stores,
            entity,
            window.start,
            window.end,
            kpi.lake(),
            kpi.sync_log(),
            source=src,
            workers=kpi.settings().sync_workers,
            token_store=kpi.token_store(),
        )
        yield from _report(context, key, results)

    return _sync


RAW_SOURCE_ASSETS = [source_sync_asset(src, entity, spec) for src in SOURCES for entity, spec in src.entities.items()]
RAW_SOURCE_KEYS = [a.key for a in RAW_SOURCE_ASSETS]


@raw_sync_asset(
    RAW_ECB_RATES,
    "ECB euro reference rates for the window (plus look-back), one record per date and currency.",
    "The ECB reference-rate download succeeded.",
)
def ecb_rates(context: dg.AssetExecutionContext, kpi: KpiResource):
    window = context.partition_time_window
    result = sync_fx(kpi.stores_config().fx.base_url, window.start, window.end, kpi.lake(), kpi.sync_log())
    yield from _report(context, RAW_ECB_RATES, [result] if result is not None else [])


@dg.asset(
    key=RAW_CONFIG_STORES,
    group_name="raw",
    kinds={"python", "parquet"},
    description="The validated stores file (platform, marketplace, time zone, currency, owner), landed per run.",
)
def config_stores(kpi: KpiResource) -> dg.MaterializeResult:
    stores = kpi.stores_config()
    sync_id = land_store_config(stores, kpi.lake())
    return dg.MaterializeResult(metadata={"dagster/row_count": len(stores.stores), "sync_id": sync_id})


@dg.asset(
    key=RAW_CONFIG_ALERT_RULES,
    group_name="raw",
    kinds={"python", "parquet"},
    description="The KPI alert rules file (alert_rules.yaml), validated against the KPI catalog and landed "
    "whole per run; marts.kpi_alerts evaluates the newest load.",
)
def config_alert_rules(kpi: KpiResource) -> dg.MaterializeResult:
    rules = kpi.alert_rules()
    sync_id = land_rules(rules, kpi.lake())
    return dg.MaterializeResult(metadata={"dagster/row_count": len(rules.rules), "sync_id": sync_id})


sync_log_spec = dg.AssetSpec(
    key=["raw", "sync_log"],
    group_name="raw",
    kinds={"json"},
    description="One JSON file per sync attempt, written by every raw asset above.",
)
