-- a table, not a view: the view's SQL would carry the PII salt into the warehouse catalog
{{ config(materialized='table') }}

with

source as (
    {{ latest_version(source('raw_shopify', 'orders')) }}
),

renamed as (
    select
        ---------- ids
        cast({{ json_text('_payload', 'id') }} as {{ type_text() }}) as order_id,
        _store_id as store_id,
        'shopify' as platform,
        {{ json_text('_payload', 'name') }} as order_name,
        {{ hash_buyer_id(json_text('_payload', 'customer.id')) }} as buyer_id_hash,

        ---------- status
        coalesce(cast({{ json_text('_payload', 'test') }} as boolean), false) as is_test,
        {{ json_text('_payload', 'financial_status') }} as order_status,
        {{ json_text('_payload', 'cancelled_at') }} is not null as is_cancelled,
        'seller' as fulfillment_channel,
        {{ json_text('_payload', 'financial_status') }} as financial_status,
        {{ json_text('_payload', 'fulfillment_status') }} as fulfillment_status,
        {{ json_text('_payload', 'cancel_reason') }} as cancel_reason,
        {{ json_text('_payload', 'source_name') }} as source_name,

        ---------- money (shop currency)
        {{ json_text('_payload', 'currency') }} as currency_code,
        cast({{ json_text('_payload', 'total_line_items_price') }} as decimal(18, 2)) as total_line_items_price,
        cast({{ json_text('_payload', 'total_discounts') }} as decimal(18, 2)) as total_discounts,
        cast({{ json_text('_payload', 'subtotal_price') }} as decimal(18, 2)) as subtotal_price,
        cast({{ json_text('_payload', 'total_tax') }} as decimal(18, 2)) as total_tax,
        cast({{ json_text('_payload', 'total_shipping_price_set.shop_money.amount') }} as decimal(18, 2))
            as total_shipping,
        cast({{ json_text('_payload', 'total_price') }} as decimal(18, 2)) as total_price,

        ---------- timestamps (UTC)
        {{ to_utc(json_text('_payload', 'created_at')) }} as created_at,
        {{ to_utc(json_text('_payload', 'processed_at')) }} as processed_at,
        {{ to_utc(json_text('_payload', 'processed_at')) }} as paid_at,
        {{ to_utc(json_text('_payload', 'fulfillments[0].created_at')) }} as shipped_at,
        {{ to_utc(json_text('_payload', 'updated_at')) }} as updated_at,
        {{ to_utc(json_text('_payload', 'cancelled_at')) }} as cancelled_at,

        ---------- lake metadata
        _sync_id,
        _loaded_at

    from source
)

select * from renamed
