"""The weekly and monthly review reports: reporting/ renders them from the marts; this only wires the
partitions, the dependencies on the marts, the schedules and the materialization metadata."""

from datetime import date

import dagster as dg

from orchestration.defs.resources import KpiResource
from orchestration.defs.transform import WAREHOUSE_POOL, kpi_dbt_marts, kpi_dbt_models
from orchestration.partitions import HISTORY_START
from reporting import Period, render_report
from reporting.warehouse import REQUIRED

_BUILT = kpi_dbt_models.keys | kpi_dbt_marts.keys


def report_deps(grain: str) -> list[dg.AssetKey]:
    """The contract tables the report of this grain reads that this project builds; one not built yet
    shows as a note in the report."""
    other = {"week": "kpi_monthly", "month": "kpi_weekly"}[grain]
    keys = (dg.AssetKey(["marts", t]) for t in REQUIRED if t != other)
    return sorted((k for k in keys if k in _BUILT), key=str)


weekly_partitions = dg.WeeklyPartitionsDefinition(start_date=HISTORY_START, day_offset=1, timezone="UTC")
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=HISTORY_START, timezone="UTC")


def _metadata(period: Period, kpi: KpiResource, context: dg.AssetExecutionContext) -> dict:
    settings = kpi.settings()
    try:
        result = render_report(settings.warehouse_path, period, settings.reports_dir)
    except FileNotFoundError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    for message in result.missing:
        context.log.warning(f"review report section not shown: {message}")
    return {
        "path": dg.MetadataValue.path(str(result.path)),
        "url": dg.MetadataValue.url(result.path.as_uri()),
        "period": period.label,
        **{name: dg.MetadataValue.int(count) for name, count in result.counts.items()},
        "missing_tables": dg.MetadataValue.int(len(result.missing)),
        "summary": dg.MetadataValue.md(result.summary_markdown),
    }


def _review_asset(grain: str, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=["reports", f"{grain}ly_review"],
        partitions_def=partitions_def,
        deps=report_deps(grain),
        group_name="reports",
        kinds={"html"},
        pool=WAREHOUSE_POOL,
        # a transform holding the warehouse's write lock makes the read-only open fail: try again later
        retry_policy=dg.RetryPolicy(max_retries=3, delay=120),
        description=f"The {grain}ly KPI review (KPI_REPORTS_DIR/kpi-review-{grain}-*.html): KPIs against target, "
        "attainment by subject, top movers with their GMV drivers, breaches and open alerts, data freshness.",
    )
    def review(context: dg.AssetExecutionContext, kpi: KpiResource) -> dg.MaterializeResult:
        period = Period(grain, date.fromisoformat(context.partition_key))  # type: ignore[arg-type]
        return dg.MaterializeResult(metadata=_metadata(period, kpi, context))

    return review


weekly_review = _review_asset("week", weekly_partitions)
monthly_review = _review_asset("month", monthly_partitions)

kpi_weekly_review = dg.define_asset_job(
    "kpi_weekly_review", selection=[weekly_review], partitions_def=weekly_partitions, tags={"kind": "report"}
)
kpi_monthly_review = dg.define_asset_job(
    "kpi_monthly_review", selection=[monthly_review], partitions_def=monthly_partitions, tags={"kind": "report"}
)

# Monday and the 1st at 06:00 UTC, after the 02:15 ingest and its transform: the period that just ended.
kpi_weekly_review_schedule = dg.build_schedule_from_partitioned_job(
    kpi_weekly_review, hour_of_day=6, default_status=dg.DefaultScheduleStatus.RUNNING
)
kpi_monthly_review_schedule = dg.build_schedule_from_partitioned_job(
    kpi_monthly_review, hour_of_day=6, default_status=dg.DefaultScheduleStatus.RUNNING
)
