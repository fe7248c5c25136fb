with

source as (
    {{ latest_version(source('raw_amazon_ads', 'sp_campaigns')) }}
),

renamed as (
    select
        ---------- ids
        _store_id as store_id,
        'amazon' as platform,
        cast({{ json_text('_payload', 'profileId') }} as {{ type_text() }}) as profile_id,
        'SPONSORED_PRODUCTS' as ad_product,
        cast({{ json_text('_payload', 'campaignId') }} as {{ type_text() }}) as campaign_id,
        {{ json_text('_payload', 'campaignName') }} as campaign_name,

        ---------- the report day, in the profile's time zone as reported
        cast({{ json_text('_payload', 'date') }} as date) as ad_date,

        ---------- delivery and spend (profile currency)
        {{ json_text('_payload', 'campaignBudgetCurrencyCode') }} as currency_code,
        cast({{ json_text('_payload', 'impressions') }} as bigint) as impressions,
        cast({{ json_text('_payload', 'clicks') }} as bigint) as clicks,
        cast({{ json_text('_payload', 'cost') }} as decimal(18, 2)) as cost,

        ---------- 7-day attribution (grows for a week after the day)
        cast({{ json_text('_payload', 'sales7d') }} as decimal(18, 2)) as attributed_sales,
        cast({{ json_text('_payload', 'purchases7d') }} as bigint) as attributed_orders,
        cast({{ json_text('_payload', 'unitsSoldClicks7d') }} as bigint) as attributed_units,
        7 as attribution_window_days,

        ---------- lineage
        {{ json_text('_payload', 'reportId') }} as report_id,
        _loaded_at

    from source
)

select * from renamed
