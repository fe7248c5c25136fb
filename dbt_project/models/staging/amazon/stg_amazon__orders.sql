-- a table, not a view: the view's SQL would carry the PII salt into the warehouse catalog
{{ config(materialized='table') }}

with

source as (
    {{ latest_version(source('raw_amazon', 'orders')) }}
),

items as (
    select
        _store_id,
        _record_id,
        {{ json_array_elements('_payload', 'OrderItems') }} as item
    from source
),

item_totals as (
    select
        _store_id,
        _record_id,
        {{ any_value(json_text('item', 'ItemPrice.CurrencyCode')) }} as item_currency_code,
        sum(cast({{ json_text('item', 'ItemPrice.Amount') }} as decimal(18, 2))) as line_items_price,
        sum(coalesce(cast({{ json_text('item', 'PromotionDiscount.Amount') }} as decimal(18, 2)), 0)) as discounts,
        sum(
            coalesce(cast({{ json_text('item', 'ItemTax.Amount') }} as decimal(18, 2)), 0)
            + coalesce(cast({{ json_text('item', 'ShippingTax.Amount') }} as decimal(18, 2)), 0)
            - coalesce(cast({{ json_text('item', 'PromotionDiscountTax.Amount') }} as decimal(18, 2)), 0)
        ) as tax,
        sum(
            coalesce(cast({{ json_text('item', 'ShippingPrice.Amount') }} as decimal(18, 2)), 0)
            - coalesce(cast({{ json_text('item', 'ShippingDiscount.Amount') }} as decimal(18, 2)), 0)
        ) as shipping,
        max({{ json_text('item', 'BuyerRequestedCancel.BuyerCancelReason') }}) as cancel_reason
    from items
    group by _store_id, _record_id
),

-- v0 has no ship timestamp: the first version seen Shipped carries it as its LastUpdateDate
-- (a later change of the order would move the latest version's LastUpdateDate again).
shipments as (
    select
        _store_id,
        _record_id,
        min({{ to_utc(json_text('_payload', 'LastUpdateDate')) }}) as shipped_at
    from {{ source('raw_amazon', 'orders') }}
    where {{ json_text('_payload', 'OrderStatus') }} in ('Shipped', 'PartiallyShipped')
    group by _store_id, _record_id
),

renamed as (
    select
        ---------- ids
        {{ json_text('source._payload', 'AmazonOrderId') }} as order_id,
        source._store_id as store_id,
        'amazon' as platform,
        {{ json_text('source._payload', 'AmazonOrderId') }} as order_name,
        {{ hash_buyer_id(json_text('source._payload', 'BuyerInfo.BuyerEmail')) }} as buyer_id_hash,

        ---------- status
        false as is_test,
        {{ json_text('source._payload', 'OrderStatus') }} as order_status,
        coalesce({{ json_text('source._payload', 'OrderStatus') }} = 'Canceled', false) as is_cancelled,
        item_totals.cancel_reason,
        case {{ json_text('source._payload', 'FulfillmentChannel') }}
            when 'AFN' then 'platform'
            when 'MFN' then 'seller'
        end as fulfillment_channel,

        ---------- money (marketplace currency)
        coalesce(
            {{ json_text('source._payload', 'OrderTotal.CurrencyCode') }}, item_totals.item_currency_code
        ) as currency_code,
        cast(item_totals.line_items_price as decimal(18, 2)) as total_line_items_price,
        cast(item_totals.discounts as decimal(18, 2)) as total_discounts,
        cast(item_totals.line_items_price - item_totals.discounts as decimal(18, 2)) as subtotal_price,
        cast(item_totals.tax as decimal(18, 2)) as total_tax,
        cast(item_totals.shipping as decimal(18, 2)) as total_shipping,
        cast({{ json_text('source._payload', 'OrderTotal.Amount') }} as decimal(18, 2)) as total_price,

        ---------- timestamps (UTC)
        {{ to_utc(json_text('source._payload', 'PurchaseDate')) }} as created_at,
        case
            when {{ json_text('source._payload', 'OrderStatus') }} not in ('Pending', 'PendingAvailability', 'Canceled')
                then {{ to_utc(json_text('source._payload', 'PurchaseDate')) }}
        end as paid_at,
        shipments.shipped_at,
        case
            when {{ json_text('source._payload', 'OrderStatus') }} = 'Canceled'
                then {{ to_utc(json_text('source._payload', 'LastUpdateDate')) }}
        end as cancelled_at,
        {{ to_utc(json_text('source._payload', 'LastUpdateDate')) }} as updated_at,

        ---------- lake metadata
        source._sync_id,
        source._loaded_at

    from source
    left join item_totals
        on source._store_id = item_totals._store_id and source._record_id = item_totals._record_id
    left join shipments
        on source._store_id = shipments._store_id and source._record_id = shipments._record_id
)

select * from renamed
