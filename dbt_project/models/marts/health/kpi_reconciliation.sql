{#- One row per store x local day x metric a platform reports itself: its own total against the total
    derived from the orders in the marts. Amazon's Sales and Traffic report (ordered product sales,
    units ordered) counts every order placed that day, cancelled or not, and cannot know the orders
    the marts quarantine as suspected brushing; TikTok Shop Analytics (GMV after seller discounts,
    orders, units) leaves out orders cancelled by the time it was read, but keeps brushing. The
    quarantined orders are taken out of the difference, and a complete, settled day whose rest exceeds
    the tolerance (var reconciliation_tolerance_pct) fails a test. Settled: the day ended at least
    `reconciliation_settle_days` before the orders are known complete, because an orders sync by
    last-update time misses an order updated after its window closed (until the next window) while a
    report read a minute later counts it. -#}
with

amazon_reported as (
    select
        store_id,
        platform,
        report_date,
        currency_code,
        ordered_product_sales,
        units_ordered
    from {{ ref('stg_amazon__sales_traffic_by_date') }}
),

tiktok_reported as (
    select
        store_id,
        platform,
        performance_date as report_date,
        currency_code,
        gmv,
        orders,
        units_sold
    from {{ ref('stg_tiktok__shop_performance') }}
),

-- Orders the marts quarantine that a platform's report still counts: Amazon counts every order placed
-- (cancelled and brushing alike); TikTok drops cancelled orders but not brushing.
quarantined_orders as (
    select
        store_id,
        order_date,
        order_id,
        exclusion_reason,
        sum(gross_amount) as gross_amount,
        sum(net_amount) as net_amount,
        sum(quantity) as units
    from {{ ref('int_order_lines') }}
    where exclusion_reason in ('cancelled', 'suspected_brushing')
    group by store_id, order_date, order_id, exclusion_reason
),

quarantined_days as (
    select
        store_id,
        order_date,
        sum(gross_amount) as amazon_gross_amount,
        sum(units) as amazon_units,
        sum(case when exclusion_reason = 'suspected_brushing' then net_amount else 0 end) as tiktok_net_amount,
        sum(case when exclusion_reason = 'suspected_brushing' then 1 else 0 end) as tiktok_orders,
        sum(case when exclusion_reason = 'suspected_brushing' then units else 0 end) as tiktok_units
    from quarantined_orders
    group by store_id, order_date
),

line_days as (
    select
        store_id,
        order_date,
        sum(gross_amount) as gross_amount,
        sum(quantity) as units
    from {{ ref('fct_order_lines') }}
    group by store_id, order_date
),

order_days as (
    select
        store_id,
        order_date,
        count(*) as orders,
        sum(net_merchandise_value) as net_merchandise_value,
        sum(units) as units
    from {{ ref('fct_orders') }}
    group by store_id, order_date
),

