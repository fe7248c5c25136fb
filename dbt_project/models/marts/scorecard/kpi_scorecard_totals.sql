{#- One row per subject x period with a scorecard: the total score (the weight-normalised sum of the
    scored KPIs' attainments), its pace, the count of KPIs by status, and the rank within the role. -#}
with

rows_ as (
    select * from {{ ref('kpi_scorecard') }}
),

totals as (
    select
        subject_id,
        subject_type,
        role,
        period_type,
        period_start,
        max(period_end) as period_end,
        sum(weighted_score) as total_score,
        sum(case when is_scored then pacing_attainment * weight_share end) as pacing_score,
        sum(case when is_scored then 1 else 0 end) as kpis_scored,
        sum(case when status = 'exempt' then 1 else 0 end) as kpis_exempt,
        sum(case when status = 'no_data' then 1 else 0 end) as kpis_no_data,
        sum(case when status = 'warning' then 1 else 0 end) as kpis_warning,
        sum(case when status = 'critical' then 1 else 0 end) as kpis_critical,
        max(case when is_period_complete then 1 else 0 end) = 1 as is_period_complete,
        max(as_of_date) as as_of_date
    from rows_
    group by subject_id, subject_type, role, period_type, period_start
)

select
    subject_id,
    subject_type,
    role,
    period_type,
    period_start,
    period_end,
    total_score,
    pacing_score,
    case when total_score is not null then rank() over (
        partition by subject_type, role, period_type, period_start, case when total_score is null then 1 else 0 end
        order by total_score desc
    ) end as rank_in_role,
    kpis_scored,
    kpis_exempt,
    kpis_no_data,
    kpis_warning,
    kpis_critical,
    is_period_complete,
    as_of_date
from totals
