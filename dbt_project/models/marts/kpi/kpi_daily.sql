{#- One row per store x local day, every day from the store's first order to its newest data,
    zero-filled. Ratios are computed from the day's sums. -#}
with

stores as (
    select store_id, platform, currency_code, timezone from {{ ref('dim_stores') }}
),

data_through as (
    select
        store_id,
        orders_complete_from,
        orders_complete_through
    from {{ ref('int_stores__data_through') }}
),

sales as (
    select
        store_id,
        order_date as kpi_date,
        count(*) as orders,
        sum(units) as units,
        sum(gross_merchandise_value) as gmv,
        sum(discount_amount) as discounts,
        sum(gross_merchandise_value_reporting) as gmv_reporting,
        sum(discount_amount_reporting) as discounts_reporting
    from {{ ref('fct_orders') }}
    group by store_id, order_date
),

refunds as (
    select
        store_id,
        refund_date as kpi_date,
        count(distinct order_id) as refunded_orders,
        sum(quantity) as refunded_units,
        sum(refund_amount) as refund_amount,
        sum(refund_amount_reporting) as refund_amount_reporting
    from {{ ref('fct_refunds') }}
    group by store_id, refund_date
),

ads as (
    select
        store_id,
        ad_date as kpi_date,
        sum(impressions) as ad_impressions,
        sum(clicks) as ad_clicks,
        sum(cost) as ad_spend,
        sum(attributed_sales) as ad_attributed_sales,
        sum(cost_reporting) as ad_spend_reporting,
        sum(attributed_sales_reporting) as ad_attributed_sales_reporting
    from {{ ref('fct_ad_performance_daily') }}
    group by store_id, ad_date
),

bounds as (
    -- from the first activity to the newest synced local day, so that trailing days without any
    -- order are rows with zeros (a store whose sales stopped must show it)
    select
        active.store_id,
        min(active.kpi_date) as first_day,
        greatest(
            max(active.kpi_date),
            max({{ local_date('data_through.orders_complete_through', 'stores.timezone') }})
        ) as last_day
    from (
        select
            store_id,
            kpi_date
        from sales
        union all
        select
            store_id,
            kpi_date
        from refunds
        union all
        select
            store_id,
            kpi_date
        from ads
    ) as active
    inner join stores on active.store_id = stores.store_id
    left join data_through on active.store_id = data_through.store_id
    group by active.store_id
),

spine as (
    select
        bounds.store_id,
        cast(
            unnest(
                generate_series(cast(bounds.first_day as timestamp), cast(bounds.last_day as timestamp), interval 1 day)
            )
            as date
        ) as kpi_date
    from bounds
),

fx as (
    select rate_day, currency_code, reporting_currency_code from {{ ref('int_fx_rates__daily') }}
),

daily as (
    select
        spine.store_id,
        stores.platform,
        spine.kpi_date,
        stores.currency_code,
        coalesce(
            {{ local_day_end_utc('spine.kpi_date - 1', 'stores.timezone') }} >= data_through.orders_complete_from
            and {{ local_day_end_utc('spine.kpi_date', 'stores.timezone') }} <= data_through.orders_complete_through,
            false
        ) as is_complete_day,
        coalesce(fx.reporting_currency_code, '{{ var("reporting_currency") }}') as reporting_currency_code,
        coalesce(sales.orders, 0) as orders,
        coalesce(sales.units, 0) as units,
        coalesce(sales.gmv, 0) as gmv,
        coalesce(sales.discounts, 0) as discounts,
        coalesce(refunds.refund_amount, 0) as refund_amount,
        coalesce(refunds.refunded_units, 0) as refunded_units,
        coalesce(refunds.refunded_orders, 0) as refunded_orders,
        -- no sales is 0 in any currency; a missing rate stays null (and fails the facts' tests)
        case when sales.store_id is null then 0 else sales.gmv_reporting end as gmv_reporting,
        case when sales.store_id is null then 0 else sales.discounts_reporting end as discounts_reporting,
        case when refunds.store_id is null then 0 else refunds.refund_amount_reporting end as refund_amount_reporting,
        coalesce(ads.ad_impressions, 0) as ad_impressions,
        coalesce(ads.ad_clicks, 0) as ad_clicks,
        coalesce(ads.ad_spend, 0) as ad_spend,
        coalesce(ads.ad_attributed_sales, 0) as ad_attributed_sales,
        case when ads.store_id is null then 0 else ads.ad_spend_reporting end as ad_spend_reporting,
        case when ads.store_id is null then 0 else ads.ad_attributed_sales_reporting end
            as ad_attributed_sales_reporting
    from spine
    inner join stores on stores.store_id = spine.store_id
    left join sales on sales.store_id = spine.store_id and sales.kpi_date = spine.kpi_date
    left join refunds on refunds.store_id = spine.store_id and refunds.kpi_date = spine.kpi_date
    left join ads on ads.store_id = spine.store_id and ads.kpi_date = spine.kpi_date
    left join data_through on data_through.store_id = spine.store_id
    left join fx on fx.rate_day = spine.kpi_date and fx.currency_code = stores.currency_code
)

select
    store_id,
    platform,
    kpi_date,
    is_complete_day,
    currency_code,
    reporting_currency_code,
    orders,
    units,
    gmv,
    discounts,
    refund_amount,
    refunded_units,
    refunded_orders,
    gmv - discounts - refund_amount as net_sales,
    case when orders > 0 then gmv / orders end as aov,
    case when gmv > 0 then refund_amount / gmv end as refund_rate_by_value,
    gmv_reporting,
    discounts_reporting,
    refund_amount_reporting,
    gmv_reporting - discounts_reporting - refund_amount_reporting as net_sales_reporting,
    case when orders > 0 then gmv_reporting / orders end as aov_reporting,
    ad_impressions,
    ad_clicks,
    ad_spend,
    ad_attributed_sales,
    ad_spend_reporting,
    ad_attributed_sales_reporting
from daily
