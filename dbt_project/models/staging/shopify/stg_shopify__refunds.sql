with

orders as (
    {{ latest_version(source('raw_shopify', 'orders')) }}
),

refunds as (
    select
        _store_id,
        _loaded_at,
        _payload,
        {{ json_array_elements('_payload', 'refunds') }} as refund
    from orders
),

refund_lines as (
    select
        _store_id,
        _loaded_at,
        _payload,
        refund,
        {{ json_array_elements('refund', 'refund_line_items') }} as refund_line
    from refunds
),

renamed as (
    select
        cast({{ json_text('refund_line', 'id') }} as {{ type_text() }}) as refund_line_id,
        cast({{ json_text('refund', 'id') }} as {{ type_text() }}) as refund_id,
        cast({{ json_text('_payload', 'id') }} as {{ type_text() }}) as order_id,
        cast({{ json_text('refund_line', 'line_item_id') }} as {{ type_text() }}) as order_line_id,
        _store_id as store_id,
        'shopify' as platform,

        {{ json_text('refund', 'note') }} as refund_note,
        {{ json_text('refund_line', 'restock_type') }} as restock_type,
        cast({{ json_text('refund_line', 'quantity') }} as integer) as quantity,
        {{ json_text('_payload', 'currency') }} as currency_code,
        cast({{ json_text('refund_line', 'subtotal') }} as decimal(18, 2)) as refund_amount,
        coalesce(cast({{ json_text('refund_line', 'total_tax') }} as decimal(18, 2)), 0) as refund_tax_amount,

        {{ to_utc(json_text('refund', 'created_at')) }} as created_at,
        {{ to_utc(json_text('refund', 'processed_at')) }} as processed_at,

        ---------- lake metadata
        _loaded_at
    from refund_lines
)

select * from renamed
