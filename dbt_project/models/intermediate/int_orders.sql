{#- One row per order of every platform, with the store's local order date and the reason it is
    kept out of the KPIs, if any: test orders, cancelled orders and suspected brushing
    (int_orders__brushing_signals; rules in dbt_project.yml vars). -#}

with

orders as (
    {{ union_platforms(
        ['stg_shopify__orders', 'stg_amazon__orders', 'stg_tiktok__orders', 'stg_shopee__orders',
         'stg_rakuten__orders'],
        ['order_id', 'platform', 'store_id', 'order_name', 'buyer_id_hash', 'is_test', 'order_status',
         'is_cancelled', 'cancel_reason', 'fulfillment_channel', 'currency_code', 'total_tax',
         'total_shipping', 'total_price', 'created_at as ordered_at', 'paid_at', 'shipped_at',
         'cancelled_at', 'updated_at', '_loaded_at']
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
        when signals.is_token_priced or signals.is_buyer_burst then 'suspected_brushing'
    end as exclusion_reason
from orders
inner join stores on stores.store_id = orders.store_id
left join {{ ref('int_orders__brushing_signals') }} as signals
    on signals.store_id = orders.store_id and signals.order_id = orders.order_id
