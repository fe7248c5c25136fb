{#- One row per TikTok LIVE stream (the latest read of it). -#}
with

sessions as (
    {{ latest_version(source('raw_tiktok', 'live_sessions')) }}
),

renamed as (
    select
        _store_id as store_id,
        'tiktok' as platform,
        cast(coalesce({{ json_text('_payload', 'id') }}, {{ json_text('_payload', 'live_id') }}) as {{ type_text() }})
            as live_id,
        {{ json_text('_payload', 'username') }} as host,
        {{ json_text('_payload', 'title') }} as title,
        {{ epoch_to_utc(json_text('_payload', 'start_time')) }} as started_at,
        {{ epoch_to_utc("nullif(" ~ json_text('_payload', 'end_time') ~ ", '0')") }} as ended_at,
        cast(
            floor(
                (
                    -- a stream still live has end_time 0: no duration yet
                    cast(nullif({{ json_text('_payload', 'end_time') }}, '0') as bigint)
                    - cast({{ json_text('_payload', 'start_time') }} as bigint)
                ) / 60
            ) as integer
        ) as duration_minutes,
        cast({{ json_text('_payload', 'interaction_performance.viewers') }} as integer) as viewers,
        cast({{ json_text('_payload', 'interaction_performance.product_impressions') }} as integer)
            as product_impressions,
        cast({{ json_text('_payload', 'interaction_performance.product_clicks') }} as integer) as product_clicks,
        cast({{ json_text('_payload', 'sales_performance.gmv.amount') }} as decimal(18, 2)) as gmv,
        cast(
            coalesce(
                {{ json_text('_payload', 'sales_performance.orders') }},
                {{ json_text('_payload', 'sales_performance.sku_orders') }}
            ) as integer
        ) as orders,
        {{ json_text('_payload', 'sales_performance.gmv.currency') }} as currency_code
    from sessions
)

select * from renamed
