-- a table, not a view: the view's SQL would carry the PII salt into the warehouse catalog
{{ config(materialized='table') }}

with

source as (
    {{ latest_version(source('raw_rakuten', 'orders')) }}
),

first_seen_cancelled as (
    -- every raw version, not only the latest: the first load that saw the order cancelled
    select
        _store_id,
        _record_id,
        {{ timestamptz_to_utc('min(_loaded_at)') }} as cancelled_seen_at
    from {{ source('raw_rakuten', 'orders') }}
    where cast({{ json_text('_payload', 'orderProgress') }} as integer) = 900
    group by _store_id, _record_id
),

amounts as (
    -- RMS writes -9999 into an amount that is not final yet (unconfirmed shipping fee or total):
    -- any negative amount is unknown (null) here, never a refund or a discount
    select
        _store_id,
        _record_id,
        case
            when cast({{ json_text('_payload', 'goodsPrice') }} as bigint) >= 0
                then cast({{ json_text('_payload', 'goodsPrice') }} as decimal(18, 2))
        end as goods_price,
        case
            when cast({{ json_text('_payload', 'couponShopPrice') }} as bigint) >= 0
                then cast({{ json_text('_payload', 'couponShopPrice') }} as decimal(18, 2))
        end as coupon_shop_price,
        case
            when cast({{ json_text('_payload', 'couponOtherPrice') }} as bigint) >= 0
                then cast({{ json_text('_payload', 'couponOtherPrice') }} as decimal(18, 2))
        end as coupon_other_price,
        case
            when cast({{ json_text('_payload', 'PointModel.usedPoint') }} as bigint) >= 0
                then cast({{ json_text('_payload', 'PointModel.usedPoint') }} as decimal(18, 2))
        end as used_point,
        case
            when cast({{ json_text('_payload', 'goodsTax') }} as bigint) >= 0
                then cast({{ json_text('_payload', 'goodsTax') }} as decimal(18, 2))
        end as goods_tax,
        case
            when cast({{ json_text('_payload', 'postagePrice') }} as bigint) >= 0
                then cast({{ json_text('_payload', 'postagePrice') }} as decimal(18, 2))
        end as postage_price,
        case
            when cast({{ json_text('_payload', 'requestPrice') }} as bigint) >= 0
                then cast({{ json_text('_payload', 'requestPrice') }} as decimal(18, 2))
        end as request_price
    from source
),

changes as (
    select
        _store_id,
        _record_id,
        {{ json_array_elements('_payload', 'ChangeReasonModelList') }} as change
    from source
),

change_times as (
    select
        _store_id,
        _record_id,
        cast({{ json_text('change', 'changeType') }} as integer) as change_type,
        cast({{ json_text('change', 'changeReason') }} as integer) as change_reason,
        cast({{ json_text('change', 'changeReasonDetail') }} as integer) as change_reason_detail,
        coalesce(
            {{ to_utc(json_text('change', 'changeFixDatetime')) }},
            {{ to_utc(json_text('change', 'changeCmplDatetime')) }},
            {{ to_utc(json_text('change', 'changeApplyDatetime')) }}
        ) as fixed_at,
        greatest(
            {{ to_utc(json_text('change', 'changeApplyDatetime')) }},
            {{ to_utc(json_text('change', 'changeFixDatetime')) }},
            {{ to_utc(json_text('change', 'changeCmplDatetime')) }}
        ) as last_change_at
    from changes
),

order_changes as (
    -- changeType 1 キャンセル確定 / 2 キャンセル完了 are cancellations; the others are edits
    select
        _store_id,
        _record_id,
        max(last_change_at) as last_change_at,
        max(case when change_type in (1, 2) then fixed_at end) as cancel_fixed_at,
        {{ arg_max(
            "case when change_reason = 1 then 'customer' when change_reason_detail = 8 then 'inventory' else 'shop' end",
            'fixed_at',
            'change_type in (1, 2)'
        ) }} as cancel_reason
    from change_times
    group by _store_id, _record_id
),

renamed as (
    select
        ---------- ids
        {{ json_text('source._payload', 'orderNumber') }} as order_id,
        source._store_id as store_id,
        'rakuten' as platform,
        {{ json_text('source._payload', 'orderNumber') }} as order_name,
        {{ hash_buyer_id("nullif(" ~ json_text('source._payload', 'OrdererModel.emailAddress') ~ ", '')") }}
            as buyer_id_hash,

        ---------- status (orderProgress: 100 注文確認待ち ... 500 発送済 ... 900 キャンセル確定)
        false as is_test,
        {{ json_text('source._payload', 'orderProgress') }} as order_status,
        coalesce(cast({{ json_text('source._payload', 'orderProgress') }} as integer) = 900, false) as is_cancelled,
        case
            when cast({{ json_text('source._payload', 'orderProgress') }} as integer) = 900
                then coalesce(order_changes.cancel_reason, 'unknown')
        end as cancel_reason,
        'seller' as fulfillment_channel,

        ---------- money (RMS deals in whole yen only)
        'JPY' as currency_code,
        amounts.goods_price as total_line_items_price,
        amounts.coupon_shop_price as total_discounts,
        cast(amounts.goods_price - amounts.coupon_shop_price as decimal(18, 2)) as subtotal_price,
        amounts.goods_tax as total_tax,
        amounts.postage_price as total_shipping,
        -- requestPrice nets off Rakuten-funded coupons and points, which the shop is paid for anyway
        cast(
            amounts.request_price + coalesce(amounts.coupon_other_price, 0) + coalesce(amounts.used_point, 0)
            as decimal(18, 2)
        ) as total_price,

        ---------- timestamps (JST in the payload, UTC here)
        {{ to_utc(json_text('source._payload', 'orderDatetime')) }} as created_at,
        {{ to_utc(json_text('source._payload', 'orderFixDatetime')) }} as paid_at,
        {{ to_utc(json_text('source._payload', 'shippingCmplRptDatetime')) }} as shipped_at,
        case
            when cast({{ json_text('source._payload', 'orderProgress') }} as integer) = 900
                -- a cancellation without its change record: when a sync first saw it cancelled
                then coalesce(order_changes.cancel_fixed_at, first_seen_cancelled.cancelled_seen_at)
        end as cancelled_at,
        greatest(
            {{ to_utc(json_text('source._payload', 'orderDatetime')) }},
            {{ to_utc(json_text('source._payload', 'shopOrderCfmDatetime')) }},
            {{ to_utc(json_text('source._payload', 'orderFixDatetime')) }},
            {{ to_utc(json_text('source._payload', 'shippingInstDatetime')) }},
            {{ to_utc(json_text('source._payload', 'shippingCmplRptDatetime')) }},
            order_changes.last_change_at
        ) as updated_at,

        ---------- lake metadata
        source._sync_id,
        source._loaded_at

    from source
    left join first_seen_cancelled
        on source._store_id = first_seen_cancelled._store_id and source._record_id = first_seen_cancelled._record_id
    inner join amounts
        on source._store_id = amounts._store_id and source._record_id = amounts._record_id
    left join order_changes
        on source._store_id = order_changes._store_id and source._record_id = order_changes._record_id
)

select * from renamed
