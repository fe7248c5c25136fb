{#- Every grain adds up to the same totals: stores to platforms and regions, days to weeks and
    months, SKUs to stores. Returns one row per disagreement (tolerance: a cent, or 1e-6 for counts). -#}
with

daily as (
    select * from {{ ref('kpi_daily') }}
),

checks as (
    select 'platform' as rollup, platform as rollup_key, kpi_date as rollup_date,
        sum(gmv_reporting) as gmv_reporting, sum(net_sales_reporting) as net_sales_reporting,
        sum(orders) as orders, sum(ad_spend_reporting) as ad_spend_reporting, sum(cogs_reporting) as cogs_reporting
    from daily group by platform, kpi_date
    union all
    select 'region', region, kpi_date, sum(gmv_reporting), sum(net_sales_reporting), sum(orders),
        sum(ad_spend_reporting), sum(cogs_reporting)
    from daily group by region, kpi_date
),

rollups as (
    select 'platform' as rollup, platform as rollup_key, kpi_date as rollup_date, gmv_reporting,
        net_sales_reporting, orders, ad_spend_reporting, cogs_reporting
    from {{ ref('kpi_daily_platform') }}
    union all
    select 'region', region, kpi_date, gmv_reporting, net_sales_reporting, orders, ad_spend_reporting, cogs_reporting
    from {{ ref('kpi_daily_region') }}
),

periods as (
    select 'month' as period, store_id, {{ period_start('month', 'kpi_date') }} as period_start,
        sum(gmv) as gmv, sum(orders) as orders, sum(refund_amount) as refund_amount, sum(ad_spend) as ad_spend
    from daily group by store_id, {{ period_start('month', 'kpi_date') }}
    union all
    select 'week', store_id, {{ period_start('week', 'kpi_date') }}, sum(gmv), sum(orders), sum(refund_amount),
        sum(ad_spend)
    from daily group by store_id, {{ period_start('week', 'kpi_date') }}
),

period_marts as (
    select 'month' as period, store_id, period_start, gmv, orders, refund_amount, ad_spend from {{ ref('kpi_monthly') }}
    union all
    select 'week', store_id, period_start, gmv, orders, refund_amount, ad_spend from {{ ref('kpi_weekly') }}
),

skus as (
    select store_id, kpi_date, sum(units) as units, sum(gmv) as gmv, sum(refund_amount) as refund_amount,
        sum(cogs) as cogs
    from {{ ref('kpi_daily_sku') }}
    group by store_id, kpi_date
)

select 'stores vs ' || rollups.rollup as disagreement, rollups.rollup_key as key, rollups.rollup_date as day
from checks
full outer join rollups
    on rollups.rollup = checks.rollup and rollups.rollup_key = checks.rollup_key
    and rollups.rollup_date = checks.rollup_date
where
    checks.rollup is null or rollups.rollup is null
    or abs(checks.gmv_reporting - rollups.gmv_reporting) > 0.01
    or abs(checks.net_sales_reporting - rollups.net_sales_reporting) > 0.01
    or checks.orders <> rollups.orders
    or abs(checks.ad_spend_reporting - rollups.ad_spend_reporting) > 0.01
    or abs(checks.cogs_reporting - rollups.cogs_reporting) > 0.01

union all

select 'days vs ' || period_marts.period, period_marts.store_id, period_marts.period_start
from periods
full outer join period_marts
    on period_marts.period = periods.period and period_marts.store_id = periods.store_id
    and period_marts.period_start = periods.period_start
where
    periods.period is null or period_marts.period is null
    or abs(periods.gmv - period_marts.gmv) > 0.01
    or periods.orders <> period_marts.orders
    or abs(periods.refund_amount - period_marts.refund_amount) > 0.01
    or abs(periods.ad_spend - period_marts.ad_spend) > 0.01

union all

select 'skus vs store', daily.store_id, daily.kpi_date
from daily
left join skus on skus.store_id = daily.store_id and skus.kpi_date = daily.kpi_date
where
    coalesce(skus.units, 0) <> daily.units
    or abs(coalesce(skus.gmv, 0) - daily.gmv) > 0.01
    or abs(coalesce(skus.refund_amount, 0) - daily.refund_amount) > 0.01
    or abs(coalesce(skus.cogs, 0) - daily.cogs) > 0.01

union all

select 'contribution shares', period_grain, period_start
from {{ ref('kpi_gmv_contribution') }}
group by period_grain, period_start
having count(share_of_total_change) > 0 and abs(sum(share_of_total_change) - 1) > 1e-6
