{#- The KPI marts in long form for the alert rules: one row per level x subject x local day x metric that
    a rule (or a rule's guard) uses, with the parts a window sums. Measures and snapshots carry their value
    in `numerator`; a ratio carries its numerator and denominator (amounts in the reporting currency, so
    that lines and guards compare across stores); a special KPI (percentile, distinct count) its value.
    Only the metrics the rules use are unpivoted. Two metrics come from elsewhere: `gmv_pacing` (a store's
    month-to-date GMV pacing attainment, marts.kpi_scorecard) and `compliance_days_until_due` (an open
    deadline of the compliance register, level `obligation`, owned by its owner_subject_id). -#}
{%- set no_text = 'cast(null as ' ~ type_text() ~ ')' -%}

with

rules as (
    select rule_id, level, metric from {{ ref('stg_config__alert_rules') }}
),

used as (
    select level, metric from rules
    union
    select rules.level, guards.guard_metric as metric
    from {{ ref('stg_config__alert_rule_guards') }} as guards
    inner join rules on rules.rule_id = guards.rule_id
),

store_days as (
    select store_id, kpi_date, region, is_complete_day from {{ ref('kpi_daily') }}
),

store_observations as (
    {{ kpi_alert_observations('store', 'kpi_daily', 'store', ['measure', 'ratio', 'snapshot', 'special'], {
        'subject_id': 'days.store_id', 'store_id': 'days.store_id', 'sku': no_text,
        'platform': 'days.platform', 'region': 'days.region', 'is_complete_day': 'days.is_complete_day'}) }}
),

sku_observations as (
    {{ kpi_alert_observations('sku', 'kpi_daily_sku', 'sku', ['measure', 'ratio', 'snapshot'], {
        'subject_id': "days.store_id || '/' || days.sku", 'store_id': 'days.store_id', 'sku': 'days.sku',
        'platform': 'days.platform', 'region': 'stores.region',
        'is_complete_day': 'coalesce(stores.is_complete_day, false)'}) }}
),

platform_observations as (
    {{ kpi_alert_observations('platform', 'kpi_daily_platform', 'rollup', ['measure', 'ratio', 'snapshot', 'special'], {
        'subject_id': 'days.platform', 'store_id': no_text, 'sku': no_text,
        'platform': 'days.platform', 'region': no_text, 'is_complete_day': 'days.is_complete_day'}) }}
),

region_observations as (
    {{ kpi_alert_observations('region', 'kpi_daily_region', 'rollup', ['measure', 'ratio', 'snapshot', 'special'], {
        'subject_id': 'days.region', 'store_id': no_text, 'sku': no_text,
        'platform': no_text, 'region': 'days.region', 'is_complete_day': 'days.is_complete_day'}) }}
),

extra_observations as (
    select
        'store' as level,
        scorecard.subject_id,
        scorecard.subject_id as store_id,
        cast(null as {{ type_text() }}) as sku,
        stores.platform,
        stores.region,
        true as is_complete_day,
        scorecard.as_of_date as obs_date,
        'gmv_pacing' as metric,
        'special' as metric_kind,
        cast(1 as {{ type_double() }}) as metric_scale,
        cast(scorecard.pacing_attainment as {{ type_double() }}) as numerator,
        cast(null as {{ type_double() }}) as denominator,
        cast(null as {{ type_text() }}) as owner_hint
    from {{ ref('kpi_scorecard') }} as scorecard
    inner join {{ ref('dim_stores') }} as stores
        on scorecard.subject_id = stores.store_id
    where
        scorecard.subject_type = 'store'
        and scorecard.kpi_name = 'gmv'
        and scorecard.period_type = 'month'
        and scorecard.as_of_date between scorecard.period_start and scorecard.period_end
        and exists (
            select 1 from used
            where used.level = 'store' and used.metric = 'gmv_pacing'
        )

    union all

    select
        'obligation' as level,
        deadlines.obligation_id as subject_id,
        deadlines.store_id,
        cast(null as {{ type_text() }}) as sku,
        cast(null as {{ type_text() }}) as platform,
        cast(null as {{ type_text() }}) as region,
        true as is_complete_day,
        deadlines.as_of_date as obs_date,
        'compliance_days_until_due' as metric,
        'special' as metric_kind,
        cast(1 as {{ type_double() }}) as metric_scale,
        cast(deadlines.days_until_due as {{ type_double() }}) as numerator,
        cast(null as {{ type_double() }}) as denominator,
        deadlines.owner_subject_id as owner_hint
    from {{ ref('compliance_deadlines') }} as deadlines
    where
        exists (
            select 1 from used
            where used.level = 'obligation' and used.metric = 'compliance_days_until_due'
        )
)

select * from store_observations
union all
select * from sku_observations
union all
select * from platform_observations
union all
select * from region_observations
union all
select * from extra_observations
