"""Data-quality asset checks: great-expectations suites (expectations/) on every raw batch and on the
staged facts, and one check per sync-health concern of marts.sync_health. Thin: the suites live in
expectations/, the health rules and thresholds in dbt; this maps their results to check results."""

import json
from dataclasses import asdict
from datetime import UTC, datetime

import dagster as dg
import duckdb
from dagster_dbt import get_asset_key_for_model

from expectations.facts import FACT_DAYS, FACT_SUITES, validate_fact
from expectations.raw import spec_for, validate_raw_batch, volume_against_history
from expectations.runner import SuiteResult
from expectations.sync_health import CONCERNS, evaluate
from orchestration.defs import transform
from orchestration.defs.ingestion import RAW_SOURCE_KEYS
from orchestration.defs.resources import KpiResource


def latest_sync_ids(instance: dg.DagsterInstance, asset_key: dg.AssetKey) -> list[str]:
    event = instance.get_latest_materialization_event(asset_key)
    if event is None or event.asset_materialization is None:
        return []
    value = event.asset_materialization.metadata.get("sync_ids")
    return list(value.value) if value is not None else []


def _failures(result: SuiteResult) -> dg.MetadataValue:
    return dg.MetadataValue.json(json.loads(json.dumps([asdict(f) for f in result.failed], default=str)))


def raw_expectations_check(key: dg.AssetKey) -> dg.AssetChecksDefinition:
    source, entity = key.path[1], key.path[2]
    blocking = spec_for(source, entity).guards_kpis
    consequence = (
        "Blocking: the ingest run fails, so the transform does not run and the marts keep their last good build."
        if blocking
        else "Warn-only: this entity does not feed order or refund KPIs."
    )

    @dg.asset_check(
        asset=key,
        name="raw_expectations",
        blocking=blocking,
        description=(
            f"great-expectations suite raw_{source}_{entity} on the batch just synced (record keys present, no "
            "record version twice, payload parseable, updated_at not in the future, plus currency, amount "
            f"bounds, statuses and lines where the payload has them) and its volume against the store's "
            f"recent syncs. {consequence}"
        ),
    )
    def _check(context: dg.AssetCheckExecutionContext, kpi: KpiResource) -> dg.AssetCheckResult:
        sync_ids = latest_sync_ids(context.instance, key)
        result = validate_raw_batch(source, entity, kpi.lake().read(source, entity, sync_ids))
        anomalies = volume_against_history(kpi.sync_log().entries(), source, entity, sync_ids)
        if not result.success:
            severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN
            description = (
                f"{result.summary()}. {consequence} Find the records by the keys above in "
                f"raw/{source}/{entity} (sync ids in the metadata); fix the client or report the platform's "
                "data, then re-run the partitions (a corrected re-sync lands newer versions)."
            )
        else:
            severity = dg.AssetCheckSeverity.WARN
            description = (
                f"{result.summary()}."
                if not anomalies
                else "Empty batch where recent syncs were busy: "
                + "; ".join(a.describe() for a in anomalies)
                + ". Check in the platform that the store still sells (listing suspended, shop paused, a filter "
                "on the API app); if it does, re-run the partitions."
            )
        return dg.AssetCheckResult(
            passed=result.success and not anomalies,
            severity=severity,
            description=description,
            metadata={
                "rows": result.rows,
                "expectations": result.evaluated,
                "failed_expectations": _failures(result),
                "volume_anomalies": dg.MetadataValue.json([asdict(a) for a in anomalies]),
                "sync_ids": dg.MetadataValue.json(sync_ids),
            },
        )

    return _check


def staged_fact_check(model: str) -> dg.AssetChecksDefinition:
    key = get_asset_key_for_model([transform.kpi_dbt_models], model)

    @dg.asset_check(
        asset=key,
        name="staged_expectations",
        blocking=True,
        pool=transform.WAREHOUSE_POOL,
        description=(
            f"great-expectations suite staged_{model} on its newest {FACT_DAYS} days: keys present and unique, "
            "currency valid and convertible, amounts >= 0 and reporting amounts under the sanity bound, no "
            "business date after tomorrow"
            + (", no line refunded beyond its net amount" if model == "fct_refunds" else "")
            + ". Blocking: the KPI marts are not rebuilt from facts that fail it."
        ),
    )
    def _check(kpi: KpiResource) -> dg.AssetCheckResult:
        with duckdb.connect(str(kpi.settings().warehouse_path), read_only=True) as con:
            result = validate_fact(con, model, today=datetime.now(UTC).date())
        return dg.AssetCheckResult(
            passed=result.success,
            severity=dg.AssetCheckSeverity.ERROR,
            description=result.summary()
            + (
                ""
                if result.success
                else f". The KPI marts were not rebuilt. Trace the rows above from marts.{model} back to the "
                "raw lake (their _loaded_at and store), fix the staging model or the source data, then re-run "
                "kpi_transform."
            ),
            metadata={"rows": result.rows, "expectations": result.evaluated, "failed_expectations": _failures(result)},
        )

    return _check


SYNC_HEALTH = transform.SYNC_HEALTH


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(name, asset=SYNC_HEALTH, description=c.description) for name, c in CONCERNS.items()],
    pool=transform.WAREHOUSE_POOL,
)
def sync_health_checks(kpi: KpiResource):
    """One result per concern, every offending store x source x entity listed in its metadata."""
    with duckdb.connect(str(kpi.settings().warehouse_path), read_only=True) as con:
        cursor = con.execute("select * from marts.sync_health")
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]
    for name in CONCERNS:
        outcome = evaluate(name, rows)
        yield dg.AssetCheckResult(
            asset_key=SYNC_HEALTH,
            check_name=name,
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity.ERROR if outcome.error else dg.AssetCheckSeverity.WARN,
            description=outcome.description,
            metadata={
                "offending": dg.MetadataValue.json(outcome.offending),
                "rows_checked": len(rows),
            },
        )


RAW_EXPECTATION_CHECKS = [raw_expectations_check(key) for key in RAW_SOURCE_KEYS]
STAGED_FACT_CHECKS = [staged_fact_check(model) for model in FACT_SUITES]
