with

orders as (
    {{ latest_version(source('raw_shopee', 'orders')) }}
),

items as (
    select
        _store_id,
        _payload,
        {{ json_array_elements('_payload', 'item_list') }} as item
    from orders
),

keyed as (
    select
        _store_id,
        _payload,
        item,
        -- model_id is 0 for an item without variations: the item id identifies the line then
        coalesce(
            nullif({{ json_text('item', 'model_id') }}, '0'), {{ json_text('item', 'item_id') }}
        ) as line_key
    from items
),

renamed as (
    select
        {{ json_text('_payload', 'order_sn') }} || '-' || line_key as order_line_id,
        {{ json_text('_payload', 'order_sn') }} as order_id,
        _store_id as store_id,
        'shopee' as platform,

        coalesce(
            nullif({{ json_text('item', 'model_sku') }}, ''), nullif({{ json_text('item', 'item_sku') }}, '')
        ) as sku,
        {{ json_text('item', 'item_id') }} as product_id,
        nullif({{ json_text('item', 'model_id') }}, '0') as variant_id,
        {{ json_text('item', 'item_name') }} as product_title,
        false as is_gift_card,

        cast({{ json_text('item', 'model_quantity_purchased') }} as integer) as quantity,
        {{ json_text('_payload', 'currency') }} as currency_code,
        cast({{ json_text('item', 'model_original_price') }} as decimal(18, 2)) as unit_price,
        (
            cast({{ json_text('item', 'model_original_price') }} as decimal(18, 2))
            - coalesce(
                cast({{ json_text('item', 'model_discounted_price') }} as decimal(18, 2)),
                cast({{ json_text('item', 'model_original_price') }} as decimal(18, 2))
            )
        ) * cast({{ json_text('item', 'model_quantity_purchased') }} as integer) as discount_amount
    from keyed
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
