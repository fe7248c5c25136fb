with

orders as (
    {{ latest_version(source('raw_amazon', 'orders')) }}
),

items as (
    select
        _store_id,
        _payload,
        {{ json_array_elements('_payload', 'OrderItems') }} as item
    from orders
),

renamed as (
    select
        {{ json_text('item', 'OrderItemId') }} as order_line_id,
        {{ json_text('_payload', 'AmazonOrderId') }} as order_id,
        _store_id as store_id,
        'amazon' as platform,

        {{ json_text('item', 'SellerSKU') }} as sku,
        {{ json_text('item', 'ASIN') }} as product_id,
        cast(null as {{ type_text() }}) as variant_id,
        {{ json_text('item', 'Title') }} as product_title,
        false as is_gift_card,

        cast({{ json_text('item', 'QuantityOrdered') }} as integer) as quantity,
        {{ json_text('item', 'ItemPrice.CurrencyCode') }} as currency_code,
        -- ItemPrice is the unit price times the quantity
        cast(
            cast({{ json_text('item', 'ItemPrice.Amount') }} as decimal(18, 2))
            / nullif(cast({{ json_text('item', 'QuantityOrdered') }} as integer), 0)
            as decimal(18, 2)
        ) as unit_price,
        coalesce(cast({{ json_text('item', 'PromotionDiscount.Amount') }} as decimal(18, 2)), 0) as discount_amount,
        -- the line total as Amazon gives it: unit_price is rounded when it does not divide evenly
        cast({{ json_text('item', 'ItemPrice.Amount') }} as decimal(18, 2)) as gross_amount
    from items
)

select * from renamed
