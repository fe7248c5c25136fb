"""dbt models as Dagster assets. Keys and groups come from manifest fields, never from file paths."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
    get_asset_key_for_model,
)

from ingestion.errors import ConfigError
from ingestion.scorecard_files import check_scorecard_files
from orchestration.dbt_project import dbt_project
from orchestration.defs.resources import KpiResource

WAREHOUSE_POOL = "warehouse"  # DuckDB allows one writer: every step that opens the file joins this pool


class KpiTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "config"
        return dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else None


# The KPI marts (and the per-day KPI inputs they read) build in their own step after everything they
# read: the blocking checks on the staged facts (defs/quality.py) run between the two steps, so marts
# are not rebuilt from facts that failed them. Nothing outside this selection depends on it.
# The scorecard (marts/scorecard and its intermediate models) and the KPI alert rules' observations read
# the KPI marts, so they build here too.
KPI_MARTS_SELECT = (
    "path:models/marts/kpi int_kpi__store_day int_kpi__sku_day int_kpi_alerts__observations kpi_reconciliation"
    " path:models/marts/scorecard path:models/intermediate/scorecard"
)
TRANSLATOR = KpiTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def check_user_files(context: dg.AssetExecutionContext, kpi: KpiResource) -> None:
    """The scorecard and compliance files (dbt seeds) against the stores file, before dbt loads them:
    a mistake fails the run naming file, line and field instead of silently dropping scorecard rows."""
    stores = kpi.stores_config().stores
    try:
        files = check_scorecard_files(store_ids=[s.store_id for s in stores], regions=[s.region for s in stores])
    except ConfigError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    for warning in files.warnings:
        context.log.warning(warning)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=KPI_MARTS_SELECT,
    dagster_dbt_translator=TRANSLATOR,
    pool=WAREHOUSE_POOL,
)
def kpi_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, kpi: KpiResource):
    check_user_files(context, kpi)
    # Unpartitioned: models rebuild from every version in the lake (latest per record wins).
    yield from dbt.cli(["build"], context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=KPI_MARTS_SELECT,
    dagster_dbt_translator=TRANSLATOR,
    pool=WAREHOUSE_POOL,
)
def kpi_dbt_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()


SYNC_HEALTH = get_asset_key_for_model([kpi_dbt_models], "sync_health")
