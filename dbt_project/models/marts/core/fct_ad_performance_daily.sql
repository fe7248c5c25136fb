{#- One row per store x ad product x campaign x ad day (the ad account's time zone, which is the
    store's), native and reporting currency. Attributed sales are re-read over a look-back, so recent
    days grow until attribution settles; the latest read is kept. -#}
with

ads as (
    {{ union_platforms(
        ['stg_amazon_ads__sp_campaigns'],
        ['store_id', 'platform', 'ad_product', 'campaign_id', 'campaign_name', 'ad_date', 'currency_code',
         'impressions', 'clicks', 'cost', 'attributed_sales', 'attributed_orders', 'attributed_units',
         'attribution_window_days']
    ) }}
),

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
    ads.attributed_sales * fx.rate_to_reporting as attributed_sales_reporting
from ads
left join fx on fx.rate_day = ads.ad_date and fx.currency_code = ads.currency_code
