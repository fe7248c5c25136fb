{#- One row per refund line of every platform, dated by when the money moved (processed_at) in
    the store's local calendar, with the refunded order's date and exclusion (null when the order was never synced). -#}
with

refunds as (
    {#- Rakuten has no refunds entity: its money comes back through cancellations and order edits. -#}
    {{ union_platforms(
        ['stg_shopify__refunds', 'stg_amazon__refunds', 'stg_tiktok__refunds', 'stg_shopee__refunds'],
        ['refund_line_id', 'refund_id', 'order_id', 'order_line_id', 'platform', 'store_id',
         'refund_note', 'restock_type', 'quantity', 'currency_code', 'refund_amount',
         'refund_tax_amount', 'created_at', 'processed_at', '_loaded_at as refund_loaded_at']
    ) }}
),

stores as (
    select store_id, timezone from {{ ref('stg_config__stores') }}
)

select
    refunds.*,
    {{ local_date('refunds.processed_at', 'stores.timezone') }} as refund_date,
    orders.order_date,
    orders.exclusion_reason,
    -- the newest load the row is made of: the refund's, or its order's (exclusion, order date)
    greatest(refunds.refund_loaded_at, coalesce(orders._loaded_at, refunds.refund_loaded_at)) as _loaded_at
from refunds
inner join stores on stores.store_id = refunds.store_id
-- A refund counts on its own date even when its order is not in the lake: SP-API refunds do not touch
-- the order, so an old order refunded today is not re-read (its order_date is then unknown).
left join {{ ref('int_orders') }} as orders
    on orders.store_id = refunds.store_id and orders.order_id = refunds.order_id
