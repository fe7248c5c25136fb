{#- One row per period (ISO week, month, quarter) started by the as-of day x pacing profile (''
    for equal days): its days, the days elapsed by the as-of day, and the elapsed share of the
    period's day weights - the share of a period target expected by then (DECISIONS #59). -#}
{%- set period_types = ['week', 'month', 'quarter'] -%}
with

bounds as (
    select
        {{ period_start('quarter', 'min(kpi_date)') }} as first_day,
        {{ scorecard_as_of() }} as as_of_date
    from {{ ref('kpi_daily') }}
),

days as (
    select spine.date_day, bounds.as_of_date
    from {{ ref('metricflow_time_spine') }} as spine
    inner join bounds
        on
            spine.date_day >= bounds.first_day
            and spine.date_day <= {{ period_end('quarter', 'bounds.as_of_date') }}
),

period_days as (
    {%- for period in period_types %}
        select
            '{{ period }}' as period_type,
            {{ period_start(period, 'date_day') }} as period_start,
            {{ period_end(period, 'date_day') }} as period_end,
            date_day,
            as_of_date
        from days
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

profile_rows as (
    select * from {{ ref('scorecard_pacing_profiles') }}
),

profiles as (
    select distinct profile from profile_rows
),

weighted_days as (
    select period_days.*, '' as pacing_profile, 1.0 as day_weight
    from period_days
    union all
    select
        period_days.*,
        profiles.profile as pacing_profile,
        coalesce(on_date.weight, weekday.weight, 1.0) as day_weight
    from period_days
    cross join profiles
    left join profile_rows as on_date
        on on_date.profile = profiles.profile and on_date.on_date = period_days.date_day
    left join profile_rows as weekday
        on
            weekday.profile = profiles.profile
            and weekday.on_date is null
            -- ISO weekday, portably: 1900-01-01 was a Monday
            and weekday.day_of_week
            = mod({{ dbt.datediff("cast('1900-01-01' as date)", 'period_days.date_day', 'day') }}, 7) + 1
)

select
    period_type,
    period_start,
    period_end,
    pacing_profile,
    max(as_of_date) as as_of_date,
    count(*) as days_in_period,
    sum(case when date_day <= as_of_date then 1 else 0 end) as days_elapsed,
    sum(case when date_day <= as_of_date then day_weight else 0 end) / sum(day_weight) as elapsed_share
from weighted_days
where period_start <= as_of_date
group by period_type, period_start, period_end, pacing_profile