compared as (
    select
        amazon_reported.store_id,
        amazon_reported.platform,
        amazon_reported.report_date,
        'ordered_product_sales' as metric,
        amazon_reported.currency_code,
        cast(amazon_reported.ordered_product_sales as decimal(18, 2)) as reported_value,
        cast(coalesce(line_days.gross_amount, 0) as decimal(18, 2)) as derived_value,
        cast(coalesce(quarantined_days.amazon_gross_amount, 0) as decimal(18, 2)) as quarantined_value
    from amazon_reported
    left join line_days
        on line_days.store_id = amazon_reported.store_id and line_days.order_date = amazon_reported.report_date
    left join quarantined_days
        on
            quarantined_days.store_id = amazon_reported.store_id
            and quarantined_days.order_date = amazon_reported.report_date
    union all
    select
        amazon_reported.store_id,
        amazon_reported.platform,
        amazon_reported.report_date,
        'units_ordered' as metric,
        cast(null as {{ type_text() }}) as currency_code,
        cast(amazon_reported.units_ordered as decimal(18, 2)) as reported_value,
        cast(coalesce(line_days.units, 0) as decimal(18, 2)) as derived_value,
        cast(coalesce(quarantined_days.amazon_units, 0) as decimal(18, 2)) as quarantined_value
    from amazon_reported
    left join line_days
        on line_days.store_id = amazon_reported.store_id and line_days.order_date = amazon_reported.report_date
    left join quarantined_days
        on
            quarantined_days.store_id = amazon_reported.store_id
            and quarantined_days.order_date = amazon_reported.report_date
    union all
    select
        tiktok_reported.store_id,
        tiktok_reported.platform,
        tiktok_reported.report_date,
        'gmv' as metric,
        tiktok_reported.currency_code,
        cast(tiktok_reported.gmv as decimal(18, 2)) as reported_value,
        cast(coalesce(order_days.net_merchandise_value, 0) as decimal(18, 2)) as derived_value,
        cast(coalesce(quarantined_days.tiktok_net_amount, 0) as decimal(18, 2)) as quarantined_value
    from tiktok_reported
    left join order_days
        on order_days.store_id = tiktok_reported.store_id and order_days.order_date = tiktok_reported.report_date
    left join quarantined_days
        on
            quarantined_days.store_id = tiktok_reported.store_id
            and quarantined_days.order_date = tiktok_reported.report_date
    union all
    select
        tiktok_reported.store_id,
        tiktok_reported.platform,
        tiktok_reported.report_date,
        'orders' as metric,
        cast(null as {{ type_text() }}) as currency_code,
        cast(tiktok_reported.orders as decimal(18, 2)) as reported_value,
        cast(coalesce(order_days.orders, 0) as decimal(18, 2)) as derived_value,
        cast(coalesce(quarantined_days.tiktok_orders, 0) as decimal(18, 2)) as quarantined_value
    from tiktok_reported
    left join order_days
        on order_days.store_id = tiktok_reported.store_id and order_days.order_date = tiktok_reported.report_date
    left join quarantined_days
        on
            quarantined_days.store_id = tiktok_reported.store_id
            and quarantined_days.order_date = tiktok_reported.report_date
    union all
    select
        tiktok_reported.store_id,
        tiktok_reported.platform,
        tiktok_reported.report_date,
        'units_sold' as metric,
        cast(null as {{ type_text() }}) as currency_code,
        cast(tiktok_reported.units_sold as decimal(18, 2)) as reported_value,
        cast(coalesce(order_days.units, 0) as decimal(18, 2)) as derived_value,
        cast(coalesce(quarantined_days.tiktok_units, 0) as decimal(18, 2)) as quarantined_value
    from tiktok_reported
    left join order_days
        on order_days.store_id = tiktok_reported.store_id and order_days.order_date = tiktok_reported.report_date
    left join quarantined_days
        on
            quarantined_days.store_id = tiktok_reported.store_id
            and quarantined_days.order_date = tiktok_reported.report_date
)

select
    compared.store_id,
    compared.platform,
    compared.report_date,
    compared.metric,
    compared.currency_code,
    compared.reported_value,
    compared.derived_value,
    compared.reported_value - compared.derived_value as difference,
    100.0 * (compared.reported_value - compared.derived_value) / nullif(compared.reported_value, 0)
        as difference_pct,
    compared.quarantined_value,
    compared.reported_value - compared.derived_value - compared.quarantined_value as unexplained_difference,
    {{ var('reconciliation_tolerance_pct') }} as tolerance_pct,
    abs(compared.reported_value - compared.derived_value - compared.quarantined_value)
    <= {{ var('reconciliation_tolerance_pct') }} / 100.0 * abs(compared.reported_value) as is_within_tolerance,
    coalesce(
        {{ local_day_end_utc('compared.report_date', 'stores.timezone') }}
        <= {{ dbt.dateadd('day', -1 * var('reconciliation_settle_days'), 'complete.orders_complete_through') }}
        and {{ local_day_end_utc('compared.report_date - 1', 'stores.timezone') }} >= complete.orders_complete_from,
        false
    ) as is_complete_day
from compared
inner join {{ ref('stg_config__stores') }} as stores on stores.store_id = compared.store_id
left join {{ ref('int_stores__data_through') }} as complete on complete.store_id = compared.store_id
