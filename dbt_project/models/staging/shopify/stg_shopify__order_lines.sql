with

orders as (
    {{ latest_version(source('raw_shopify', 'orders')) }}
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
        'shopify' as platform,

        {{ json_text('line_item', 'sku') }} as sku,
        cast({{ json_text('line_item', 'product_id') }} as {{ type_text() }}) as product_id,
        cast({{ json_text('line_item', 'variant_id') }} as {{ type_text() }}) as variant_id,
        {{ json_text('line_item', 'title') }} as product_title,
        coalesce(cast({{ json_text('line_item', 'gift_card') }} as boolean), false) as is_gift_card,

        cast({{ json_text('line_item', 'quantity') }} as integer) as quantity,
        {{ json_text('_payload', 'currency') }} as currency_code,
        cast({{ json_text('line_item', 'price') }} as decimal(18, 2)) as unit_price,
        coalesce(cast({{ json_text('line_item', 'total_discount') }} as decimal(18, 2)), 0) as discount_amount
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
