with

orders as (
    {{ latest_version(source('raw_rakuten', 'orders')) }}
),

packages as (
    select
        _store_id,
        _payload,
        {{ json_array_elements('_payload', 'PackageModelList') }} as package
    from orders
),

items as (
    select
        _store_id,
        _payload,
        {{ json_array_elements('package', 'ItemModelList') }} as item
    from packages
    where coalesce(cast({{ json_text('package', 'packageDeleteFlag') }} as integer), 0) = 0
),

coupons as (
    select
        _store_id,
        {{ json_text('_payload', 'orderNumber') }} as order_id,
        {{ json_array_elements('_payload', 'CouponModelList') }} as coupon
    from orders
),

line_discounts as (
    -- the shop's own per-item coupons (couponCapitalCode 1); Rakuten- and maker-funded coupons are
    -- not a seller discount, and order-wide coupons (itemDetailId 0) stay on the order
    select
        _store_id,
        order_id,
        {{ json_text('coupon', 'itemDetailId') }} as order_line_id,
        sum(
            case
                when cast({{ json_text('coupon', 'couponTotalPrice') }} as bigint) >= 0
                    then cast({{ json_text('coupon', 'couponTotalPrice') }} as decimal(18, 2))
                else
                    cast({{ json_text('coupon', 'couponPrice') }} as decimal(18, 2))
                    * cast({{ json_text('coupon', 'couponUnit') }} as integer)
            end
        ) as discount_amount
    from coupons
    where
        cast({{ json_text('coupon', 'couponCapitalCode') }} as integer) = 1
        and coalesce({{ json_text('coupon', 'itemDetailId') }}, '0') != '0'
    group by _store_id, order_id, order_line_id
),

renamed as (
    select
        {{ json_text('items.item', 'itemDetailId') }} as order_line_id,
        {{ json_text('items._payload', 'orderNumber') }} as order_id,
        items._store_id as store_id,
        'rakuten' as platform,

        coalesce(
            nullif({{ json_text('items.item', 'SkuModelList[0].merchantDefinedSkuId') }}, ''),
            nullif({{ json_text('items.item', 'itemNumber') }}, ''),
            {{ json_text('items.item', 'manageNumber') }}
        ) as sku,
        {{ json_text('items.item', 'manageNumber') }} as product_id,
        {{ json_text('items.item', 'SkuModelList[0].variantId') }} as variant_id,
        {{ json_text('items.item', 'itemName') }} as product_title,
        false as is_gift_card,

        cast({{ json_text('items.item', 'units') }} as integer) as quantity,
        'JPY' as currency_code,
        cast({{ json_text('items.item', 'price') }} as decimal(18, 2)) as unit_price,
        coalesce(line_discounts.discount_amount, 0) as discount_amount
    from items
    left join line_discounts
        on
            items._store_id = line_discounts._store_id
            and {{ json_text('items._payload', 'orderNumber') }} = line_discounts.order_id
            and {{ json_text('items.item', 'itemDetailId') }} = line_discounts.order_line_id
    where coalesce(cast({{ json_text('items.item', 'deleteItemFlag') }} as integer), 0) = 0
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
