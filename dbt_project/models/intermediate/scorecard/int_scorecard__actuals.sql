{#- One row per subject x period (week, month, quarter started by the as-of day) x scorable KPI:
    the actual over the subject's assigned days of the period up to the as-of day. Measures are
    summed; stocks are the sum on the subject's last day with data in the period; ratios are computed
    from the summed numerator and denominator, never averaged (null unless the denominator is > 0).
    Amounts in the reporting currency. -#}
{%- set kpis = scorecard_kpis() -%}
{%- set columns = scorecard_additive_columns('store') -%}
{%- for grain in ['sku', 'host'] -%}
    {%- set columns = columns + (scorecard_additive_columns(grain) | reject('in', columns) | list) -%}
{%- endfor -%}
{%- set period_sums = [] -%}
{%- for kpi in kpis if kpi.kind != 'ratio' -%}
    {%- set column = scorecard_column(kpi) -%}
    {%- if kpi.kind == 'snapshot' -%}
        {%- do period_sums.append(
            'sum(case when by_period.kpi_date = last_days.last_day then by_period.' ~ column ~ ' end) as ' ~ column
        ) -%}
    {%- else -%}
        {%- do period_sums.append('sum(by_period.' ~ column ~ ') as ' ~ column) -%}
    {%- endif -%}
{%- endfor %}
with

periods as (
    select distinct period_type, period_start, period_end from {{ ref('int_scorecard__periods') }}
),

by_period as (
    select
        days.*,
        periods.period_type,
        periods.period_start,
        periods.period_end
    from {{ ref('int_scorecard__subject_days') }} as days
    inner join periods on days.kpi_date >= periods.period_start and days.kpi_date <= periods.period_end
),

last_days as (
    select subject_id, period_type, period_start, max(kpi_date) as last_day
    from by_period
    group by subject_id, period_type, period_start
),

sums as (
    select
        by_period.subject_id,
        by_period.period_type,
        by_period.period_start,
        max(by_period.period_end) as period_end,
        count(*) as days_with_data,
        {{ period_sums | join(',\n        ') }}
    from by_period
    inner join last_days
        on
            last_days.subject_id = by_period.subject_id
            and last_days.period_type = by_period.period_type
            and last_days.period_start = by_period.period_start
    group by by_period.subject_id, by_period.period_type, by_period.period_start
)

{% for kpi in kpis %}
    {%- if kpi.kind == 'ratio' %}
        {%- set numerator = scorecard_column(kpi_lookup(kpi.numerator)) %}
        {%- set denominator = scorecard_column(kpi_lookup(kpi.denominator)) %}
        {%- set value = kpi_ratio(numerator, denominator, kpi.scale) %}
    {%- else %}
        {%- set numerator = scorecard_column(kpi) %}
        {%- set denominator = 'cast(null as ' ~ dbt.type_float() ~ ')' %}
        {%- set value = numerator %}
    {%- endif %}
    select
        subject_id,
        period_type,
        period_start,
        period_end,
        days_with_data,
        '{{ kpi.name }}' as kpi_name,
        '{{ kpi.kind }}' as kpi_kind,
        {{ value }} as actual,
        {{ numerator }} as actual_numerator,
        {{ denominator }} as actual_denominator
    from sums
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
