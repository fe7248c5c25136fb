{#- One row per order line of every platform, with the order's local date and exclusion, and the load
    time of the order version the line came with (lines ride in the order payload). -#}
with

lines as (
    {{ union_platforms(
        ['stg_shopify__order_lines', 'stg_amazon__order_lines', 'stg_tiktok__order_lines',
         'stg_shopee__order_lines', 'stg_rakuten__order_lines'],
        ['order_line_id', 'order_id', 'platform', 'store_id', 'sku', 'product_id', 'variant_id',
         'product_title', 'is_gift_card', 'quantity', 'currency_code', 'unit_price', 'discount_amount',
         'gross_amount']
    ) }}
)

select
    lines.*,
    lines.gross_amount - lines.discount_amount as net_amount,
    orders.order_date,
    orders.ordered_at,
    orders.exclusion_reason,
    orders._loaded_at
from lines
inner join {{ ref('int_orders') }} as orders
    on orders.store_id = lines.store_id and orders.order_id = lines.order_id
