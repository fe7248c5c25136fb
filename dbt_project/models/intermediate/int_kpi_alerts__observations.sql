{#- The KPI marts in long form for the alert rules: one row per level x subject x local day x metric that
    a rule (or a rule's guard) uses, with the parts a window sums. Measures and snapshots carry their value
    in `numerator`; a ratio carries its numerator and denominator (amounts in the reporting currency, so
    that lines and guards compare across stores); a special KPI (percentile, distinct count) its value.
    Only the metrics the rules use are unpivoted. Two metrics come from elsewhere: `gmv_pacing` (a store's
    month-to-date GMV pacing attainment, marts.kpi_scorecard) and `compliance_days_until_due` (an open
    deadline of the compliance register, level `obligation`, owned by its owner_subject_id). -#}
{%- set levels = [
    ('store', 'kpi_daily', 'store', 'days.store_id', 'days.store_id', 'cast(null as varchar)', 'days.platform', 'days.region'),
    ('sku', 'kpi_daily_sku', 'sku', "days.store_id || '/' || days.sku", 'days.store_id', 'days.sku', 'days.platform', 'stores.region'),
    ('platform', 'kpi_daily_platform', 'rollup', 'days.platform', 'cast(null as varchar)', 'cast(null as varchar)', 'days.platform', 'cast(null as varchar)'),
    ('region', 'kpi_daily_region', 'rollup', 'days.region', 'cast(null as varchar)', 'cast(null as varchar)', 'cast(null as varchar)', 'days.region'),
] -%}
{%- set kinds = {'store': ['measure', 'ratio', 'snapshot', 'special'], 'sku': ['measure', 'ratio', 'snapshot'],
                 'platform': ['measure', 'ratio', 'snapshot', 'special'], 'region': ['measure', 'ratio', 'snapshot', 'special']} -%}

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

{% for level, mart, grain, subject, store, sku, platform, region in levels %}
{{ level }}_observations as (
    {%- for kpi in kpi_entries(grain, kinds[level]) %}
    select
        '{{ level }}' as level,
        {{ subject }} as subject_id,
        {{ store }} as store_id,
        {{ sku }} as sku,
        {{ platform }} as platform,
        {{ region }} as region,
        days.kpi_date as obs_date,
        {{ 'coalesce(stores.is_complete_day, false)' if level == 'sku' else 'days.is_complete_day' }} as is_complete_day,
        '{{ kpi.name }}' as metric,
        '{{ kpi.kind }}' as metric_kind,
        cast({{ kpi.scale }} as double) as metric_scale,
        {%- if kpi.kind == 'ratio' %}
        {%- set num = kpi_lookup(kpi.numerator) %}{% set den = kpi_lookup(kpi.denominator) %}
        cast(days.{{ num.name ~ ('_reporting' if num.money else '') }} as double) as numerator,
        cast(days.{{ den.name ~ ('_reporting' if den.money else '') }} as double) as denominator
        {%- else %}
        cast(days.{{ kpi.name ~ ('_reporting' if kpi.money else '') }} as double) as numerator,
        cast(null as double) as denominator
        {%- endif %},
        cast(null as varchar) as owner_hint
    from {{ ref(mart) }} as days
    {%- if level == 'sku' %}
    left join store_days as stores on stores.store_id = days.store_id and stores.kpi_date = days.kpi_date
    {%- endif %}
    where exists (select 1 from used where used.level = '{{ level }}' and used.metric = '{{ kpi.name }}')
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),
{% endfor %}

extra_observations as (
    select
        'store' as level,
        scorecard.subject_id,
        scorecard.subject_id as store_id,
        cast(null as varchar) as sku,
        stores.platform,
        stores.region,
        scorecard.as_of_date as obs_date,
        true as is_complete_day,
        'gmv_pacing' as metric,
        'special' as metric_kind,
        cast(1 as double) as metric_scale,
        cast(scorecard.pacing_attainment as double) as numerator,
        cast(null as double) as denominator,
        cast(null as varchar) as owner_hint
    from {{ ref('kpi_scorecard') }} as scorecard
    inner join {{ ref('dim_stores') }} as stores on stores.store_id = scorecard.subject_id
    where scorecard.subject_type = 'store'
        and scorecard.kpi_name = 'gmv'
        and scorecard.period_type = 'month'
        and scorecard.as_of_date between scorecard.period_start and scorecard.period_end
        and exists (select 1 from used where used.level = 'store' and used.metric = 'gmv_pacing')

    union all

    select
        'obligation' as level,
        deadlines.obligation_id as subject_id,
        deadlines.store_id,
        cast(null as varchar) as sku,
        cast(null as varchar) as platform,
        cast(null as varchar) as region,
        deadlines.as_of_date as obs_date,
        true as is_complete_day,
        'compliance_days_until_due' as metric,
        'special' as metric_kind,
        cast(1 as double) as metric_scale,
        cast(deadlines.days_until_due as double) as numerator,
        cast(null as double) as denominator,
        deadlines.owner_subject_id as owner_hint
    from {{ ref('compliance_deadlines') }} as deadlines
    where exists (select 1 from used where used.level = 'obligation' and used.metric = 'compliance_days_until_due')
)

{% for level in levels %}
select * from {{ level[0] }}_observations
union all
{%- endfor %}
select * from extra_observations
