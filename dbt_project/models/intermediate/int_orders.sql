{#- One row per order of every platform, with the store's local order date and the reason it is
    kept out of the KPIs, if any. -#}

with

orders as (
    {{ union_platforms(
        ['stg_shopify__orders', 'stg_amazon__orders', 'stg_tiktok__orders', 'stg_shopee__orders',
         'stg_rakuten__orders'],
        ['order_id', 'platform', 'store_id', 'order_name', 'buyer_id_hash', 'is_test', 'order_status',
         'is_cancelled', 'cancel_reason', 'fulfillment_channel', 'currency_code', 'total_tax',
         'total_shipping', 'total_price', 'created_at as ordered_at', 'paid_at', 'shipped_at',
         'cancelled_at', 'updated_at']
    ) }}
),

stores as (
    select store_id, timezone from {{ ref('stg_config__stores') }}
)

select
    orders.*,
    {{ local_date('orders.ordered_at', 'stores.timezone') }} as order_date,
    case
        when orders.is_test then 'test_order'
        when orders.is_cancelled then 'cancelled'
    end as exclusion_reason
from orders
inner join stores on stores.store_id = orders.store_id
