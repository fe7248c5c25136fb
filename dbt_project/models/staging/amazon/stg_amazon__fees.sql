{#- One row per fee line of Amazon's financial events: the ItemFeeList of each shipped order item
    (ShipmentEvent) and the ItemFeeAdjustmentList of each refunded item (RefundEvent). Amazon signs
    fees from the seller's side (a charge is negative, a fee given back positive); fee_amount is
    turned round so that a cost to the seller is positive. -#}
with

events as (
    {{ latest_version(source('raw_amazon', 'financial_events')) }}
),

shipment_items as (
    select
        _store_id,
        _record_id,
        _loaded_at,
        _payload,
        'shipment' as event_kind,
        {{ json_array_elements('_payload', 'event.ShipmentItemList') }} as item
    from events
    where {{ json_text('_payload', 'event_type') }} = 'ShipmentEvent'
),

refund_items as (
    select
        _store_id,
        _record_id,
        _loaded_at,
        _payload,
        'refund' as event_kind,
        {{ json_array_elements('_payload', 'event.ShipmentItemAdjustmentList') }} as item
    from events
    where {{ json_text('_payload', 'event_type') }} = 'RefundEvent'
),

shipment_fees as (
    select
        *,
        {{ json_text('item', 'OrderItemId') }} as item_key,
        {{ json_array_elements('item', 'ItemFeeList') }} as fee
    from shipment_items
),

refund_fees as (
    select
        *,
        {{ json_text('item', 'OrderAdjustmentItemId') }} as item_key,
        {{ json_array_elements('item', 'ItemFeeAdjustmentList') }} as fee
    from refund_items
),

fees as (
    select * from shipment_fees
    union all
    select * from refund_fees
),

renamed as (
    select
        ---------- ids
        _record_id || ':' || item_key || ':' || {{ json_text('fee', 'FeeType') }} as fee_id,
        _record_id as financial_event_id,
        _store_id as store_id,
        'amazon' as platform,
        {{ json_text('_payload', 'event.AmazonOrderId') }} as order_id,
        {{ json_text('item', 'OrderItemId') }} as order_line_id,

        ---------- the fee (marketplace currency; positive = cost to the seller)
        event_kind,
        {{ json_text('fee', 'FeeType') }} as fee_type,
        -cast({{ json_text('fee', 'FeeAmount.CurrencyAmount') }} as decimal(18, 2)) as fee_amount,
        {{ json_text('fee', 'FeeAmount.CurrencyCode') }} as currency_code,

        ---------- timestamps (UTC)
        {{ to_utc(json_text('_payload', 'event.PostedDate')) }} as posted_at,

        ---------- lake metadata
        _loaded_at
    from fees
)

select * from renamed
