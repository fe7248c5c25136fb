with

returns as (
    {{ latest_version(source('raw_shopee', 'returns')) }}
),

-- Only returns whose money went back to the buyer count as refunds; requested, disputed, cancelled
-- or closed ones do not (yet).
refunded as (
    select * from returns
    where {{ json_text('_payload', 'status') }} in ('ACCEPTED', 'REFUND_PAID', 'COMPLETED')
),

items as (
    select
        _store_id,
        _loaded_at,
        _payload,
        {{ json_array_elements('_payload', 'item') }} as item
    from refunded
),

keyed as (
    select
        _store_id,
        _loaded_at,
        _payload,
        item,
        coalesce(
            nullif({{ json_text('item', 'model_id') }}, '0'), {{ json_text('item', 'item_id') }}
        ) as line_key
    from items
),

renamed as (
    select
        {{ json_text('_payload', 'return_sn') }} || '-' || line_key as refund_line_id,
        {{ json_text('_payload', 'return_sn') }} as refund_id,
        {{ json_text('_payload', 'order_sn') }} as order_id,
        {{ json_text('_payload', 'order_sn') }} || '-' || line_key as order_line_id,
        _store_id as store_id,
        'shopee' as platform,

        coalesce(
            nullif({{ json_text('_payload', 'text_reason') }}, ''), {{ json_text('_payload', 'reason') }}
        ) as refund_note,
        case when cast({{ json_text('_payload', 'needs_logistics') }} as boolean) then 'return' else 'no_restock' end
            as restock_type,
        cast({{ json_text('item', 'amount') }} as integer) as quantity,
        {{ json_text('_payload', 'currency') }} as currency_code,
        -- the item's refund; older answers without it: the discounted unit price x returned units
        coalesce(
            cast({{ json_text('item', 'refund_amount') }} as decimal(18, 2)),
            cast({{ json_text('item', 'item_price') }} as decimal(18, 2))
            * cast({{ json_text('item', 'amount') }} as integer)
        ) as refund_amount,
        -- Shopee's return object has no tax figure
        cast(null as decimal(18, 2)) as refund_tax_amount,

        {{ epoch_to_utc(json_text('_payload', 'create_time')) }} as created_at,
        -- when the money moved: refund_time where the answer carries it, else the last update
        {{ epoch_to_utc(
            "coalesce(nullif(" ~ json_text('_payload', 'refund_time') ~ ", '0'), "
            ~ json_text('_payload', 'update_time') ~ ")"
        ) }} as processed_at,

        ---------- lake metadata
        _loaded_at
    from keyed
)

select * from renamed
