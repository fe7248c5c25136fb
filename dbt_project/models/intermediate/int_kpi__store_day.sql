{#- One row per store x local day, every day from the store's first activity to its newest synced
    day (zero-filled): every measure and snapshot of the KPI catalog at store grain, in the store's
    currency and the reporting currency. kpi_daily adds the ratios; the weekly, monthly and rollup
    marts sum these columns. -#}
with

stores as (
    select store_id, platform, region, currency_code, timezone from {{ ref('dim_stores') }}
),

data_through as (
    select store_id, orders_complete_from, orders_complete_through from {{ ref('int_stores__data_through') }}
),

fx as (
    select rate_day, currency_code, reporting_currency_code, rate_to_reporting from {{ ref('int_fx_rates__daily') }}
),

orders as (
    select
        orders.store_id,
        orders.order_date,
        orders.units,
        orders.gross_merchandise_value,
        orders.discount_amount,
        orders.gross_merchandise_value_reporting,
        orders.discount_amount_reporting,
        orders.fulfillment_channel,
        orders.paid_at,
        orders.shipped_at,
        {{ local_date('orders.paid_at', 'stores.timezone') }} as paid_date,
        {{ local_date('orders.shipped_at', 'stores.timezone') }} as shipped_date
    from {{ ref('fct_orders') }} as orders
    inner join stores on stores.store_id = orders.store_id
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
    from orders
    group by store_id, order_date
),

ship_48h as (
    -- seller-fulfilled orders by payment day whose 48 hours have passed by the newest synced data
    select
        orders.store_id,
        orders.paid_date as kpi_date,
        count(*) as ship_48h_eligible_orders,
        sum(
            case
                when orders.shipped_at is not null and orders.shipped_at <= {{ add_hours(48, 'orders.paid_at') }} then 1
                else 0
            end
        ) as ship_48h_on_time_orders
    from orders
    inner join data_through on data_through.store_id = orders.store_id
    where
        orders.fulfillment_channel = 'seller'
        and orders.paid_at is not null
        and {{ add_hours(48, 'orders.paid_at') }} <= data_through.orders_complete_through
    group by orders.store_id, orders.paid_date
),

shipments as (
    select
        store_id,
        shipped_date as kpi_date,
        count(*) as shipped_orders,
        sum(
            case when shipped_at > {{ add_hours(var('handling_hours'), 'paid_at') }} then 1 else 0 end
        ) as late_shipped_orders
    from orders
    where fulfillment_channel = 'seller' and shipped_at is not null and paid_at is not null
    group by store_id, shipped_date
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

cohort_refunds as (
    -- by the refunded order's day, converted at that day's rate like the order's GMV (so a full
    -- refund is exactly the order's share of GMV in either currency)
    select
        refunds.store_id,
        refunds.order_date as kpi_date,
        count(distinct refunds.order_id) as cohort_refunded_orders,
        sum(refunds.quantity) as cohort_refunded_units,
        sum(refunds.refund_amount) as cohort_refund_amount,
        sum(refunds.refund_amount * fx.rate_to_reporting) as cohort_refund_amount_reporting
    from {{ ref('fct_refunds') }} as refunds
    left join fx on fx.rate_day = refunds.order_date and fx.currency_code = refunds.currency_code
    where refunds.order_date is not null
    group by refunds.store_id, refunds.order_date
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

skus as (
    -- COGS, fees, Buy Box and inventory come per SKU
    select
        store_id,
        kpi_date,
        sum(cogs) as cogs,
        sum(cogs_reporting) as cogs_reporting,
        sum(platform_fees) as platform_fees,
        sum(platform_fees_reporting) as platform_fees_reporting,
        sum(buy_box_page_views) as buy_box_page_views,
        sum(asin_page_views) as asin_page_views,
        max(case when has_inventory_snapshot then 1 else 0 end) = 1 as has_inventory_snapshot,
        sum(fulfillable_units) as fulfillable_units,
        sum(inbound_units) as inbound_units,
        sum(inventory_position_units) as inventory_position_units,
        sum(avg_daily_units_30d) as avg_daily_units_30d,
        sum(stock_out_sku_days) as stock_out_sku_days,
        sum(inventory_value_at_cost) as inventory_value_at_cost,
        sum(inventory_value_at_cost_reporting) as inventory_value_at_cost_reporting,
        sum(restock_units) as restock_units
    from {{ ref('int_kpi__sku_day') }}
    group by store_id, kpi_date
),

reviews as (
    select
        store_id,
        review_date as kpi_date,
        count(*) as reviews,
        sum(case when is_negative then 1 else 0 end) as negative_reviews
    from {{ ref('int_reviews') }}
    group by store_id, review_date
),

buyer_conversations as (
    -- the 24-hour reply is judged once 24 hours have passed by the newest synced data
    select
        conversations.store_id,
        conversations.message_date,
        conversations.first_response_hours,
        coalesce(
            {{ add_hours(24, 'conversations.first_buyer_message_at') }} <= data_through.orders_complete_through, false
        ) as is_due
    from {{ ref('int_buyer_conversations') }} as conversations
    left join data_through on data_through.store_id = conversations.store_id
),

conversations as (
    select
        store_id,
        message_date as kpi_date,
        count(*) as conversations,
        sum(case when is_due then 1 else 0 end) as conversations_due_24h,
        sum(case when is_due and first_response_hours <= 24 then 1 else 0 end) as conversations_replied_24h
    from buyer_conversations
    group by store_id, message_date
),

traffic as (
    select
        store_id,
        report_date as kpi_date,
        sessions,
        page_views,
        cast(null as decimal(18, 2)) as platform_gmv,
        cast(null as decimal(18, 2)) as live_gmv
    from {{ ref('stg_amazon__sales_traffic_by_date') }}
    union all
    -- TikTok Shop Analytics: product page views, and the GMV split by content type
    select
        store_id,
        performance_date as kpi_date,
        null as sessions,
        product_page_views as page_views,
        gmv as platform_gmv,
        live_gmv
    from {{ ref('stg_tiktok__shop_performance') }}
),

live as (
    select
        live.store_id,
        {{ local_date('live.started_at', 'stores.timezone') }} as kpi_date,
        count(*) as live_sessions,
        sum(live.duration_minutes) as live_minutes,
        sum(live.gmv) as live_session_gmv,
        sum(live.viewers) as live_viewers,
        sum(live.product_impressions) as live_product_impressions,
        sum(live.product_clicks) as live_product_clicks
    from {{ ref('stg_tiktok__live_sessions') }} as live
    inner join stores on stores.store_id = live.store_id
    where live.ended_at is not null
    group by live.store_id, {{ local_date('live.started_at', 'stores.timezone') }}
),

activity as (
    select store_id, kpi_date from sales
    union all
    select store_id, kpi_date from refunds
    union all
    select store_id, kpi_date from ads
    union all
    select store_id, kpi_date from skus
    union all
    select store_id, kpi_date from live
    union all
    select store_id, kpi_date from reviews
    union all
    select store_id, kpi_date from conversations
),

bounds as (
    -- from the first activity to the newest synced local day, so that trailing days without any
    -- order are rows with zeros (a store whose sales stopped must show it)
    select
        activity.store_id,
        min(activity.kpi_date) as first_day,
        greatest(
            max(activity.kpi_date),
            max({{ local_date('data_through.orders_complete_through', 'stores.timezone') }})
        ) as last_day
    from activity
    inner join stores on activity.store_id = stores.store_id
    left join data_through on activity.store_id = data_through.store_id
    group by activity.store_id
),

spine as (
    select
        bounds.store_id,
        {{ date_series('bounds.first_day', 'bounds.last_day') }} as kpi_date
    from bounds
),

joined as (
    select
        spine.store_id,
        stores.platform,
        stores.region,
        spine.kpi_date,
        coalesce(
            {{ local_day_end_utc('spine.kpi_date - 1', 'stores.timezone') }} >= data_through.orders_complete_from
            and {{ local_day_end_utc('spine.kpi_date', 'stores.timezone') }} <= data_through.orders_complete_through,
            false
        ) as is_complete_day,
        coalesce(
            {{ add_days(var('return_window_days'), 'spine.kpi_date') }}
            < {{ local_date('data_through.orders_complete_through', 'stores.timezone') }},
            false
        ) as is_refund_cohort_mature,
        coalesce(skus.has_inventory_snapshot, false) as has_inventory_snapshot,
        stores.currency_code,
        coalesce(fx.reporting_currency_code, '{{ var("reporting_currency") }}') as reporting_currency_code,
        fx.rate_to_reporting,
        coalesce(sales.orders, 0) as orders,
        coalesce(sales.units, 0) as units,
        coalesce(sales.gmv, 0) as gmv,
        -- no sales is 0 in any currency; a missing rate stays null (and fails the facts' tests)
        case when sales.store_id is null then 0 else sales.gmv_reporting end as gmv_reporting,
        coalesce(sales.discounts, 0) as discounts,
        case when sales.store_id is null then 0 else sales.discounts_reporting end as discounts_reporting,
        coalesce(refunds.refund_amount, 0) as refund_amount,
        case when refunds.store_id is null then 0 else refunds.refund_amount_reporting end as refund_amount_reporting,
        coalesce(refunds.refunded_units, 0) as refunded_units,
        coalesce(refunds.refunded_orders, 0) as refunded_orders,
        coalesce(cohort_refunds.cohort_refund_amount, 0) as cohort_refund_amount,
        case when cohort_refunds.store_id is null then 0 else cohort_refunds.cohort_refund_amount_reporting end
            as cohort_refund_amount_reporting,
        coalesce(cohort_refunds.cohort_refunded_units, 0) as cohort_refunded_units,
        coalesce(cohort_refunds.cohort_refunded_orders, 0) as cohort_refunded_orders,
        traffic.sessions,
        traffic.page_views,
        case when traffic.sessions is not null then coalesce(sales.orders, 0) else 0 end as orders_with_sessions,
        case when traffic.sessions is not null then coalesce(sales.units, 0) else 0 end as units_with_sessions,
        coalesce(skus.buy_box_page_views, 0) as buy_box_page_views,
        coalesce(skus.asin_page_views, 0) as asin_page_views,
        coalesce(ads.ad_impressions, 0) as ad_impressions,
        coalesce(ads.ad_clicks, 0) as ad_clicks,
        coalesce(ads.ad_spend, 0) as ad_spend,
        case when ads.store_id is null then 0 else ads.ad_spend_reporting end as ad_spend_reporting,
        coalesce(ads.ad_attributed_sales, 0) as ad_attributed_sales,
        case when ads.store_id is null then 0 else ads.ad_attributed_sales_reporting end
            as ad_attributed_sales_reporting,
        coalesce(skus.cogs, 0) as cogs,
        coalesce(skus.cogs_reporting, 0) as cogs_reporting,
        coalesce(skus.platform_fees, 0) as platform_fees,
        coalesce(skus.platform_fees_reporting, 0) as platform_fees_reporting,
        coalesce(ship_48h.ship_48h_eligible_orders, 0) as ship_48h_eligible_orders,
        coalesce(ship_48h.ship_48h_on_time_orders, 0) as ship_48h_on_time_orders,
        coalesce(shipments.shipped_orders, 0) as shipped_orders,
        coalesce(shipments.late_shipped_orders, 0) as late_shipped_orders,
        skus.fulfillable_units,
        skus.inbound_units,
        skus.inventory_position_units,
        skus.avg_daily_units_30d,
        coalesce(skus.stock_out_sku_days, 0) as stock_out_sku_days,
        skus.inventory_value_at_cost,
        skus.inventory_value_at_cost_reporting,
        skus.restock_units,
        coalesce(reviews.reviews, 0) as reviews,
        coalesce(reviews.negative_reviews, 0) as negative_reviews,
        coalesce(conversations.conversations, 0) as conversations,
        coalesce(conversations.conversations_due_24h, 0) as conversations_due_24h,
        coalesce(conversations.conversations_replied_24h, 0) as conversations_replied_24h,
        coalesce(traffic.platform_gmv, 0) as platform_gmv,
        coalesce(traffic.platform_gmv, 0) * fx.rate_to_reporting as platform_gmv_reporting,
        coalesce(traffic.live_gmv, 0) as live_gmv,
        coalesce(traffic.live_gmv, 0) * fx.rate_to_reporting as live_gmv_reporting,
        coalesce(live.live_sessions, 0) as live_sessions,
        coalesce(live.live_minutes, 0) as live_minutes,
        coalesce(live.live_session_gmv, 0) as live_session_gmv,
        coalesce(live.live_session_gmv, 0) * fx.rate_to_reporting as live_session_gmv_reporting,
        coalesce(live.live_viewers, 0) as live_viewers,
        coalesce(live.live_product_impressions, 0) as live_product_impressions,
        coalesce(live.live_product_clicks, 0) as live_product_clicks
    from spine
    inner join stores on stores.store_id = spine.store_id
    left join data_through on data_through.store_id = spine.store_id
    left join fx on fx.rate_day = spine.kpi_date and fx.currency_code = stores.currency_code
    left join sales on sales.store_id = spine.store_id and sales.kpi_date = spine.kpi_date
    left join ship_48h on ship_48h.store_id = spine.store_id and ship_48h.kpi_date = spine.kpi_date
    left join shipments on shipments.store_id = spine.store_id and shipments.kpi_date = spine.kpi_date
    left join refunds on refunds.store_id = spine.store_id and refunds.kpi_date = spine.kpi_date
    left join cohort_refunds on cohort_refunds.store_id = spine.store_id and cohort_refunds.kpi_date = spine.kpi_date
    left join ads on ads.store_id = spine.store_id and ads.kpi_date = spine.kpi_date
    left join skus on skus.store_id = spine.store_id and skus.kpi_date = spine.kpi_date
    left join traffic on traffic.store_id = spine.store_id and traffic.kpi_date = spine.kpi_date
    left join live on live.store_id = spine.store_id and live.kpi_date = spine.kpi_date
    left join reviews on reviews.store_id = spine.store_id and reviews.kpi_date = spine.kpi_date
    left join conversations on conversations.store_id = spine.store_id and conversations.kpi_date = spine.kpi_date
)

select
    *,
    {{ kpi_profit_columns() | join(',\n    ') }}
from joined
