{#- One row per alert raised: a rule of seed kpi_alert_rules breached by a store on a local day. -#}
{%- set kpis = ['refund_rate_by_value', 'gmv_vs_trailing_28d'] -%}

with

daily as (
    select
        *,
        gmv / nullif(avg(gmv) over (
            partition by store_id order by kpi_date rows between 28 preceding and 1 preceding
        ), 0) as gmv_vs_trailing_28d,
        count(*) over (
            partition by store_id order by kpi_date rows between 28 preceding and 1 preceding
        ) as trailing_days
    from {{ ref('kpi_daily') }}
),

rules as (
    select * from {{ ref('kpi_alert_rules') }}
),

evaluated as (
    select
        rules.rule_id,
        rules.kpi,
        rules.comparison,
        rules.warning_threshold,
        rules.critical_threshold,
        rules.description as rule_description,
        daily.store_id,
        daily.platform,
        daily.kpi_date,
        daily.orders,
        case rules.kpi
            {%- for kpi in kpis %}
                when '{{ kpi }}' then cast(daily.{{ kpi }} as {{ type_double() }})
            {%- endfor %}
        end as kpi_value,
        daily.trailing_days
    from daily
    cross join rules
    -- a partial day (its data not yet synced to the end) would look like a collapse
    where daily.orders >= rules.min_orders and daily.is_complete_day
),

breaches as (
    select
        *,
        case
            when comparison = 'above' and kpi_value > critical_threshold then 'critical'
            when comparison = 'below' and kpi_value < critical_threshold then 'critical'
            when comparison = 'above' and kpi_value > warning_threshold then 'warning'
            when comparison = 'below' and kpi_value < warning_threshold then 'warning'
        end as severity
    from evaluated
    -- a trailing comparison needs a full trailing window
    where kpi_value is not null and (kpi != 'gmv_vs_trailing_28d' or trailing_days = 28)
),

newest as (
    select store_id, max(kpi_date) as newest_date from {{ ref('kpi_daily') }}
    where is_complete_day
    group by store_id
)

select
    md5(
        breaches.rule_id || '|' || breaches.store_id || '|' || cast(breaches.kpi_date as {{ type_text() }})
    ) as alert_id,
    breaches.rule_id,
    breaches.kpi,
    'store' as subject_type,
    breaches.store_id as subject_id,
    breaches.store_id,
    breaches.platform,
    breaches.kpi_date,
    breaches.kpi_value,
    case breaches.severity when 'critical' then breaches.critical_threshold else breaches.warning_threshold end
        as threshold,
    breaches.comparison,
    breaches.severity,
    breaches.rule_description,
    breaches.kpi_date >= newest.newest_date - {{ var('alert_lookback_days') }} as is_actionable
from breaches
inner join newest on newest.store_id = breaches.store_id
where breaches.severity is not null
