{#- Which stores and SKUs moved GMV: per week or month, each store x SKU's GMV against the previous
    period, its change, and its share of the store's change and of the change over all stores
    (reporting currency, so stores add up). The shares of a store's SKUs sum to 1, as do the
    shares of all rows of a period. -#}
with

sku_days as (
    select store_id, platform, sku, kpi_date, gmv, gmv_reporting from {{ ref('kpi_daily_sku') }}
),

sku_periods as (
    {% for period in ['week', 'month'] %}
        select
            '{{ period }}' as period_grain,
            store_id,
            platform,
            sku,
            {{ period_start(period, 'kpi_date') }} as period_start,
            sum(gmv) as gmv,
            sum(gmv_reporting) as gmv_reporting
        from sku_days
        group by store_id, platform, sku, {{ period_start(period, 'kpi_date') }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

keys as (
    -- a SKU that sold in the previous period and not in this one still moved GMV
    select period_grain, store_id, platform, sku, period_start from sku_periods
    union
    {% for period in ['week', 'month'] %}
        select
            period_grain,
            store_id,
            platform,
            sku,
            {{ add_days(7, 'period_start') if period == 'week' else add_months(1, 'period_start') }} as period_start
        from sku_periods
        where period_grain = '{{ period }}'
        {% if not loop.last %}union{% endif %}
    {% endfor %}
),

last_periods as (
    -- no row for a period after the newest data
    select period_grain, max(period_start) as last_period_start from sku_periods
    group by period_grain
),

changes as (
    select
        keys.period_grain,
        keys.store_id,
        keys.platform,
        keys.sku,
        keys.period_start,
        coalesce(cur.gmv, 0) as gmv,
        coalesce(prev.gmv, 0) as gmv_prev,
        coalesce(cur.gmv_reporting, 0) as gmv_reporting,
        coalesce(prev.gmv_reporting, 0) as gmv_reporting_prev
    from keys
    inner join last_periods
        on last_periods.period_grain = keys.period_grain and keys.period_start <= last_periods.last_period_start
    left join sku_periods as cur
        on
            cur.period_grain = keys.period_grain
            and cur.store_id = keys.store_id
            and cur.sku = keys.sku
            and cur.period_start = keys.period_start
    left join sku_periods as prev
        on
            prev.period_grain = keys.period_grain
            and prev.store_id = keys.store_id
            and prev.sku = keys.sku
            and prev.period_start = case
                when keys.period_grain = 'week' then {{ add_days(-7, 'keys.period_start') }}
                else cast({{ dbt.dateadd('month', -1, 'keys.period_start') }} as date)
            end
),

totals as (
    select
        *,
        gmv - gmv_prev as gmv_change,
        gmv_reporting - gmv_reporting_prev as gmv_change_reporting,
        sum(gmv - gmv_prev) over (partition by period_grain, store_id, period_start) as store_gmv_change,
        sum(gmv_reporting - gmv_reporting_prev) over (partition by period_grain, period_start)
            as total_gmv_change_reporting
    from changes
)

select
    period_grain,
    store_id,
    platform,
    sku,
    period_start,
    gmv,
    gmv_prev,
    gmv_change,
    gmv_reporting,
    gmv_reporting_prev,
    gmv_change_reporting,
    case
        when store_gmv_change <> 0 then cast(gmv_change as {{ type_double() }}) / store_gmv_change
    end as share_of_store_change,
    case
        when total_gmv_change_reporting <> 0
            then cast(gmv_change_reporting as {{ type_double() }}) / total_gmv_change_reporting
    end as share_of_total_change
from totals
