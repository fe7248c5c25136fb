{#- One row per store x ad product x campaign x ad day (the ad account's time zone, which is the
    store's), native and reporting currency. Attributed sales are re-read over a look-back, so recent
    days grow until attribution settles; the latest read is kept.

    Incremental (delete+insert on the grain). A run rebuilds the campaign-days whose latest read landed
    after the store's watermark (the re-read look-back of settling attribution lands as new reads), and
    those of a day whose FX rate changed since it was stored. Nothing is ever removed. -#}
{{ config(
    materialized=fact_materialization(),
    incremental_strategy='delete+insert',
    unique_key=['store_id', 'ad_product', 'campaign_id', 'ad_date'],
    on_schema_change='fail',
    post_hook="{{ log_incremental_batch() }}"
) }}
with

ads as (
    {{ union_platforms(
        ['stg_amazon_ads__sp_campaigns'],
        ['store_id', 'platform', 'ad_product', 'campaign_id', 'campaign_name', 'ad_date', 'currency_code',
         'impressions', 'clicks', 'cost', 'attributed_sales', 'attributed_orders', 'attributed_units',
         'attribution_window_days', '_loaded_at']
    ) }}
),

{% if is_incremental() %}
watermarks as (
    {{ store_watermarks() }}
),

touched as (
    select
        ads.store_id,
        ads.ad_product,
        ads.campaign_id,
        ads.ad_date
    from ads
    left join watermarks on watermarks.store_id = ads.store_id
    where {{ loaded_since_watermark('ads._loaded_at', 'watermarks.watermark') }}
    union
    select
        ads.store_id,
        ads.ad_product,
        ads.campaign_id,
        ads.ad_date
    from ads
    inner join ({{ fx_changed_days('ad_date') }}) as changed
        on changed.rate_day = ads.ad_date and changed.currency_code = ads.currency_code
),
{% endif %}

fx as (
    select rate_day, currency_code, reporting_currency_code, rate_to_reporting
    from {{ ref('int_fx_rates__daily') }}
)

select
    ads.store_id,
    ads.platform,
    ads.ad_product,
    ads.campaign_id,
    ads.campaign_name,
    ads.ad_date,
    ads.impressions,
    ads.clicks,
    ads.attributed_orders,
    ads.attributed_units,
    ads.attribution_window_days,
    ads.currency_code,
    ads.cost,
    ads.attributed_sales,
    fx.reporting_currency_code,
    fx.rate_to_reporting,
    ads.cost * fx.rate_to_reporting as cost_reporting,
    ads.attributed_sales * fx.rate_to_reporting as attributed_sales_reporting,
    ads._loaded_at
from ads
{% if is_incremental() -%}
inner join touched
    on
        touched.store_id = ads.store_id
        and touched.ad_product = ads.ad_product
        and touched.campaign_id = ads.campaign_id
        and touched.ad_date = ads.ad_date
{% endif -%}
left join fx on fx.rate_day = ads.ad_date and fx.currency_code = ads.currency_code
