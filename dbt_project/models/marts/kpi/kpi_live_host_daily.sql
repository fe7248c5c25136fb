{#- One row per TikTok store x LIVE host x local day with an ended stream; columns from the catalog
    (grain `host`). -#}
{%- set columns = kpi_columns('host', 'store', ['measure']) -%}
with

stores as (
    select store_id, platform, currency_code, timezone from {{ ref('dim_stores') }}
),

fx as (
    select rate_day, currency_code, reporting_currency_code, rate_to_reporting from {{ ref('int_fx_rates__daily') }}
),

streams as (
    select
        live.store_id,
        stores.platform,
        coalesce(live.host, '(unknown)') as host,
        {{ local_date('live.started_at', 'stores.timezone') }} as kpi_date,
        stores.currency_code,
        live.duration_minutes,
        live.gmv,
        live.viewers,
        live.product_impressions,
        live.product_clicks
    from {{ ref('stg_tiktok__live_sessions') }} as live
    inner join stores on stores.store_id = live.store_id
    where live.ended_at is not null
),

sums as (
    select
        streams.store_id,
        streams.platform,
        streams.host,
        streams.kpi_date,
        streams.currency_code,
        coalesce(fx.reporting_currency_code, '{{ var("reporting_currency") }}') as reporting_currency_code,
        count(*) as live_sessions,
        sum(streams.duration_minutes) as live_minutes,
        sum(streams.gmv) as live_session_gmv,
        sum(streams.gmv * fx.rate_to_reporting) as live_session_gmv_reporting,
        sum(streams.viewers) as live_viewers,
        sum(streams.product_impressions) as live_product_impressions,
        sum(streams.product_clicks) as live_product_clicks
    from streams
    left join fx on fx.rate_day = streams.kpi_date and fx.currency_code = streams.currency_code
    group by
        streams.store_id, streams.platform, streams.host, streams.kpi_date, streams.currency_code,
        fx.reporting_currency_code
)

select
    store_id,
    platform,
    host,
    kpi_date,
    currency_code,
    reporting_currency_code,
    {% for column in columns %}{{ column }},
    {% endfor -%}
    {{ kpi_ratio_columns('host', 'store') | join(',\n    ') }}
from sums
