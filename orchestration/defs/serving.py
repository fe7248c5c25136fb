"""The published warehouse: after the marts and their blocking checks, a read-only copy for BI tools."""

import dagster as dg

from orchestration.defs import transform
from orchestration.defs.resources import KpiResource
from serving.publish import publish

PUBLISHED_WAREHOUSE = dg.AssetKey(["serving", "published_warehouse"])
# Every public table: the KPI marts' step and the core and health marts of the first dbt step.
MARTS_KEYS = sorted(
    (
        key
        for asset in (transform.kpi_dbt_models, transform.kpi_dbt_marts)
        for key in asset.keys
        if key.path[0] == "marts"
    ),
    key=lambda k: k.to_user_string(),
)


@dg.asset(
    key=PUBLISHED_WAREHOUSE,
    deps=MARTS_KEYS,
    group_name="serving",
    kinds={"duckdb"},
    pool=transform.WAREHOUSE_POOL,
    description=(
        "A read-only copy of schema marts (KPI_PUBLISHED_PATH) for BI tools and analysts, swapped in atomically "
        "once every marts table of the run and its blocking checks passed: readers never meet the warehouse's "
        "write lock and keep the last good version while a run builds. meta.publication says which run built it."
    ),
)
def published_warehouse(context: dg.AssetExecutionContext, kpi: KpiResource) -> dg.MaterializeResult:
    settings = kpi.settings()
    publication = publish(settings.warehouse_path, settings.published_path, run_id=context.run_id)
    context.log.info(f"published {len(publication.row_counts)} tables to {publication.path}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(publication.path)),
            "run_id": publication.run_id,
            "built_at": dg.MetadataValue.timestamp(publication.built_at),
            "published_at": dg.MetadataValue.timestamp(publication.published_at),
            "size_bytes": publication.size_bytes,
            "row_counts": dg.MetadataValue.json(publication.row_counts),
            "dagster/row_count": sum(publication.row_counts.values()),
        }
    )
