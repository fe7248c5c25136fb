{#- One row per store x SKU x local day with any activity: the additive measures and inventory
    snapshots of kpi_daily_sku, also summed into the store-level inventory and COGS of kpi_daily.
    Refunds whose order line was never synced count under SKU '(none)'. -#}
with

stores as (
    select store_id, platform, currency_code from {{ ref('dim_stores') }}
),

fx as (
    select rate_day, currency_code, reporting_currency_code, rate_to_reporting from {{ ref('int_fx_rates__daily') }}
),

lines as (
    select
        order_line_id,
        order_id,
        store_id,
        order_date,
        coalesce(sku, '(none)') as sku,
        quantity,
        gross_amount,
        discount_amount,
        gross_amount_reporting,
        discount_amount_reporting
    from {{ ref('fct_order_lines') }}
),

sales as (
    select
        lines.store_id,
        lines.sku,
        lines.order_date as kpi_date,
        count(distinct lines.order_id) as orders,
        sum(lines.quantity) as units,
        sum(lines.gross_amount) as gmv,
        sum(lines.discount_amount) as discounts,
        sum(lines.gross_amount_reporting) as gmv_reporting,
        sum(lines.discount_amount_reporting) as discounts_reporting,
        sum(costed.cogs) as cogs,
        sum(costed.cogs_reporting) as cogs_reporting
    from lines
    inner join {{ ref('int_order_lines__costed') }} as costed
        on costed.store_id = lines.store_id and costed.order_line_id = lines.order_line_id
    group by lines.store_id, lines.sku, lines.order_date
),

refund_lines as (
    select
        refunds.store_id,
        refunds.order_id,
        refunds.refund_date,
        refunds.order_date,
        coalesce(lines.sku, '(none)') as sku,
        refunds.quantity,
        refunds.currency_code,
        refunds.refund_amount,
        refunds.refund_amount_reporting
    from {{ ref('fct_refunds') }} as refunds
    left join lines on lines.store_id = refunds.store_id and lines.order_line_id = refunds.order_line_id
),

refunds as (
    select
        store_id,
        sku,
        refund_date as kpi_date,
        count(distinct order_id) as refunded_orders,
        sum(quantity) as refunded_units,
        sum(refund_amount) as refund_amount,
        sum(refund_amount_reporting) as refund_amount_reporting
    from refund_lines
    group by store_id, sku, refund_date
),

cohort_refunds as (
    -- by the date their order was placed, at that day's rate like the order's GMV; refunds of orders
    -- never synced have no cohort
    select
        refund_lines.store_id,
        refund_lines.sku,
        refund_lines.order_date as kpi_date,
        count(distinct refund_lines.order_id) as cohort_refunded_orders,
        sum(refund_lines.quantity) as cohort_refunded_units,
        sum(refund_lines.refund_amount) as cohort_refund_amount,
        sum(refund_lines.refund_amount * fx.rate_to_reporting) as cohort_refund_amount_reporting
    from refund_lines
    left join fx on fx.rate_day = refund_lines.order_date and fx.currency_code = refund_lines.currency_code
    where refund_lines.order_date is not null
    group by refund_lines.store_id, refund_lines.sku, refund_lines.order_date
),

traffic as (
    select
        store_id,
        coalesce(sku, '(none)') as sku,
        report_date as kpi_date,
        sum(sessions) as sessions,
        sum(page_views) as page_views,
        sum(page_views * buy_box_percentage / 100.0) as buy_box_page_views
    from {{ ref('stg_amazon__sales_traffic_by_asin') }}
    group by store_id, coalesce(sku, '(none)'), report_date
),

inventory as (
    select
        store_id,
        sku,
        inventory_date as kpi_date,
        fulfillable_quantity,
        inbound_quantity
    from {{ ref('fct_inventory_daily') }}
),

pace as (
    -- trailing 30 local days of units, ending on the snapshot day
    select
        inventory.store_id,
        inventory.sku,
        inventory.kpi_date,
        cast(coalesce(sum(sales.units), 0) as {{ type_double() }}) / 30 as avg_daily_units_30d
    from inventory
    left join sales
        on
            sales.store_id = inventory.store_id
            and sales.sku = inventory.sku
            and sales.kpi_date between {{ add_days(-29, 'inventory.kpi_date') }} and inventory.kpi_date
    group by inventory.store_id, inventory.sku, inventory.kpi_date
),

unit_costs as (
    select
        inventory.store_id,
        inventory.sku,
        inventory.kpi_date,
        costs.unit_cost,
        costs.currency_code as cost_currency_code,
        row_number() over (
            partition by inventory.store_id, inventory.sku, inventory.kpi_date order by costs.valid_from desc
        ) as cost_rank
    from inventory
    inner join {{ ref('product_costs') }} as costs
        on costs.sku = inventory.sku and costs.valid_from <= inventory.kpi_date
),

fees as (
    -- fees follow their order's day; fees of orders that do not count (or were never synced) do not
    select
        fees.store_id,
        coalesce(lines.sku, '(none)') as sku,
        fees.order_date as kpi_date,
        sum(fees.fee_amount) as platform_fees,
        sum(fees.fee_amount_reporting) as platform_fees_reporting
    from {{ ref('fct_fees') }} as fees
    left join lines on lines.store_id = fees.store_id and lines.order_line_id = fees.order_line_id
    where fees.order_date is not null and fees.order_exclusion_reason is null
    group by fees.store_id, coalesce(lines.sku, '(none)'), fees.order_date
),

reviews as (
    select
        store_id,
        coalesce(sku, '(none)') as sku,
        review_date as kpi_date,
        count(*) as reviews,
        sum(case when is_negative then 1 else 0 end) as negative_reviews
    from {{ ref('int_reviews') }}
    group by store_id, coalesce(sku, '(none)'), review_date
),

keys as (
    select store_id, sku, kpi_date from fees
    union
    select store_id, sku, kpi_date from reviews
    union
    select store_id, sku, kpi_date from sales
    union
    select store_id, sku, kpi_date from refunds
    union
    select store_id, sku, kpi_date from cohort_refunds
    union
    select store_id, sku, kpi_date from traffic
    union
    select store_id, sku, kpi_date from inventory
),

joined as (
    select
        keys.store_id,
        stores.platform,
        keys.sku,
        keys.kpi_date,
        stores.currency_code,
        coalesce(store_fx.reporting_currency_code, '{{ var("reporting_currency") }}') as reporting_currency_code,
        store_fx.rate_to_reporting,
        inventory.store_id is not null as has_inventory_snapshot,
        coalesce(sales.orders, 0) as orders,
        coalesce(sales.units, 0) as units,
        coalesce(sales.gmv, 0) as gmv,
        coalesce(sales.gmv_reporting, 0) as gmv_reporting,
        coalesce(sales.discounts, 0) as discounts,
        coalesce(sales.discounts_reporting, 0) as discounts_reporting,
        coalesce(sales.cogs, 0) as cogs,
        coalesce(sales.cogs_reporting, 0) as cogs_reporting,
        coalesce(refunds.refund_amount, 0) as refund_amount,
        coalesce(refunds.refund_amount_reporting, 0) as refund_amount_reporting,
        coalesce(refunds.refunded_units, 0) as refunded_units,
        coalesce(refunds.refunded_orders, 0) as refunded_orders,
        coalesce(cohort_refunds.cohort_refund_amount, 0) as cohort_refund_amount,
        coalesce(cohort_refunds.cohort_refund_amount_reporting, 0) as cohort_refund_amount_reporting,
        coalesce(cohort_refunds.cohort_refunded_units, 0) as cohort_refunded_units,
        coalesce(cohort_refunds.cohort_refunded_orders, 0) as cohort_refunded_orders,
        traffic.sessions,
        traffic.page_views,
        case when traffic.sessions is not null then coalesce(sales.orders, 0) else 0 end as orders_with_sessions,
        case when traffic.sessions is not null then coalesce(sales.units, 0) else 0 end as units_with_sessions,
        coalesce(traffic.buy_box_page_views, 0) as buy_box_page_views,
        coalesce(traffic.page_views, 0) as asin_page_views,
        coalesce(fees.platform_fees, 0) as platform_fees,
        coalesce(fees.platform_fees_reporting, 0) as platform_fees_reporting,
        coalesce(reviews.reviews, 0) as reviews,
        coalesce(reviews.negative_reviews, 0) as negative_reviews,
        inventory.fulfillable_quantity as fulfillable_units,
        inventory.inbound_quantity as inbound_units,
        inventory.fulfillable_quantity + inventory.inbound_quantity as inventory_position_units,
        pace.avg_daily_units_30d,
        case
            when
                inventory.store_id is not null
                then case when inventory.fulfillable_quantity = 0 then 1 else 0 end
            else 0
        end
            as stock_out_sku_days,
        case
            when inventory.store_id is not null
                then {{ unit_cost_in_store_currency(
                    'costs.unit_cost', 'costs.cost_currency_code', 'stores.currency_code',
                    'cost_fx.rate_to_reporting', 'store_fx.rate_to_reporting'
                ) }} * inventory.fulfillable_quantity
        end as inventory_value_at_cost,
        case
            when inventory.store_id is not null
                then
                    inventory.fulfillable_quantity
                    * {{ unit_cost_in_reporting_currency('costs.unit_cost', 'cost_fx.rate_to_reporting') }}
        end as inventory_value_at_cost_reporting,
        case
            when inventory.store_id is not null
                then greatest(
                    0,
                    cast(ceil({{ var('restock_target_cover_days') }} * pace.avg_daily_units_30d) as integer)
                    - inventory.fulfillable_quantity
                    - inventory.inbound_quantity
                )
        end as restock_units
    from keys
    inner join stores on stores.store_id = keys.store_id
    left join fx as store_fx on store_fx.rate_day = keys.kpi_date and store_fx.currency_code = stores.currency_code
    left join sales on sales.store_id = keys.store_id and sales.sku = keys.sku and sales.kpi_date = keys.kpi_date
    left join
        refunds
        on refunds.store_id = keys.store_id and refunds.sku = keys.sku and refunds.kpi_date = keys.kpi_date
    left join cohort_refunds
        on
            cohort_refunds.store_id = keys.store_id
            and cohort_refunds.sku = keys.sku
            and cohort_refunds.kpi_date = keys.kpi_date
    left join
        traffic
        on traffic.store_id = keys.store_id and traffic.sku = keys.sku and traffic.kpi_date = keys.kpi_date
    left join inventory
        on inventory.store_id = keys.store_id and inventory.sku = keys.sku and inventory.kpi_date = keys.kpi_date
    left join
        reviews
        on reviews.store_id = keys.store_id and reviews.sku = keys.sku and reviews.kpi_date = keys.kpi_date
    left join fees on fees.store_id = keys.store_id and fees.sku = keys.sku and fees.kpi_date = keys.kpi_date
    left join pace on pace.store_id = keys.store_id and pace.sku = keys.sku and pace.kpi_date = keys.kpi_date
    left join unit_costs as costs
        on
            costs.store_id = keys.store_id
            and costs.sku = keys.sku
            and costs.kpi_date = keys.kpi_date
            and costs.cost_rank = 1
    left join fx as cost_fx on cost_fx.rate_day = keys.kpi_date and cost_fx.currency_code = costs.cost_currency_code
)

select
    *,
    {{ kpi_profit_columns(contribution=false) | join(',\n    ') }}
from joined
