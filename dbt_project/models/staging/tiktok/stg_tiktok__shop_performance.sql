{#- One row per shop-local day of TikTok Shop Analytics; LIVE GMV comes from here, not from orders
    (order payloads carry no reliable content attribution). -#}
with

days as (
    {{ latest_version(source('raw_tiktok', 'shop_performance')) }}
),

breakdowns as (
    select
        _store_id,
        _record_id,
        {{ json_array_elements('_payload', 'gmv_breakdowns') }} as breakdown
    from days
),

by_content as (
    select
        _store_id,
        _record_id,
        sum(
            case
                when {{ json_text('breakdown', 'type') }} = 'LIVE'
                    then cast({{ json_text('breakdown', 'amount') }} as decimal(18, 2))
            end
        ) as live_gmv,
        sum(
            case
                when {{ json_text('breakdown', 'type') }} = 'VIDEO'
                    then cast({{ json_text('breakdown', 'amount') }} as decimal(18, 2))
            end
        ) as video_gmv,
        sum(
            case
                when {{ json_text('breakdown', 'type') }} = 'PRODUCT_CARD'
                    then cast({{ json_text('breakdown', 'amount') }} as decimal(18, 2))
            end
        ) as product_card_gmv
    from breakdowns
    group by _store_id, _record_id
),

renamed as (
    select
        days._store_id as store_id,
        'tiktok' as platform,
        cast({{ json_text('days._payload', 'start_date') }} as date) as performance_date,
        {{ json_text('days._payload', 'gmv.currency') }} as currency_code,
        cast({{ json_text('days._payload', 'gmv.amount') }} as decimal(18, 2)) as gmv,
        coalesce(by_content.live_gmv, 0) as live_gmv,
        coalesce(by_content.video_gmv, 0) as video_gmv,
        coalesce(by_content.product_card_gmv, 0) as product_card_gmv,
        cast({{ json_text('days._payload', 'orders') }} as integer) as orders,
        cast({{ json_text('days._payload', 'units_sold') }} as integer) as units_sold,
        cast({{ json_text('days._payload', 'buyers') }} as integer) as buyers,
        cast({{ json_text('days._payload', 'product_page_views') }} as integer) as product_page_views
    from days
    left join by_content
        on days._store_id = by_content._store_id and days._record_id = by_content._record_id
)

select * from renamed
