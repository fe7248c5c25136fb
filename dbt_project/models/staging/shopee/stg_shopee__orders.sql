-- a table, not a view: the view's SQL would carry the PII salt into the warehouse catalog
{{ config(materialized='table') }}

with

source as (
    {{ latest_version(source('raw_shopee', 'orders')) }}
),

items as (
    select
        _store_id,
        _record_id,
        {{ json_array_elements('_payload', 'item_list') }} as item
    from source
),

item_totals as (
    select
        _store_id,
        _record_id,
        sum(
            cast({{ json_text('item', 'model_original_price') }} as decimal(18, 2))
            * cast({{ json_text('item', 'model_quantity_purchased') }} as integer)
        ) as total_line_items_price,
        sum(
            cast({{ json_text('item', 'model_discounted_price') }} as decimal(18, 2))
            * cast({{ json_text('item', 'model_quantity_purchased') }} as integer)
        ) as subtotal_price
    from items
    group by _store_id, _record_id
),

renamed as (
    select
        ---------- ids
        {{ json_text('source._payload', 'order_sn') }} as order_id,
        source._store_id as store_id,
        'shopee' as platform,
        {{ json_text('source._payload', 'order_sn') }} as order_name,
        {{ hash_buyer_id("nullif(" ~ json_text('source._payload', 'buyer_user_id') ~ ", '0')") }} as buyer_id_hash,

        ---------- status
        false as is_test,
        {{ json_text('source._payload', 'order_status') }} as order_status,
        coalesce({{ json_text('source._payload', 'order_status') }} = 'CANCELLED', false) as is_cancelled,
        nullif({{ json_text('source._payload', 'cancel_reason') }}, '') as cancel_reason,
        case
            when {{ json_text('source._payload', 'fulfillment_flag') }} = 'fulfilled_by_shopee' then 'platform'
            else 'seller'
        end as fulfillment_channel,

        ---------- money (shop currency)
        {{ json_text('source._payload', 'currency') }} as currency_code,
        item_totals.total_line_items_price,
        item_totals.total_line_items_price - item_totals.subtotal_price as total_discounts,
        item_totals.subtotal_price,
        -- get_order_detail has no tax figure (get_escrow_detail has, after completion)
        cast(null as decimal(18, 2)) as total_tax,
        cast(
            coalesce(
                {{ json_text('source._payload', 'actual_shipping_fee') }},
                {{ json_text('source._payload', 'estimated_shipping_fee') }}
            ) as decimal(18, 2)
        ) as total_shipping,
        cast({{ json_text('source._payload', 'total_amount') }} as decimal(18, 2)) as total_price,

        ---------- timestamps (UTC; Shopee sends Unix seconds, 0 or null for "not yet")
        {{ epoch_to_utc(json_text('source._payload', 'create_time')) }} as created_at,
        {{ epoch_to_utc("nullif(" ~ json_text('source._payload', 'pay_time') ~ ", '0')") }} as paid_at,
        {{ epoch_to_utc("nullif(" ~ json_text('source._payload', 'pickup_done_time') ~ ", '0')") }} as shipped_at,
        -- Shopee gives no cancellation time: the update_time of a CANCELLED order is the best one
        case
            when {{ json_text('source._payload', 'order_status') }} = 'CANCELLED'
                then {{ epoch_to_utc(json_text('source._payload', 'update_time')) }}
        end as cancelled_at,
        {{ epoch_to_utc(json_text('source._payload', 'update_time')) }} as updated_at,

        ---------- lake metadata
        source._sync_id,
        source._loaded_at

    from source
    left join item_totals
        on source._store_id = item_totals._store_id and source._record_id = item_totals._record_id
)

select * from renamed
