-- a table, not a view: the view's SQL would carry the PII salt into the warehouse catalog
{{ config(materialized='table') }}

with

source as (
    {{ latest_version(source('raw_tiktok', 'orders')) }}
),

renamed as (
    select
        ---------- ids
        cast({{ json_text('_payload', 'id') }} as {{ type_text() }}) as order_id,
        _store_id as store_id,
        'tiktok' as platform,
        cast({{ json_text('_payload', 'id') }} as {{ type_text() }}) as order_name,
        {{ hash_buyer_id("coalesce(" ~ json_text('_payload', 'user_id') ~ ", "
            ~ json_text('_payload', 'buyer_user_id') ~ ")") }} as buyer_id_hash,

        ---------- status
        false as is_test,
        {{ json_text('_payload', 'status') }} as order_status,
        coalesce({{ json_text('_payload', 'status') }} = 'CANCELLED', false) as is_cancelled,
        {{ json_text('_payload', 'cancel_reason') }} as cancel_reason,
        case
            when {{ json_text('_payload', 'fulfillment_type') }} = 'FULFILLMENT_BY_TIKTOK' then 'platform'
            else 'seller'
        end as fulfillment_channel,

        ---------- money (shop currency, decimal strings)
        {{ json_text('_payload', 'payment.currency') }} as currency_code,
        cast({{ json_text('_payload', 'payment.original_total_product_price') }} as decimal(18, 2))
            as total_line_items_price,
        coalesce(cast({{ json_text('_payload', 'payment.seller_discount') }} as decimal(18, 2)), 0)
            as total_discounts,
        cast({{ json_text('_payload', 'payment.original_total_product_price') }} as decimal(18, 2))
        - coalesce(cast({{ json_text('_payload', 'payment.seller_discount') }} as decimal(18, 2)), 0)
            as subtotal_price,
        cast({{ json_text('_payload', 'payment.tax') }} as decimal(18, 2)) as total_tax,
        cast({{ json_text('_payload', 'payment.shipping_fee') }} as decimal(18, 2)) as total_shipping,
        cast({{ json_text('_payload', 'payment.total_amount') }} as decimal(18, 2)) as total_price,

        ---------- timestamps (Unix seconds -> UTC; 0 means not set)
        {{ epoch_to_utc("nullif(" ~ json_text('_payload', 'create_time') ~ ", '0')") }} as created_at,
        {{ epoch_to_utc("nullif(" ~ json_text('_payload', 'paid_time') ~ ", '0')") }} as paid_at,
        {{ epoch_to_utc("nullif(coalesce(" ~ json_text('_payload', 'rts_time') ~ ", "
            ~ json_text('_payload', 'collection_time') ~ "), '0')") }} as shipped_at,
        case
            when {{ json_text('_payload', 'status') }} = 'CANCELLED'
                then coalesce(
                    {{ epoch_to_utc("nullif(" ~ json_text('_payload', 'cancel_time') ~ ", '0')") }},
                    {{ epoch_to_utc(json_text('_payload', 'update_time')) }}
                )
        end as cancelled_at,
        {{ epoch_to_utc(json_text('_payload', 'update_time')) }} as updated_at,

        ---------- lake metadata
        _sync_id,
        _loaded_at

    from source
)

select * from renamed
