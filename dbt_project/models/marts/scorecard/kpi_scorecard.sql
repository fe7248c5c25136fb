{#- One row per subject x period x KPI with a target (and, for template-only targets, data in the
    period): actual, target, direction-aware clamped attainment, weight and weighted score, the
    period-to-date pacing target and attainment, status, exemption and rank within the role.
    Rules: DECISIONS #56-#60. -#}
with

targets as (
    select * from {{ ref('int_scorecard__targets') }}
),

periods as (
    select * from {{ ref('int_scorecard__periods') }}
),

catalog as (
    select kpi_name, kind as kpi_kind, direction from {{ ref('kpi_catalog') }}
),

actuals as (
    select * from {{ ref('int_scorecard__actuals') }}
),

exemptions as (
    select * from {{ ref('scorecard_exemptions') }}
),

joined as (
    select
        targets.subject_id,
        targets.subject_type,
        targets.role,
        targets.period_type,
        targets.period_start,
        targets.period_end,
        targets.kpi_name,
        catalog.kpi_kind,
        catalog.direction,
        actuals.actual,
        targets.target,
        targets.weight,
        targets.attainment_floor,
        targets.attainment_cap,
        targets.warning_line,
        targets.critical_line,
        targets.pacing_profile,
        targets.has_own_target,
        equal_days.as_of_date,
        equal_days.days_in_period,
        equal_days.days_elapsed,
        coalesce(profiled.elapsed_share, equal_days.elapsed_share) as elapsed_share,
        coalesce(actuals.days_with_data, 0) as days_with_data,
        equal_days.period_end <= equal_days.as_of_date as is_period_complete,
        exemptions.subject_id is not null as is_exempt,
        exemptions.reason as exemption_reason,
        exemptions.approved_by as exemption_approved_by,
        exemptions.approved_on as exemption_approved_on
    from targets
    inner join catalog on catalog.kpi_name = targets.kpi_name
    inner join periods as equal_days
        on
            equal_days.period_type = targets.period_type
            and equal_days.period_start = targets.period_start
            and equal_days.pacing_profile = ''
    left join periods as profiled
        on
            profiled.period_type = targets.period_type
            and profiled.period_start = targets.period_start
            and profiled.pacing_profile = targets.pacing_profile
            and targets.pacing_profile <> ''
    left join actuals
        on
            actuals.subject_id = targets.subject_id
            and actuals.period_type = targets.period_type
            and actuals.period_start = targets.period_start
            and actuals.kpi_name = targets.kpi_name
    left join exemptions
        on
            exemptions.subject_id = targets.subject_id
            and exemptions.kpi_name = targets.kpi_name
            and exemptions.period_type = targets.period_type
            and exemptions.period_start = targets.period_start
),

paced as (
    select
        *,
        {#- an amount accrues over the period; a ratio or a stock is judged against the whole target -#}
        case when kpi_kind = 'measure' then target * elapsed_share else target end as pacing_target
    from joined
    where has_own_target or days_with_data > 0
),

attained as (
    select
        *,
        {{ scorecard_attainment('actual', 'target', 'direction', 'attainment_floor', 'attainment_cap') }} as attainment,
        {{ scorecard_attainment('actual', 'pacing_target', 'direction', 'attainment_floor', 'attainment_cap') }}
            as pacing_attainment
    from paced
),

counted as (
    select
        *,
        not is_exempt and attainment is not null as is_scored,
        {#- a period still running is judged on its pace, a finished one on the whole target -#}
        case when is_period_complete then attainment else pacing_attainment end as judged_attainment
    from attained
),

weighted as (
    select
        *,
        case when is_scored then weight / sum(case when is_scored then weight end) over (
            partition by subject_id, period_type, period_start
        ) end as weight_share
    from counted
)

select
    subject_id,
    subject_type,
    role,
    period_type,
    period_start,
    period_end,
    kpi_name,
    kpi_kind,
    direction,
    actual,
    target,
    attainment,
    weight,
    weight_share,
    attainment * weight_share as weighted_score,
    attainment_floor,
    attainment_cap,
    warning_line,
    critical_line,
    pacing_profile,
    elapsed_share,
    pacing_target,
    pacing_attainment,
    case
        when is_exempt then 'exempt'
        when judged_attainment is null then 'no_data'
        when judged_attainment < critical_line then 'critical'
        when judged_attainment < warning_line then 'warning'
        else 'on_track'
    end as status,
    is_exempt,
    exemption_reason,
    exemption_approved_by,
    exemption_approved_on,
    is_scored,
    case when is_scored then rank() over (
        partition by subject_type, role, period_type, period_start, kpi_name, is_scored
        order by attainment desc
    ) end as rank_in_role,
    is_period_complete,
    days_in_period,
    days_elapsed,
    days_with_data,
    as_of_date
from weighted
