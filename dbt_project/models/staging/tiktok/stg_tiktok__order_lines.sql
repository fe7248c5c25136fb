{#- TikTok lists one line item per unit sold (no reliable quantity), so every row is one unit. -#}
with

orders as (
    {{ latest_version(source('raw_tiktok', 'orders')) }}
),

line_items as (
    select
        _store_id,
        _payload,
        {{ json_array_elements('_payload', 'line_items') }} as line_item
    from orders
),

renamed as (
    select
        cast({{ json_text('line_item', 'id') }} as {{ type_text() }}) as order_line_id,
        cast({{ json_text('_payload', 'id') }} as {{ type_text() }}) as order_id,
        _store_id as store_id,
        'tiktok' as platform,

        {{ json_text('line_item', 'seller_sku') }} as sku,
        cast({{ json_text('line_item', 'product_id') }} as {{ type_text() }}) as product_id,
        cast({{ json_text('line_item', 'sku_id') }} as {{ type_text() }}) as variant_id,
        {{ json_text('line_item', 'product_name') }} as product_title,
        false as is_gift_card,

        1 as quantity,
        coalesce({{ json_text('line_item', 'currency') }}, {{ json_text('_payload', 'payment.currency') }})
            as currency_code,
        cast({{ json_text('line_item', 'original_price') }} as decimal(18, 2)) as unit_price,
        coalesce(cast({{ json_text('line_item', 'seller_discount') }} as decimal(18, 2)), 0) as discount_amount
    from line_items
)

select
    order_line_id,
    order_id,
    store_id,
    platform,
    sku,
    product_id,
    variant_id,
    product_title,
    is_gift_card,
    quantity,
    currency_code,
    unit_price,
    cast(discount_amount as decimal(18, 2)) as discount_amount,
    cast(unit_price * quantity as decimal(18, 2)) as gross_amount
from renamed
