{#- The bodies of the KPI marts that share a shape: a store x period mart (kpi_weekly, kpi_monthly)
    and a day rollup over stores (kpi_daily_platform, kpi_daily_region). Columns come from the
    catalog (macros/kpi.sql), so every grain sums the same measures and divides the same sums. -#}

{#- Assortment and stock KPIs that are not sums: distinct SKUs, sell-through, turnover.
    `periods` has store_id, period_start, period_end (and the summed units, cogs); `inventory_avg`
    the average inventory value at cost over the period's snapshot days. -#}
{% macro kpi_special_columns(rel='sums', skus='sku_counts', prefix='') -%}
    {{ skus }}.listed_skus,
    {{ skus }}.active_skus,
    {{ kpi_ratio(skus ~ '.active_skus', skus ~ '.listed_skus') }} as active_sku_rate,
    {{ skus }}.new_listings,
    case
        when {{ rel }}.fulfillable_units is not null
            then {{ kpi_ratio(rel ~ '.units', rel ~ '.units + ' ~ rel ~ '.fulfillable_units') }}
    end as sell_through_rate,
    {{ kpi_ratio(rel ~ '.cogs', rel ~ '.avg_inventory_value_at_cost') }} as inventory_turnover
{%- endmacro %}

{#- SKU counts per store and period: listed (first seen by the period's end), active (sold in it),
    new (first seen in it). Joins and group by, not correlated subqueries: PostgreSQL would rescan the
    products per period, and Spark does not decorrelate a range predicate. -#}
{% macro kpi_sku_counts(periods) -%}
    select
        periods.store_id,
        periods.period_start,
        coalesce(listed.listed_skus, 0) as listed_skus,
        coalesce(active.active_skus, 0) as active_skus,
        coalesce(listed.new_listings, 0) as new_listings
    from {{ periods }} as periods
    left join (
        select
            periods.store_id,
            periods.period_start,
            count(case when products.first_seen_date <= periods.period_end then 1 end) as listed_skus,
            count(
                case when products.first_seen_date between periods.period_start and periods.period_end then 1 end
            ) as new_listings
        from {{ periods }} as periods
        inner join {{ ref('dim_products') }} as products on products.store_id = periods.store_id
        where products.sku <> '(none)'
        group by periods.store_id, periods.period_start
    ) as listed on listed.store_id = periods.store_id and listed.period_start = periods.period_start
    left join (
        select
            periods.store_id,
            periods.period_start,
            count(distinct sku_days.sku) as active_skus
        from {{ periods }} as periods
        inner join {{ ref('int_kpi__sku_day') }} as sku_days
            on
                sku_days.store_id = periods.store_id
                and sku_days.kpi_date between periods.period_start and periods.period_end
        where sku_days.sku <> '(none)' and sku_days.units > 0
        group by periods.store_id, periods.period_start
    ) as active on active.store_id = periods.store_id and active.period_start = periods.period_start
{%- endmacro %}

{#- First-response percentiles of answered buyer conversations per group: `keys` are (name,
    expression) pairs over int_buyer_conversations (alias conversations) and dim_stores (stores). -#}
{% macro kpi_response_percentiles(keys) -%}
    select
        {% for name, expression in keys %}{{ expression }} as {{ name }},
        {% endfor -%}
        percentile_cont(0.5) within group (order by conversations.first_response_hours) as first_response_hours_median,
        percentile_cont(0.9) within group (order by conversations.first_response_hours) as first_response_hours_p90
    from {{ ref('int_buyer_conversations') }} as conversations
    inner join {{ ref('dim_stores') }} as stores on stores.store_id = conversations.store_id
    where conversations.first_response_hours is not null
    group by {% for name, expression in keys %}{{ expression }}{% if not loop.last %}, {% endif %}{% endfor %}
{%- endmacro %}

{% macro kpi_store_period(period) -%}
{%- set measures = kpi_columns('store', 'store', ['measure']) -%}
{%- set snapshots = kpi_columns('store', 'store', ['snapshot']) -%}
with

days as (
    select
        *,
        {{ period_start(period, 'kpi_date') }} as period_start,
        {{ period_end(period, 'kpi_date') }} as period_end
    from {{ ref('int_kpi__store_day') }}
),

sums as (
    select
        store_id,
        platform,
        region,
        currency_code,
        reporting_currency_code,
        period_start,
        period_end,
        count(*) as days_with_data,
        sum(case when is_complete_day then 1 else 0 end) as complete_days,
        min(case when is_refund_cohort_mature then 1 else 0 end) = 1 as is_refund_cohort_mature,
        max(case when has_inventory_snapshot then kpi_date end) as last_snapshot_date,
        avg(case when has_inventory_snapshot then inventory_value_at_cost end) as avg_inventory_value_at_cost,
        {{ kpi_aggregates('store', 'store', ['measure']) | join(',\n        ') }}
    from days
    group by store_id, platform, region, currency_code, reporting_currency_code, period_start, period_end
),

last_snapshot as (
    -- a stock is not summed over days: the period's last snapshot
    select
        days.store_id,
        days.period_start,
        {% for column in snapshots %}days.{{ column }}{% if not loop.last %},
        {% endif %}{% endfor %}
    from days
    inner join sums
        on sums.store_id = days.store_id and sums.period_start = days.period_start
        and days.kpi_date = sums.last_snapshot_date
),

periods as (
    select
        sums.*,
        {% for column in snapshots %}last_snapshot.{{ column }}{% if not loop.last %},
        {% endif %}{% endfor %}
    from sums
    left join last_snapshot on last_snapshot.store_id = sums.store_id and last_snapshot.period_start = sums.period_start
),

sku_counts as (
    {{ kpi_sku_counts('periods') }}
),

responses as (
    {{ kpi_response_percentiles([
        ('store_id', 'conversations.store_id'),
        ('period_start', period_start(period, 'conversations.message_date')),
    ]) }}
),

kpis as (
    select
        periods.store_id,
        periods.platform,
        periods.region,
        periods.period_start,
        periods.period_end,
        periods.days_with_data,
        periods.complete_days = {{ dbt.datediff('periods.period_start', 'periods.period_end', 'day') }} + 1
            as is_complete_period,
        periods.is_refund_cohort_mature,
        periods.currency_code,
        periods.reporting_currency_code,
        {% for column in measures + snapshots %}periods.{{ column }},
        {% endfor -%}
        {{ kpi_ratio_columns('store', 'store', prefix='periods.') | join(',\n        ') }},
        {{ kpi_special_columns('periods', 'sku_counts') }},
        responses.first_response_hours_median,
        responses.first_response_hours_p90
    from periods
    left join sku_counts on sku_counts.store_id = periods.store_id and sku_counts.period_start = periods.period_start
    left join responses on responses.store_id = periods.store_id and responses.period_start = periods.period_start
)

select
    cur.*,
    {{ kpi_period_over_period_columns('cur', 'prev', 'ly') | join(',\n    ') }}
from kpis as cur
left join kpis as prev
    on prev.store_id = cur.store_id
    and prev.period_start = {{ period_start(period, dbt.dateadd('day', -1, 'cur.period_start')) }}
left join kpis as ly
    on ly.store_id = cur.store_id
    {%- if period == 'week' %}
    -- 52 weeks back: the same ISO week day pattern, so weekdays compare with weekdays
    and ly.period_start = {{ add_days(-364, 'cur.period_start') }}
    {%- else %}
    and ly.period_start = cast({{ dbt.dateadd('year', -1, 'cur.period_start') }} as date)
    {%- endif %}
{%- endmacro %}

{% macro kpi_daily_rollup(dimension) -%}
{%- set measures = kpi_columns('rollup', 'rollup', ['measure', 'snapshot']) -%}
with

days as (
    select * from {{ ref('int_kpi__store_day') }}
),

sums as (
    select
        {{ dimension }},
        kpi_date,
        reporting_currency_code,
        count(*) as stores,
        min(case when is_complete_day then 1 else 0 end) = 1 as is_complete_day,
        min(case when is_refund_cohort_mature then 1 else 0 end) = 1 as is_refund_cohort_mature,
        sum(inventory_value_at_cost_reporting) as avg_inventory_value_at_cost,
        {{ kpi_aggregates('rollup', 'rollup', ['measure', 'snapshot']) | join(',\n        ') }}
    from days
    group by {{ dimension }}, kpi_date, reporting_currency_code
),

responses as (
    {{ kpi_response_percentiles([
        (dimension, 'stores.' ~ dimension),
        ('kpi_date', 'conversations.message_date'),
    ]) }}
)

select
    sums.{{ dimension }},
    sums.kpi_date,
    sums.stores,
    sums.is_complete_day,
    sums.is_refund_cohort_mature,
    sums.reporting_currency_code,
    {% for column in measures %}sums.{{ column }},
    {% endfor -%}
    {{ kpi_ratio_columns('rollup', 'rollup', prefix='sums.') | join(',\n    ') }},
    case
        when sums.fulfillable_units is not null then {{ kpi_ratio('sums.units', 'sums.units + sums.fulfillable_units') }}
    end as sell_through_rate,
    {{ kpi_ratio('sums.cogs_reporting', 'sums.avg_inventory_value_at_cost') }} as inventory_turnover,
    responses.first_response_hours_median,
    responses.first_response_hours_p90
from sums
left join responses on responses.{{ dimension }} = sums.{{ dimension }} and responses.kpi_date = sums.kpi_date
{%- endmacro %}
