{#- Signals of suspected brushing (fake orders placed to lift a listing's rank), per order of every
    platform. Two configurable rules (dbt_project.yml vars), either one suffices:
    - token price: every line is priced below `brushing_price_ratio` of the SKU's median unit price
      in the store (median over all the store's lines of that SKU);
    - one buyer, many orders: the same buyer (salted hash) places at least
      `brushing_orders_per_buyer_day` orders in the store on one local day (platforms that hide the
      buyer, such as Amazon, rely on the price rule). -#}

with

orders as (
    {{ union_platforms(
        ['stg_shopify__orders', 'stg_amazon__orders', 'stg_tiktok__orders', 'stg_shopee__orders',
         'stg_rakuten__orders'],
        ['order_id', 'store_id', 'buyer_id_hash', 'created_at']
    ) }}
),

lines as (
    {{ union_platforms(
        ['stg_shopify__order_lines', 'stg_amazon__order_lines', 'stg_tiktok__order_lines',
         'stg_shopee__order_lines', 'stg_rakuten__order_lines'],
        ['order_id', 'store_id', 'sku', 'unit_price']
    ) }}
),

stores as (
    select store_id, timezone from {{ ref('stg_config__stores') }}
),

sku_prices as (
    select
        store_id,
        sku,
        percentile_cont(0.5) within group (order by unit_price) as median_unit_price
    from lines
    where unit_price > 0
    group by store_id, sku
),

price_signal as (
    select
        lines.store_id,
        lines.order_id,
        max(lines.unit_price / nullif(sku_prices.median_unit_price, 0)) as max_price_ratio
    from lines
    inner join sku_prices on sku_prices.store_id = lines.store_id and sku_prices.sku = lines.sku
    group by lines.store_id, lines.order_id
),

buyer_days as (
    select
        orders.store_id,
        orders.order_id,
        count(*) over (
            partition by orders.store_id, orders.buyer_id_hash, {{ local_date('orders.created_at', 'stores.timezone') }}
        ) as buyer_orders_that_day
    from orders
    inner join stores on stores.store_id = orders.store_id
    where orders.buyer_id_hash is not null
)

select
    orders.store_id,
    orders.order_id,
    price_signal.max_price_ratio,
    coalesce(buyer_days.buyer_orders_that_day, 0) as buyer_orders_that_day,
    coalesce(price_signal.max_price_ratio < {{ var('brushing_price_ratio') }}, false) as is_token_priced,
    coalesce(buyer_days.buyer_orders_that_day >= {{ var('brushing_orders_per_buyer_day') }}, false)
        as is_buyer_burst
from orders
left join price_signal on price_signal.store_id = orders.store_id and price_signal.order_id = orders.order_id
left join buyer_days on buyer_days.store_id = orders.store_id and buyer_days.order_id = orders.order_id
