{#- One row per return line item (one refunded unit) of refunds whose money has moved: requests still
    pending or rejected have no refund time and are left out. -#}
with

returns as (
    {{ latest_version(source('raw_tiktok', 'returns')) }}
),

return_lines as (
    select
        _store_id,
        _loaded_at,
        _payload,
        {{ json_array_elements('_payload', 'return_line_items') }} as return_line
    from returns
),

renamed as (
    select
        cast({{ json_text('return_line', 'return_line_item_id') }} as {{ type_text() }}) as refund_line_id,
        cast({{ json_text('_payload', 'return_id') }} as {{ type_text() }}) as refund_id,
        cast({{ json_text('_payload', 'order_id') }} as {{ type_text() }}) as order_id,
        cast({{ json_text('return_line', 'order_line_item_id') }} as {{ type_text() }}) as order_line_id,
        _store_id as store_id,
        'tiktok' as platform,

        {{ json_text('_payload', 'return_reason_text') }} as refund_note,
        case
            when {{ json_text('_payload', 'return_type') }} = 'RETURN_AND_REFUND' then 'return'
            else 'no_restock'
        end as restock_type,
        1 as quantity,
        coalesce(
            {{ json_text('return_line', 'refund_amount.currency') }},
            {{ json_text('_payload', 'refund_amount.currency') }}
        ) as currency_code,
        cast({{ json_text('return_line', 'refund_amount.refund_subtotal') }} as decimal(18, 2)) as refund_amount,
        coalesce(cast({{ json_text('return_line', 'refund_amount.refund_tax') }} as decimal(18, 2)), 0)
            as refund_tax_amount,

        {{ epoch_to_utc(json_text('_payload', 'create_time')) }} as created_at,
        coalesce(
            {{ epoch_to_utc("nullif(" ~ json_text('_payload', 'refund_time') ~ ", '0')") }},
            case
                when {{ json_text('_payload', 'return_status') }} = 'RETURN_OR_REFUND_REQUEST_COMPLETE'
                    then {{ epoch_to_utc(json_text('_payload', 'update_time')) }}
            end
        ) as processed_at,

        ---------- lake metadata
        _loaded_at
    from return_lines
)

select * from renamed
where processed_at is not null
