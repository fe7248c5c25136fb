with

events as (
    {{ latest_version(source('raw_amazon', 'financial_events')) }}
),

adjustments as (
    select
        _store_id,
        _record_id,
        _loaded_at,
        _payload,
        {{ json_array_elements('_payload', 'event.ShipmentItemAdjustmentList') }} as adjustment
    from events
    where {{ json_text('_payload', 'event_type') }} = 'RefundEvent'
),

charges as (
    select
        _store_id,
        {{ json_text('adjustment', 'OrderAdjustmentItemId') }} as refund_line_id,
        {{ json_array_elements('adjustment', 'ItemChargeAdjustmentList') }} as charge
    from adjustments
),

-- Refund adjustments are negative: the refunded item amount is minus the Principal adjustment.
charge_totals as (
    select
        _store_id,
        refund_line_id,
        {{ any_value(json_text('charge', 'ChargeAmount.CurrencyCode')) }} as currency_code,
        -sum(
            case
                when {{ json_text('charge', 'ChargeType') }} = 'Principal'
                    then cast({{ json_text('charge', 'ChargeAmount.CurrencyAmount') }} as decimal(18, 2))
            end
        ) as refund_amount,
        -sum(
            case
                when {{ json_text('charge', 'ChargeType') }} = 'Tax'
                    then cast({{ json_text('charge', 'ChargeAmount.CurrencyAmount') }} as decimal(18, 2))
            end
        ) as refund_tax_amount
    from charges
    group by _store_id, refund_line_id
),

renamed as (
    select
        {{ json_text('adjustments.adjustment', 'OrderAdjustmentItemId') }} as refund_line_id,
        adjustments._record_id as refund_id,
        {{ json_text('adjustments._payload', 'event.AmazonOrderId') }} as order_id,
        {{ json_text('adjustments.adjustment', 'OrderItemId') }} as order_line_id,
        adjustments._store_id as store_id,
        'amazon' as platform,

        cast(null as {{ type_text() }}) as refund_note,
        cast(null as {{ type_text() }}) as restock_type,
        cast({{ json_text('adjustments.adjustment', 'QuantityShipped') }} as integer) as quantity,
        charge_totals.currency_code,
        cast(coalesce(charge_totals.refund_amount, 0) as decimal(18, 2)) as refund_amount,
        cast(coalesce(charge_totals.refund_tax_amount, 0) as decimal(18, 2)) as refund_tax_amount,

        {{ to_utc(json_text('adjustments._payload', 'event.PostedDate')) }} as created_at,
        {{ to_utc(json_text('adjustments._payload', 'event.PostedDate')) }} as processed_at,

        ---------- lake metadata
        adjustments._loaded_at
    from adjustments
    left join charge_totals
        on
            adjustments._store_id = charge_totals._store_id
            and {{ json_text('adjustments.adjustment', 'OrderAdjustmentItemId') }} = charge_totals.refund_line_id
)

select * from renamed
