with

source as (
    {{ latest_version(source('raw_amazon', 'sales_traffic')) }}
),

renamed as (
    select
        _store_id as store_id,
        'amazon' as platform,
        cast({{ json_text('_payload', 'date') }} as date) as report_date,
        {{ json_text('_payload', 'row.parentAsin') }} as parent_asin,
        {{ json_text('_payload', 'row.childAsin') }} as child_asin,
        {{ json_text('_payload', 'row.sku') }} as sku,
        cast({{ json_text('_payload', 'row.trafficByAsin.sessions') }} as integer) as sessions,
        cast({{ json_text('_payload', 'row.trafficByAsin.pageViews') }} as integer) as page_views,
        cast({{ json_text('_payload', 'row.trafficByAsin.buyBoxPercentage') }} as {{ type_double() }})
            as buy_box_percentage,
        cast({{ json_text('_payload', 'row.salesByAsin.unitsOrdered') }} as integer) as units_ordered,
        cast({{ json_text('_payload', 'row.salesByAsin.orderedProductSales.amount') }} as decimal(18, 2))
            as ordered_product_sales,
        cast({{ json_text('_payload', 'row.salesByAsin.totalOrderItems') }} as integer) as total_order_items,
        {{ json_text('_payload', 'row.salesByAsin.orderedProductSales.currencyCode') }} as currency_code,
        cast({{ json_text('_payload', 'row.trafficByAsin.unitSessionPercentage') }} as {{ type_double() }})
            as unit_session_percentage
    from source
    where {{ json_text('_payload', 'record_type') }} = 'by_asin'
)

select * from renamed
