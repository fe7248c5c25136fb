{#- One row per order of every platform, with the store's local order date and the reason it is
    kept out of the KPIs, if any. Platforms are appended here as they are added. -#}

with

orders as (
    select
        order_id, platform, store_id, order_name, buyer_id_hash, is_test, financial_status,
        fulfillment_status, cancel_reason, currency_code, total_tax, total_shipping, total_price,
        created_at as ordered_at, cancelled_at, updated_at
    from {{ ref('stg_shopify__orders') }}
),

stores as (
    select store_id, timezone from {{ ref('stg_config__stores') }}
)

select
    orders.*,
    {{ local_date('orders.ordered_at', 'stores.timezone') }} as order_date,
    case
        when orders.is_test then 'test_order'
        when orders.cancelled_at is not null then 'cancelled'
    end as exclusion_reason
from orders
inner join stores on stores.store_id = orders.store_id
